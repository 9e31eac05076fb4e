// Helpers built on any Filesystem, and the generic Filesystem::ListDirEntries and CanonicalPath
// and ReadableFile::Map.
#include "cairn/utils/filesystem_util.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

absl::StatusOr<std::vector<DirEntry>> Filesystem::ListDirEntries(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(path));
  std::vector<DirEntry> entries;
  entries.reserve(names.size());
  for (std::string& name : names) {
    absl::StatusOr<FileInfo> info = Stat(JoinPath(path, name));
    if (absl::IsNotFound(info.status())) continue;  // removed since the listing
    CAIRN_RETURN_IF_ERROR(info.status());
    entries.push_back(DirEntry{std::move(name), info->type});
  }
  return entries;
}

absl::StatusOr<std::string> Filesystem::CanonicalPath(const std::string& path) { return path; }

absl::StatusOr<std::shared_ptr<const FileMapping>> ReadableFile::Map(uint64_t) const {
  return absl::UnimplementedError(absl::StrCat(path(), " cannot be mapped into memory"));
}

absl::StatusOr<std::string> ResolveRoot(Filesystem& fs, const std::string& root) {
  return fs.CanonicalPath(root);
}

absl::StatusOr<std::string> ResolveAbove(Filesystem& fs, const std::string& dir) {
  absl::string_view trimmed = dir;
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.remove_suffix(1);
  const size_t slash = trimmed.rfind('/');
  const absl::string_view last =
      slash == absl::string_view::npos ? trimmed : trimmed.substr(slash + 1);
  if (last.empty() || last == "." || last == "..") return fs.CanonicalPath(dir);
  CAIRN_ASSIGN_OR_RETURN(const std::string parent, fs.CanonicalPath(ParentPath(trimmed)));
  return JoinPath(parent, last);
}

std::string JoinPath(absl::string_view a, absl::string_view b) {
  while (a.size() > 1 && a.back() == '/') a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
  if (b.empty()) return std::string(a);
  if (a.empty()) return std::string(b);
  if (a == "/") return absl::StrCat("/", b);
  return absl::StrCat(a, "/", b);
}

std::string ParentPath(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.find_last_of('/');
  if (slash == absl::string_view::npos) return ".";
  if (slash == 0) return "/";
  return std::string(path.substr(0, slash));
}

std::string BaseName(absl::string_view path) {
  while (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
  const size_t slash = path.find_last_of('/');
  return std::string(slash == absl::string_view::npos ? path : path.substr(slash + 1));
}

namespace {

// Whether what Stat described can hold entries. A symlink to a directory cannot: no operation
// follows it, and links above a caller's directory were resolved before (ResolveRoot).
bool IsUsableDirectory(const FileInfo& info) { return info.is_directory(); }

absl::Status NotADirectory(const std::string& path, const std::string& component) {
  return absl::FailedPreconditionError(
      absl::StrCat("create directories ", path, ": ", component, " exists and is not a directory"));
}

absl::Status CreateDirsFor(Filesystem& fs, const std::string& path, const std::string& target,
                           bool sync) {
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (info.ok()) {
    return IsUsableDirectory(*info) ? absl::OkStatus() : NotADirectory(target, path);
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  const std::string parent = ParentPath(path);
  if (parent != path && parent != "." && parent != "/") {
    CAIRN_RETURN_IF_ERROR(CreateDirsFor(fs, parent, target, sync));
  }
  absl::Status status = fs.CreateDir(path);
  if (status.ok() && sync) return fs.SyncDir(parent);
  if (absl::IsAlreadyExists(status)) {
    // Another creator got there first; fine if what it made is a directory.
    CAIRN_ASSIGN_OR_RETURN(const FileInfo now, fs.Stat(path));
    return IsUsableDirectory(now) ? absl::OkStatus() : NotADirectory(target, path);
  }
  return status;
}

// Removes `path`, known to be of type `type` (kOther when the listing could not tell).
absl::Status DeleteTree(Filesystem& fs, const std::string& path, FileInfo::Type type) {
  if (type == FileInfo::Type::kOther) {
    CAIRN_ASSIGN_OR_RETURN(const FileInfo info, fs.Stat(path));
    type = info.type;
  }
  if (type != FileInfo::Type::kDirectory) return fs.DeleteFile(path);
  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> children, fs.ListDirEntries(path));
  for (const DirEntry& child : children) {
    const absl::Status status = DeleteTree(fs, JoinPath(path, child.name), child.type);
    // Something else deleting the same tree at the same time is no reason to stop.
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  return fs.DeleteDir(path);
}

}  // namespace

absl::Status CreateDirs(Filesystem& fs, const std::string& path, bool sync) {
  return CreateDirsFor(fs, path, path, sync);
}

absl::Status DeleteRecursively(Filesystem& fs, const std::string& path) {
  return DeleteTree(fs, path, FileInfo::Type::kOther);
}

absl::StatusOr<std::string> ReadFileToString(Filesystem& fs, const std::string& path,
                                             uint64_t max_size) {
  const auto too_large = [&](uint64_t size) {
    return absl::FailedPreconditionError(absl::StrCat("read ", path, ": it has ", size,
                                                      " bytes, more than the limit of ", max_size,
                                                      " for this kind of file"));
  };
  // Checked before opening too: opening a file that a commit marker lists reads and verifies it
  // whole (VerifyingFilesystem), which must not happen to one past the reader's limit.
  CAIRN_ASSIGN_OR_RETURN(const FileInfo info, fs.Stat(path));
  if (info.is_file() && info.size > max_size) return too_large(info.size);
  CAIRN_ASSIGN_OR_RETURN(const std::unique_ptr<ReadableFile> file, fs.NewReadableFile(path));
  CAIRN_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  if (size > max_size) return too_large(size);
  std::string contents(size, '\0');
  CAIRN_ASSIGN_OR_RETURN(const size_t n, file->ReadAt(0, size, contents.data()));
  contents.resize(n);  // the file may have shrunk since Size(); callers check what they need
  return contents;
}

absl::Status WriteStringToFile(Filesystem& fs, const std::string& path, absl::string_view data,
                               bool sync) {
  CAIRN_ASSIGN_OR_RETURN(const std::unique_ptr<WritableFile> file, fs.NewWritableFile(path));
  CAIRN_RETURN_IF_ERROR(file->Append(data));
  if (sync) CAIRN_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

absl::StatusOr<bool> PathExists(Filesystem& fs, const std::string& path) {
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (info.ok()) return true;
  if (absl::IsNotFound(info.status())) return false;
  return info.status();
}

}  // namespace cairn
