#include "cairn/utils/syncing_filesystem.h"

#include <algorithm>
#include <utility>

#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class SyncOnCloseFile final : public WritableFile {
 public:
  explicit SyncOnCloseFile(std::unique_ptr<WritableFile> inner) : inner_(std::move(inner)) {}
  // A file the writer forgot to close is still synced; an error here has no one to go to, and
  // the save that follows reads nothing from it, so it is the writer's own Close that reports.
  ~SyncOnCloseFile() override {
    if (!closed_) Close().IgnoreError();
  }

  absl::Status Append(absl::string_view data) override { return inner_->Append(data); }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    return inner_->WriteAt(offset, data);
  }
  absl::Status Sync() override { return inner_->Sync(); }
  void StartWriteback(uint64_t offset, uint64_t size) override {
    inner_->StartWriteback(offset, size);
  }
  absl::Status Close() override {
    closed_ = true;
    absl::Status synced = inner_->Sync();
    absl::Status closed = inner_->Close();
    return synced.ok() ? closed : synced;
  }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<WritableFile> inner_;
  bool closed_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WritableFile>> SyncingFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, inner()->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new SyncOnCloseFile(std::move(file)));
}

absl::Status SyncingFilesystem::CreateDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(inner()->CreateDir(path));
  absl::MutexLock lock(&mu_);
  created_.push_back(path);
  return absl::OkStatus();
}

absl::Status SyncingFilesystem::SyncCreatedDirs() {
  std::vector<std::string> dirs;
  {
    absl::MutexLock lock(&mu_);
    dirs = created_;
  }
  // Deepest first: a directory's own entries are durable before its parent names it durably.
  std::sort(dirs.begin(), dirs.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const std::string& dir : dirs) CAIRN_RETURN_IF_ERROR(inner()->SyncDir(dir));
  return absl::OkStatus();
}

}  // namespace cairn
