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

std::optional<absl::Status> SaveState::Collect(absl::Time deadline) {
  absl::MutexLock lock(&mu_);
  // Counted before waiting: a failure that happens meanwhile is already this caller's.
  ++collectors_;
  const bool done = mu_.AwaitWithDeadline(absl::Condition(&done_), deadline);
  --collectors_;
  if (!done) return std::nullopt;
  reported_ = true;
  return report_.status;
}

bool SaveState::collected() const {
  absl::MutexLock lock(&mu_);
  return collectors_ > 0 || reported_;
}

absl::Status SaveState::TakeUnreportedError() {
  absl::MutexLock lock(&mu_);
  if (!done_ || reported_ || collectors_ > 0 || report_.status.ok()) return absl::OkStatus();
  reported_ = true;
  return report_.status;
}

}  // namespace internal

bool ReportsEarlierSaveFailure(const absl::Status& status) {
  return status.GetPayload(kEarlierSaveFailurePayload).has_value();
}

absl::Status SaveFuture::Wait() const {
  if (state_ == nullptr) return absl::OkStatus();
  return *state_->Collect(absl::InfiniteFuture());
}

bool SaveFuture::Collected() const { return state_ != nullptr && state_->collected(); }

bool SaveFuture::AwaitReady(absl::Duration timeout) const {
  return state_ == nullptr || state_->AwaitUntil(absl::Now() + timeout);
}

absl::Status SaveFuture::WaitFor(absl::Duration timeout) const {
  if (state_ == nullptr) return absl::OkStatus();
  std::optional<absl::Status> status = state_->Collect(absl::Now() + timeout);
  if (!status) {
    return absl::DeadlineExceededError(absl::StrCat(
        "the save of step ", step_, " is still running after ", absl::FormatDuration(timeout)));
  }
  return *std::move(status);
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
