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
#include "cairn/utils/forwarding_filesystem.h"

namespace cairn::testing {

class GatedFilesystem final : public ForwardingFilesystem {
 public:
  explicit GatedFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  void Close();
  void Open();
  // Waits until at least `n` openers are blocked at the closed gate, or `timeout` passes;
  // whether they are.
  bool AwaitBlocked(int n, absl::Duration timeout = absl::Seconds(30));

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;

 private:
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int blocked_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_GATED_FILESYSTEM_H_
