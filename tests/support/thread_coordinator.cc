#include "tests/support/thread_coordinator.h"

namespace cairn::testing {

std::vector<std::string> ThreadGroupState::Exchange(int index, const std::string& value) {
  absl::MutexLock lock(&mu_);
  // Wait until the previous round has fully drained before joining a new one.
  mu_.Await(absl::Condition(&open_));
  values_[index] = value;
  if (++arrived_ == count_) open_ = false;
  mu_.Await(absl::Condition(
      +[](ThreadGroupState* s) ABSL_EXCLUSIVE_LOCKS_REQUIRED(s->mu_) { return !s->open_; }, this));
  std::vector<std::string> all = values_;
  if (++departed_ == count_) {
    arrived_ = departed_ = 0;
    open_ = true;
  }
  return all;
}

absl::Status ThreadCoordinator::Barrier(absl::string_view) {
  state_->Exchange(index_, "");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ThreadCoordinator::Broadcast(absl::string_view,
                                                         absl::string_view value) {
  return state_->Exchange(index_, std::string(value))[0];
}

absl::StatusOr<std::vector<std::string>> ThreadCoordinator::Gather(absl::string_view,
                                                                   absl::string_view value) {
  std::vector<std::string> all = state_->Exchange(index_, std::string(value));
  if (index_ != 0) all.clear();
  return all;
}

}  // namespace cairn::testing
