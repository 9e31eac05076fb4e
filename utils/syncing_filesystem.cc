#include "cairn/utils/syncing_filesystem.h"

#include <algorithm>
#include <utility>

#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class SyncOnCloseFile final : public ForwardingWritableFile {
 public:
  using ForwardingWritableFile::ForwardingWritableFile;
  // A file the writer forgot to close is still synced; an error here has no one to go to, and
  // the save that follows reads nothing from it, so it is the writer's own Close that reports.
  ~SyncOnCloseFile() override {
    if (!closed_) Close().IgnoreError();
  }

  absl::Status Close() override {
    closed_ = true;
    absl::Status synced = inner()->Sync();
    absl::Status closed = inner()->Close();
    return synced.ok() ? closed : synced;
  }

 private:
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
