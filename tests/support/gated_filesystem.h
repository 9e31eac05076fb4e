// A Filesystem wrapper for tests of concurrency: while its gate is closed, every new writable
// file blocks its opener until the gate opens, so a test can hold a background save midway,
// observe what the caller sees, then let it go. Waits are bounded by a deadline.
#ifndef CAIRN_TESTS_SUPPORT_GATED_FILESYSTEM_H_
#define CAIRN_TESTS_SUPPORT_GATED_FILESYSTEM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem.h"

namespace cairn::testing {

class GatedFilesystem final : public Filesystem {
 public:
  explicit GatedFilesystem(Filesystem* inner) : inner_(inner) {}

  void Close();
  void Open();
  // Waits until at least `n` openers are blocked at the closed gate, or `timeout` passes;
  // whether they are.
  bool AwaitBlocked(int n, absl::Duration timeout = absl::Seconds(30));

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    return inner_->NewReadableFile(path);
  }
  absl::StatusOr<FileInfo> Stat(const std::string& path) override { return inner_->Stat(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return inner_->ListDir(path);
  }
  absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path) override {
    return inner_->ListDirEntries(path);
  }
  absl::Status CreateDir(const std::string& path) override { return inner_->CreateDir(path); }
  absl::Status DeleteFile(const std::string& path) override { return inner_->DeleteFile(path); }
  absl::Status DeleteDir(const std::string& path) override { return inner_->DeleteDir(path); }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return inner_->Rename(from, to);
  }
  absl::Status SyncDir(const std::string& path) override { return inner_->SyncDir(path); }

 private:
  Filesystem* const inner_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_GATED_FILESYSTEM_H_
