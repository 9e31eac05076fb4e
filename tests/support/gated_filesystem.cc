#include "tests/support/gated_filesystem.h"

#include "absl/time/clock.h"

namespace cairn::testing {

// Long enough for any test, short enough that a forgotten Open fails the test instead of
// hanging the suite.
constexpr absl::Duration kGateLimit = absl::Seconds(60);

void GatedFilesystem::Close() {
  absl::MutexLock lock(&mu_);
  open_ = false;
}

void GatedFilesystem::Open() {
  absl::MutexLock lock(&mu_);
  open_ = true;
}

bool GatedFilesystem::AwaitBlocked(int n, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto enough = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return blocked_ >= n; };
  return mu_.AwaitWithTimeout(absl::Condition(&enough), timeout);
}

absl::StatusOr<std::unique_ptr<WritableFile>> GatedFilesystem::NewWritableFile(
    const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    ++blocked_;
    const bool opened = mu_.AwaitWithTimeout(absl::Condition(&open_), kGateLimit);
    --blocked_;
    if (!opened) return absl::DeadlineExceededError("the test never opened the gate");
  }
  return inner()->NewWritableFile(path);
}

}  // namespace cairn::testing
