#include "cairn/manager/save_future.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace cairn {
namespace internal {

void SaveState::Finish(SaveReport report) {
  absl::MutexLock lock(&mu_);
  report_ = std::move(report);
  done_ = true;
}

bool SaveState::done() const {
  absl::MutexLock lock(&mu_);
  return done_;
}

bool SaveState::AwaitUntil(absl::Time deadline) const {
  absl::MutexLock lock(&mu_);
  return mu_.AwaitWithDeadline(absl::Condition(&done_), deadline);
}

SaveReport SaveState::report() const {
  absl::MutexLock lock(&mu_);
  return report_;
}

absl::Status SaveState::Collect() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(&done_));
  reported_ = true;
  return report_.status;
}

absl::Status SaveState::TakeUnreportedError() {
  absl::MutexLock lock(&mu_);
  if (!done_ || reported_ || report_.status.ok()) return absl::OkStatus();
  reported_ = true;
  return report_.status;
}

}  // namespace internal

absl::Status SaveFuture::Wait() const {
  if (state_ == nullptr) return absl::OkStatus();
  return state_->Collect();
}

bool SaveFuture::AwaitReady(absl::Duration timeout) const {
  return state_ == nullptr || state_->AwaitUntil(absl::Now() + timeout);
}

absl::Status SaveFuture::WaitFor(absl::Duration timeout) const {
  if (state_ == nullptr) return absl::OkStatus();
  if (!state_->AwaitUntil(absl::Now() + timeout)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the save of step ", step_, " is still running after ", absl::FormatDuration(timeout)));
  }
  return state_->Collect();
}

SaveReport SaveFuture::report() const {
  if (state_ == nullptr) {
    SaveReport skipped;
    skipped.step = step_;
    return skipped;
  }
  return state_->report();
}

}  // namespace cairn
