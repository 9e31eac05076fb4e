#include "cairn/utils/memory_filesystem.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

struct MemoryFilesystem::Inode {
  FileInfo::Type type = FileInfo::Type::kFile;
  std::string data;         // what readers see now
  std::string synced_data;  // what survives a power cut
  std::string target;       // of a symlink
  absl::Time modification_time = absl::Now();
  std::map<std::string, std::shared_ptr<Inode>> entries;          // of a directory, now
  std::map<std::string, std::shared_ptr<Inode>> durable_entries;  // as of its last SyncDir
};

namespace {

using Inode = MemoryFilesystem::Inode;

absl::StatusOr<std::vector<std::string>> SplitPath(const std::string& path,
                                                   absl::string_view operation) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(operation, " ", path, ": the in-memory filesystem needs absolute paths"));
  }
  std::vector<std::string> parts;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(absl::StrCat(operation, " ", path, ": '.' and '..' are not supported"));
    }
    parts.emplace_back(part);
  }
  return parts;
}

void RevertToDurable(Inode& inode) {
  if (inode.type == FileInfo::Type::kDirectory) {
    inode.entries = inode.durable_entries;
    for (auto& [name, child] : inode.entries) RevertToDurable(*child);
  } else if (inode.type == FileInfo::Type::kFile) {
    inode.data = inode.synced_data;
  }
}

}  // namespace

class MemoryWritableFile final : public WritableFile {
 public:
  MemoryWritableFile(MemoryFilesystem* fs, std::shared_ptr<Inode> inode, std::string path)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)) {}

  absl::Status Append(absl::string_view data) override {
    absl::MutexLock lock(&fs_->mu_);
    if (closed_) return Closed("write");
    inode_->data.append(data.data(), data.size());
    inode_->modification_time = absl::Now();
    return absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    absl::MutexLock lock(&fs_->mu_);
    if (closed_) return Closed("write");
    std::string& content = inode_->data;
    if (content.size() < offset + data.size()) content.resize(offset + data.size(), '\0');
    std::copy(data.begin(), data.end(), content.begin() + static_cast<ptrdiff_t>(offset));
    inode_->modification_time = absl::Now();
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    absl::MutexLock lock(&fs_->mu_);
    if (closed_) return Closed("fsync");
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
  absl::Status Closed(absl::string_view operation) const {
    return absl::FailedPreconditionError(absl::StrCat(operation, " ", path_, ": file is closed"));
  }

  MemoryFilesystem* const fs_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
  bool closed_ = false;
};

class MemoryReadableFile final : public ReadableFile {
 public:
  MemoryReadableFile(MemoryFilesystem* fs, std::shared_ptr<Inode> inode, std::string path)
      : fs_(fs), inode_(std::move(inode)), path_(std::move(path)) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    absl::MutexLock lock(&fs_->mu_);
    const std::string& content = inode_->data;
    if (offset >= content.size()) return size_t{0};
    const size_t count = std::min<uint64_t>(n, content.size() - offset);
    std::copy_n(content.data() + offset, count, scratch);
    return count;
  }

  absl::StatusOr<uint64_t> Size() const override {
    absl::MutexLock lock(&fs_->mu_);
    return inode_->data.size();
  }

  const std::string& path() const override { return path_; }

 private:
  MemoryFilesystem* const fs_;
  const std::shared_ptr<Inode> inode_;
  const std::string path_;
};

MemoryFilesystem::MemoryFilesystem() : root_(std::make_shared<Inode>()) {
  root_->type = FileInfo::Type::kDirectory;
}

MemoryFilesystem::~MemoryFilesystem() = default;

absl::StatusOr<std::shared_ptr<Inode>> MemoryFilesystem::Lookup(const std::string& path,
                                                                absl::string_view operation) {
  CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> parts, SplitPath(path, operation));
  std::shared_ptr<Inode> node = root_;
  for (const std::string& part : parts) {
    if (node->type != FileInfo::Type::kDirectory) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, " ", path, ": a path component is not a directory"));
    }
    auto it = node->entries.find(part);
    if (it == node->entries.end()) {
      return absl::NotFoundError(absl::StrCat(operation, " ", path, ": no such file or directory"));
    }
    node = it->second;
  }
  return node;
}

absl::StatusOr<std::pair<std::shared_ptr<Inode>, std::string>> MemoryFilesystem::LookupParent(
    const std::string& path, absl::string_view operation) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> parts, SplitPath(path, operation));
  if (parts.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(operation, " /: not allowed on the root"));
  }
  std::string name = std::move(parts.back());
  std::string parent = "/";
  for (size_t i = 0; i + 1 < parts.size(); ++i) absl::StrAppend(&parent, parts[i], "/");
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> dir, Lookup(parent, operation));
  if (dir->type != FileInfo::Type::kDirectory) {
    return absl::FailedPreconditionError(
        absl::StrCat(operation, " ", path, ": the parent is not a directory"));
  }
  return std::make_pair(std::move(dir), std::move(name));
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemoryFilesystem::NewWritableFile(
    const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "create"));
  auto& [dir, name] = parent;
  auto it = dir->entries.find(name);
  std::shared_ptr<Inode> inode;
  if (it != dir->entries.end()) {
    inode = it->second;
    if (inode->type == FileInfo::Type::kSymlink) {
      return absl::FailedPreconditionError(
          absl::StrCat("create ", path, ": it is a symlink; cairn does not write through symlinks"));
    }
    if (inode->type == FileInfo::Type::kDirectory) {
      return absl::FailedPreconditionError(absl::StrCat("create ", path, ": is a directory"));
    }
    inode->data.clear();
  } else {
    inode = std::make_shared<Inode>();
    dir->entries[name] = inode;
  }
  inode->modification_time = absl::Now();
  return std::unique_ptr<WritableFile>(new MemoryWritableFile(this, inode, path));
}

absl::StatusOr<std::unique_ptr<ReadableFile>> MemoryFilesystem::NewReadableFile(
    const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "open"));
  if (inode->type == FileInfo::Type::kSymlink) {
    return absl::FailedPreconditionError(
        absl::StrCat("open ", path, ": it is a symlink; cairn does not follow symlinks to files"));
  }
  if (inode->type != FileInfo::Type::kFile) {
    return absl::FailedPreconditionError(absl::StrCat("open ", path, ": not a regular file"));
  }
  return std::unique_ptr<ReadableFile>(new MemoryReadableFile(this, inode, path));
}

absl::StatusOr<FileInfo> MemoryFilesystem::Stat(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "stat"));
  FileInfo info;
  info.type = inode->type;
  info.size = inode->type == FileInfo::Type::kSymlink ? inode->target.size() : inode->data.size();
  info.modification_time = inode->modification_time;
  return info;
}

absl::StatusOr<std::vector<std::string>> MemoryFilesystem::ListDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "list"));
  if (inode->type != FileInfo::Type::kDirectory) {
    return absl::FailedPreconditionError(absl::StrCat("list ", path, ": not a directory"));
  }
  std::vector<std::string> names;
  names.reserve(inode->entries.size());
  for (const auto& [name, child] : inode->entries) names.push_back(name);
  return names;
}

absl::Status MemoryFilesystem::CreateDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "mkdir"));
  auto& [dir, name] = parent;
  if (dir->entries.count(name) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("mkdir ", path, ": already exists"));
  }
  auto inode = std::make_shared<Inode>();
  inode->type = FileInfo::Type::kDirectory;
  dir->entries[name] = std::move(inode);
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::CreateSymlink(const std::string& target, const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "symlink"));
  auto& [dir, name] = parent;
  if (dir->entries.count(name) > 0) {
    return absl::AlreadyExistsError(absl::StrCat("symlink ", path, ": already exists"));
  }
  auto inode = std::make_shared<Inode>();
  inode->type = FileInfo::Type::kSymlink;
  inode->target = target;
  dir->entries[name] = std::move(inode);
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::DeleteFile(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(auto parent, LookupParent(path, "delete"));
  auto& [dir, name] = parent;
  auto it = dir->entries.find(name);
  if (it == dir->entries.end()) {
    return absl::NotFoundError(absl::StrCat("delete ", path, ": no such file"));
  }
  if (it->second->type == FileInfo::Type::kDirectory) {
    return absl::FailedPreconditionError(absl::StrCat("delete ", path, ": is a directory"));
  }
  dir->entries.erase(it);
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
  if (it->second->type != FileInfo::Type::kDirectory) {
    return absl::FailedPreconditionError(absl::StrCat("rmdir ", path, ": not a directory"));
  }
  if (!it->second->entries.empty()) {
    return absl::FailedPreconditionError(absl::StrCat("rmdir ", path, ": directory not empty"));
  }
  dir->entries.erase(it);
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
  if (moving->type == FileInfo::Type::kDirectory && to.rfind(from + "/", 0) == 0) {
    return absl::InvalidArgumentError(absl::StrCat(operation, " ", to, ": into itself"));
  }
  auto existing = target.first->entries.find(target.second);
  if (existing != target.first->entries.end()) {
    if (existing->second == moving) return absl::OkStatus();
    const bool dir_over = existing->second->type == FileInfo::Type::kDirectory;
    if (dir_over != (moving->type == FileInfo::Type::kDirectory)) {
      return absl::FailedPreconditionError(
          absl::StrCat(operation, " ", to, ": cannot replace a ",
                       dir_over ? "directory with a non-directory" : "non-directory with a directory"));
    }
    if (dir_over && !existing->second->entries.empty()) {
      return absl::FailedPreconditionError(absl::StrCat(operation, " ", to, ": directory not empty"));
    }
  }
  source.first->entries.erase(it);
  target.first->entries[target.second] = std::move(moving);
  return absl::OkStatus();
}

absl::Status MemoryFilesystem::SyncDir(const std::string& path) {
  absl::MutexLock lock(&mu_);
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<Inode> inode, Lookup(path, "fsync directory"));
  if (inode->type != FileInfo::Type::kDirectory) {
    return absl::FailedPreconditionError(absl::StrCat("fsync directory ", path, ": not a directory"));
  }
  inode->durable_entries = inode->entries;
  return absl::OkStatus();
}

void MemoryFilesystem::SimulatePowerLoss() {
  absl::MutexLock lock(&mu_);
  RevertToDurable(*root_);
}

}  // namespace cairn
