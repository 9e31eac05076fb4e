// A Filesystem wrapper for tests of what a read touches: it records every file opened for reading
// and counts every operation that would change anything, so that a test can hold a load to
// reading only what it needs and to writing nothing.
#ifndef CAIRN_TESTS_SUPPORT_ACCESS_RECORDING_FILESYSTEM_H_
#define CAIRN_TESTS_SUPPORT_ACCESS_RECORDING_FILESYSTEM_H_

#include <atomic>
#include <memory>
#include <set>
#include <string>

#include "absl/strings/match.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/forwarding_filesystem.h"

namespace cairn::testing {

class AccessRecordingFilesystem final : public ForwardingFilesystem {
 public:
  explicit AccessRecordingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    {
      absl::MutexLock lock(&mu_);
      opened_.insert(path);
    }
    return ForwardingFilesystem::NewReadableFile(path);
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    ++mutations_;
    return ForwardingFilesystem::NewWritableFile(path);
  }
  absl::Status CreateDir(const std::string& path) override {
    ++mutations_;
    return ForwardingFilesystem::CreateDir(path);
  }
  absl::Status DeleteFile(const std::string& path) override {
    ++mutations_;
    return ForwardingFilesystem::DeleteFile(path);
  }
  absl::Status DeleteDir(const std::string& path) override {
    ++mutations_;
    return ForwardingFilesystem::DeleteDir(path);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    ++mutations_;
    return ForwardingFilesystem::Rename(from, to);
  }

  // Whether `path` was opened for reading.
  bool Opened(const std::string& path) {
    absl::MutexLock lock(&mu_);
    return opened_.count(path) > 0;
  }
  // Whether any file whose path contains `part` was opened for reading.
  bool OpenedAnything(const std::string& part) {
    absl::MutexLock lock(&mu_);
    for (const std::string& path : opened_) {
      if (absl::StrContains(path, part)) return true;
    }
    return false;
  }
  void ForgetOpened() {
    absl::MutexLock lock(&mu_);
    opened_.clear();
  }
  int mutations() const { return mutations_.load(); }

 private:
  absl::Mutex mu_;
  std::set<std::string> opened_ ABSL_GUARDED_BY(mu_);
  std::atomic<int> mutations_{0};
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_ACCESS_RECORDING_FILESYSTEM_H_
