#include "cairn/utils/filesystem_util.h"

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

std::string JoinPath(absl::string_view a, absl::string_view b) {
  while (!a.empty() && a.back() == '/' && a.size() > 1) a.remove_suffix(1);
  while (!b.empty() && b.front() == '/') b.remove_prefix(1);
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

absl::Status CreateDirs(Filesystem& fs, const std::string& path) {
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (info.ok()) {
    if (info->is_directory()) return absl::OkStatus();
    return absl::FailedPreconditionError(
        absl::StrCat("cannot create directory ", path, ": a non-directory is in the way"));
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  const std::string parent = ParentPath(path);
  if (parent != path && parent != "." && parent != "/") {
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs, parent));
  }
  absl::Status status = fs.CreateDir(path);
  if (absl::IsAlreadyExists(status)) {
    // Lost a race with another creator; fine if what is there now is a directory.
    CAIRN_ASSIGN_OR_RETURN(FileInfo now, fs.Stat(path));
    if (now.is_directory()) return absl::OkStatus();
  }
  return status;
}

absl::Status DeleteRecursively(Filesystem& fs, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(const FileInfo info, fs.Stat(path));
  if (!info.is_directory()) return fs.DeleteFile(path);
  CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> children, fs.ListDir(path));
  for (const std::string& child : children) {
    absl::Status status = DeleteRecursively(fs, JoinPath(path, child));
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  return fs.DeleteDir(path);
}

absl::StatusOr<std::string> ReadFileToString(Filesystem& fs, const std::string& path,
                                             uint64_t max_size) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs.NewReadableFile(path));
  CAIRN_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  if (size > max_size) {
    return absl::FailedPreconditionError(absl::StrCat(path, " has ", size,
                                                      " bytes, more than the limit of ", max_size,
                                                      " for this kind of file"));
  }
  std::string contents(size, '\0');
  CAIRN_ASSIGN_OR_RETURN(const size_t n, file->ReadAt(0, size, contents.data()));
  contents.resize(n);  // the file may have shrunk since Size(); callers check what they need
  return contents;
}

absl::Status WriteStringToFile(Filesystem& fs, const std::string& path, absl::string_view data,
                               bool sync) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, fs.NewWritableFile(path));
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
