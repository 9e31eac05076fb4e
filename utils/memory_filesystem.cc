// MemoryFilesystem: a tree of shared inodes, each carrying both its current and its durable state.
#include "cairn/utils/memory_filesystem.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

struct MemoryFilesystem::Inode {
  using Entries = std::map<std::string, std::shared_ptr<Inode>>;

  FileInfo::Type type = FileInfo::Type::kFile;
  absl::Time modification_time = absl::Now();
  std::string data;         // of a file: what readers see now
  std::string synced_data;  // of a file: what survives a power cut
  std::string target;       // of a symlink
  Entries entries;          // of a directory: now
  Entries durable_entries;  // of a directory: as of its last SyncDir
};

namespace {

using Inode = MemoryFilesystem::Inode;

bool IsDir(const Inode& inode) { return inode.type == FileInfo::Type::kDirectory; }

absl::StatusOr<std::vector<std::string>> SplitPath(const std::string& path,
                                                   absl::string_view operation) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(operation, " ", path, ": the in-memory filesystem needs absolute paths"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat(operation, " ", path, ": '.' and '..' are not supported"));
    }
    parts.emplace_back(part);
  }
  return parts;
}

// Puts the subtree under `dir` (already placed) back to its durable state. `placed` holds the
// directories already in the new tree: one reached again is dropped, which keeps the result a
// tree even when unsynced cross-directory renames left a directory durably linked twice.
void RevertToDurable(Inode& dir, std::set<const Inode*>& placed) {
  dir.entries = dir.durable_entries;
  for (auto it = dir.entries.begin(); it != dir.entries.end();) {
    Inode& child = *it->second;
    if (IsDir(child)) {
      if (!placed.insert(&child).second) {
        it = dir.entries.erase(it);
        continue;
      }
      RevertToDurable(child, placed);
    } else if (child.type == FileInfo::Type::kFile) {
      child.data = child.synced_data;
    }
    ++it;
  }
  // What is on disk now is durable by definition.
  dir.durable_entries = dir.entries;
}

// Follows the first `count` components of `parts` (which spell `path`) down from `root`.
absl::StatusOr<std::shared_ptr<Inode>> Walk(const std::shared_ptr<Inode>& root,
                                            const std::vector<std::string>& parts, size_t count,
                                            const std::string& path, absl::string_view operation) {
  std::shared_ptr<Inode> node = root;
  for (size_t i = 0; i < count; ++i) {
    if (node->type == FileInfo::Type::kSymlink) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, " ", path,
                       ": a path component is a symlink, and cairn never follows "
                       "symlinks inside a checkpoint or its root"));
    }
    if (!IsDir(*node)) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, " ", path, ": a path component is not a directory"));
    }
    auto it = node->entries.find(parts[i]);
    if (it == node->entries.end()) {
      return absl::NotFoundError(absl::StrCat(operation, " ", path, ": no such file or directory"));
    }
    node = it->second;
  }
  return node;
}

absl::Status StaleHandle(absl::string_view operation, const std::string& path) {
  return absl::FailedPreconditionError(
      absl::StrCat(operation, " ", path, ": the file was opened before a simulated power loss"));
}

}  // namespace

class MemoryWritableFile final : public WritableFile {
 public:
  MemoryWritableFile(MemoryFilesystem* fs, std::shared_ptr<Inode> inode, std::string path,
                     uint64_t generation)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)), generation_(generation) {}

  absl::Status Append(absl::string_view data) override {
    absl::MutexLock lock(&fs_->mu_);
    CAIRN_RETURN_IF_ERROR(Usable("write"));
    return WriteLocked(inode_->data.size(), data);
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    absl::MutexLock lock(&fs_->mu_);
    CAIRN_RETURN_IF_ERROR(Usable("write"));
    return WriteLocked(offset, data);
  }

  absl::Status Sync() override {
    absl::MutexLock lock(&fs_->mu_);
    CAIRN_RETURN_IF_ERROR(Usable("fsync"));
    inode_->synced_data = inode_->data;
    return absl::OkStatus();
  }

  absl::Status Close() override {
    absl::MutexLock lock(&fs_->mu_);
    closed_ = true;
    return absl::OkStatus();
  }

  const std::string& path() const override { return path_; }

 private:
  absl::Status Usable(absl::string_view operation) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->mu_) {
    if (closed_) {
      return absl::FailedPreconditionError(absl::StrCat(operation, " ", path_, ": file is closed"));
    }
    if (generation_ != fs_->generation_) return StaleHandle(operation, path_);
    return absl::OkStatus();
  }

  absl::Status WriteLocked(uint64_t offset, absl::string_view data)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(fs_->mu_) {
    if (data.empty()) return absl::OkStatus();  // like pwrite: no bytes, no change of size
    std::string& content = inode_->data;
    if (offset > content.max_size() - data.size()) {
      return absl::ResourceExhaustedError(
          absl::StrCat("write ", path_, ": file too large for the in-memory filesystem"));
    }
    const size_t end = static_cast<size_t>(offset) + data.size();
    if (content.size() < end) content.resize(end, '\0');
    std::copy(data.begin(), data.end(), content.begin() + static_cast<ptrdiff_t>(offset));
    inode_->modification_time = absl::Now();
    return absl::OkStatus();
  }

  MemoryFilesystem* const fs_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t generation_;
  bool closed_ ABSL_GUARDED_BY(fs_->mu_) = false;
};

class MemoryReadableFile final : public ReadableFile {
 public:
  MemoryReadableFile(MemoryFilesystem* fs, std::shared_ptr<Inode> inode, std::string path,
                     uint64_t generation)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)), generation_(generation) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    absl::MutexLock lock(&fs_->mu_);
    if (generation_ != fs_->generation_) return StaleHandle("read", path_);
    const std::string& content = inode_->data;
    if (offset >= content.size()) return size_t{0};
    const size_t count = std::min<uint64_t>(n, content.size() - offset);
    std::copy_n(content.data() + offset, count, scratch);
    return count;
  }

  absl::StatusOr<uint64_t> Size() const override {
    absl::MutexLock lock(&fs_->mu_);
    if (generation_ != fs_->generation_) return StaleHandle("stat", path_);
    return inode_->data.size();
  }

  const std::string& path() const override { return path_; }

 private:
  MemoryFilesystem* const fs_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  const uint64_t generation_;
};

MemoryFilesystem::MemoryFilesystem() : root_(std::make_shared<Inode>()) {
  root_->type = FileInfo::Type::kDirectory;
}

MemoryFilesystem::~MemoryFilesystem() = default;

absl::StatusOr<std::shared_ptr<Inode>> MemoryFilesystem::Lookup(const std::string& path,
                                                                absl::string_view operation) {
  CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> parts, SplitPath(path, operation));
  return Walk(root_, parts, parts.size(), path, operation);
}

absl::StatusOr<std::pair<std::shared_ptr<Inode>, std::string>> MemoryFilesystem::LookupParent(
    const std::string& path, absl::string_view operation) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitPath(path, operation));
  if (parts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(operation, " /: not allowed on the root"));
  }
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> dir,
                         Walk(root_, parts, parts.size() - 1, path, operation));
  if (dir->type == FileInfo::Type::kSymlink) {
    return absl::FailedPreconditionError(absl::StrCat(
        operation, " ", path, ": the parent is a symlink, and cairn never follows symlinks ",
        "inside a checkpoint or its root"));
  }
  if (!IsDir(*dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, " ", path, ": the parent is not a directory"));
  }
  return std::make_pair(std::move(dir), std::move(parts.back()));
}

absl::Status MemoryFilesystem::Link(const std::string& path, std::shared_ptr<Inode> inode,
                                    absl::string_view operation) {
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, operation));
  auto& [dir, name] = parent;
  if (dir->entries.count(name) > 0) {
    return absl::AlreadyExistsError(absl::StrCat(operation, " ", path, ": already exists"));
  }
  dir->entries.emplace(name, std::move(inode));
  dir->modification_time = absl::Now();
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemoryFilesystem::NewWritableFile(
    const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "create"));
  auto& [dir, name] = parent;
  std::shared_ptr<Inode> inode;
  if (auto it = dir->entries.find(name); it != dir->entries.end()) {
    inode = it->second;
    if (inode->type == FileInfo::Type::kSymlink) {
      return absl::FailedPreconditionError(absl::StrCat(
          "create ", path, ": it is a symlink, and cairn never opens files through symlinks"));
    }
    if (IsDir(*inode)) {
      return absl::FailedPreconditionError(absl::StrCat("create ", path, ": is a directory"));
    }
    inode->data.clear();  // O_TRUNC; the durable content changes only at the next Sync
    inode->modification_time = absl::Now();
  } else {
    inode = std::make_shared<Inode>();
    CAIRN_RETURN_IF_ERROR(Link(path, inode, "create"));
  }
  return std::unique_ptr<WritableFile>(new MemoryWritableFile(this, inode, path, generation_));
}

absl::StatusOr<std::unique_ptr<ReadableFile>> MemoryFilesystem::NewReadableFile(
    const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "open"));
  if (inode->type == FileInfo::Type::kSymlink) {
    return absl::FailedPreconditionError(absl::StrCat(
        "open ", path, ": it is a symlink, and cairn never opens files through symlinks"));
  }
  if (inode->type != FileInfo::Type::kFile) {
    return absl::FailedPreconditionError(absl::StrCat("open ", path, ": not a regular file"));
  }
  return std::unique_ptr<ReadableFile>(new MemoryReadableFile(this, inode, path, generation_));
}

absl::StatusOr<FileInfo> MemoryFilesystem::Stat(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "stat"));
  FileInfo info;
  info.type = inode->type;
  // As lstat reports them: a symlink's size is the length of its target.
  info.size = inode->type == FileInfo::Type::kSymlink ? inode->target.size() : inode->data.size();
  info.modification_time = inode->modification_time;
  return info;
}

absl::StatusOr<std::vector<std::string>> MemoryFilesystem::ListDir(const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirEntries(path));
  std::vector<std::string> names;
  names.reserve(entries.size());
  for (DirEntry& entry : entries) names.push_back(std::move(entry.name));
  return names;
}

absl::StatusOr<std::vector<DirEntry>> MemoryFilesystem::ListDirEntries(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "list"));
  if (inode->type == FileInfo::Type::kSymlink) {
    return absl::FailedPreconditionError(
        absl::StrCat("list ", path,
                     ": it is a symlink, and cairn never follows symlinks inside a checkpoint "
                     "or its root"));
  }
  if (!IsDir(*inode)) {
    return absl::FailedPreconditionError(absl::StrCat("list ", path, ": not a directory"));
  }
  std::vector<DirEntry> entries;
  entries.reserve(inode->entries.size());
  for (const auto& [name, child] : inode->entries) entries.push_back(DirEntry{name, child->type});
  return entries;
}

absl::Status MemoryFilesystem::CreateDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto inode = std::make_shared<Inode>();
  inode->type = FileInfo::Type::kDirectory;
  return Link(path, std::move(inode), "mkdir");
}

absl::Status MemoryFilesystem::CreateSymlink(const std::string& target, const std::string& path) {
  absl::MutexLock lock(&mu_);
  auto inode = std::make_shared<Inode>();
  inode->type = FileInfo::Type::kSymlink;
  inode->target = target;
  return Link(path, std::move(inode), "symlink");
}

absl::Status MemoryFilesystem::DeleteFile(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "delete"));
  auto& [dir, name] = parent;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) {
    return absl::NotFoundError(absl::StrCat("delete ", path, ": no such file"));
  }
  if (IsDir(*it->second)) {
    return absl::FailedPreconditionError(absl::StrCat("delete ", path, ": is a directory"));
  }
  dir->entries.erase(it);
  dir->modification_time = absl::Now();
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::DeleteDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "rmdir"));
  auto& [dir, name] = parent;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) {
    return absl::NotFoundError(absl::StrCat("rmdir ", path, ": no such directory"));
  }
  if (!IsDir(*it->second)) {
    return absl::FailedPreconditionError(absl::StrCat("rmdir ", path, ": not a directory"));
  }
  if (!it->second->entries.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("rmdir ", path, ": directory not empty"));
  }
  dir->entries.erase(it);
  dir->modification_time = absl::Now();
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::Rename(const std::string& from, const std::string& to) {
  absl::MutexLock lock(&mu_);
  const std::string operation = absl::StrCat("rename ", from, " to");
  CAIRN_ASSIGN_OR_RETURN(auto source, LookupParent(from, "rename"));
  CAIRN_ASSIGN_OR_RETURN(auto target, LookupParent(to, operation));
  auto it = source.first->entries.find(source.second);
  if (it == source.first->entries.end()) {
    return absl::NotFoundError(absl::StrCat("rename ", from, ": no such file or directory"));
  }
  std::shared_ptr<Inode> moving = it->second;
  auto existing = target.first->entries.find(target.second);
  if (existing != target.first->entries.end()) {
    if (existing->second == moving) return absl::OkStatus();  // same object: nothing to do
    const bool over_dir = IsDir(*existing->second);
    if (over_dir != IsDir(*moving)) {
      return absl::FailedPreconditionError(absl::StrCat(
          operation, " ", to, ": cannot replace a ",
          over_dir ? "directory with a non-directory" : "non-directory with a directory"));
    }
    if (over_dir && !existing->second->entries.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, " ", to, ": directory not empty"));
    }
  }
  if (IsDir(*moving)) {
    // The new parent must not lie inside the directory being moved (EINVAL in POSIX).
    const std::vector<std::string> from_parts = *SplitPath(from, operation);
    const std::vector<std::string> to_parts = *SplitPath(to, operation);
    if (to_parts.size() > from_parts.size() &&
        std::equal(from_parts.begin(), from_parts.end(), to_parts.begin())) {
      return absl::InvalidArgumentError(
          absl::StrCat(operation, " ", to, ": a directory cannot move into itself"));
    }
  }
  source.first->entries.erase(it);
  target.first->entries[target.second] = std::move(moving);
  source.first->modification_time = target.first->modification_time = absl::Now();
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::SyncDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "fsync directory"));
  if (!IsDir(*inode)) {
    return absl::FailedPreconditionError(
        absl::StrCat("fsync directory ", path, ": not a directory"));
  }
  inode->durable_entries = inode->entries;
  return absl::OkStatus();
}

void MemoryFilesystem::SimulatePowerLoss() {
  absl::MutexLock lock(&mu_);
  std::set<const Inode*> placed = {root_.get()};
  RevertToDurable(*root_, placed);
  ++generation_;
}

}  // namespace cairn
