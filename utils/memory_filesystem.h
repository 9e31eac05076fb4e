// An in-memory Filesystem that models what survives a power cut, for durability tests.
//
// It behaves like a disk behind a page cache. A file's bytes become durable when the file is
// synced; a directory's entries (files and directories created, renamed or deleted in it)
// become durable when that directory is synced. SimulatePowerLoss() throws away everything not
// yet durable: each directory's entries return to its last SyncDir, and each file's content to
// its last Sync (a file never synced is empty). Paths are absolute ("/a/b"); "/" always exists.
#ifndef CAIRN_UTILS_MEMORY_FILESYSTEM_H_
#define CAIRN_UTILS_MEMORY_FILESYSTEM_H_

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

class MemoryFilesystem final : public Filesystem {
 public:
  MemoryFilesystem();
  ~MemoryFilesystem() override;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDir(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override;

  // Creates a symlink at `path` pointing to `target` (which need not exist), so that tests can
  // check that cairn refuses to follow one. Durable like any entry: after its parent's SyncDir.
  absl::Status CreateSymlink(const std::string& target, const std::string& path);

  // Drops everything not yet durable, as a power cut would.
  void SimulatePowerLoss();

  struct Inode;

 private:
  friend class MemoryWritableFile;
  friend class MemoryReadableFile;

  // The inode at `path`, or NotFound / FailedPrecondition naming `operation`.
  absl::StatusOr<std::shared_ptr<Inode>> Lookup(const std::string& path,
                                                absl::string_view operation)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The directory that would hold `path`, and the last component's name.
  absl::StatusOr<std::pair<std::shared_ptr<Inode>, std::string>> LookupParent(
      const std::string& path, absl::string_view operation) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::Mutex mu_;
  std::shared_ptr<Inode> root_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_MEMORY_FILESYSTEM_H_
