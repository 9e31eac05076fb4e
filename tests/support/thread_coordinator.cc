#include "tests/support/thread_coordinator.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cairn::testing {

absl::StatusOr<std::vector<std::string>> ThreadGroupState::Exchange(int index,
                                                                    absl::string_view name,
                                                                    const std::string& value) {
  absl::MutexLock lock(&mu_);
  const absl::Time deadline = absl::Now() + deadline_;
  // Wait until the previous round has fully drained before joining a new one.
  auto joinable = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return open_ || !broken_.ok(); };
  mu_.AwaitWithDeadline(absl::Condition(&joinable), deadline);
  if (!broken_.ok()) return broken_;
  if (!open_) {
    broken_ = absl::DeadlineExceededError(
        absl::StrCat("thread ", index, ": the previous collective did not drain"));
    return broken_;
  }
  values_[index] = value;
  names_[index] = std::string(name);
  if (++arrived_ == count_) open_ = false;
  auto complete = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return !open_ || !broken_.ok(); };
  mu_.AwaitWithDeadline(absl::Condition(&complete), deadline);
  if (!broken_.ok()) return broken_;
  if (open_) {
    broken_ = absl::DeadlineExceededError(absl::StrCat(
        "collective '", name, "': ", count_ - arrived_, " of ", count_, " threads did not arrive"));
    return broken_;
  }
  for (int i = 0; i < count_; ++i) {
    if (names_[i] != names_[0]) {
      broken_ = absl::AbortedError(absl::StrCat("collectives out of step: thread ", i, " is in '",
                                                names_[i], "', thread 0 in '", names_[0], "'"));
      return broken_;
    }
  }
  std::vector<std::string> all = values_;
  if (++departed_ == count_) {
    arrived_ = departed_ = 0;
    open_ = true;
  }
  return all;
}

std::shared_ptr<ThreadGroupState> ThreadGroupState::Child(int n) {
  absl::MutexLock lock(&mu_);
  std::shared_ptr<ThreadGroupState>& child = children_[n];
  if (child == nullptr) child = std::make_shared<ThreadGroupState>(count_, deadline_);
  return child;
}

absl::Status ThreadCoordinator::Barrier(absl::string_view name) {
  return state_->Exchange(index_, name, "").status();
}

absl::StatusOr<std::string> ThreadCoordinator::Broadcast(absl::string_view name,
                                                         absl::string_view value) {
  absl::StatusOr<std::vector<std::string>> all = state_->Exchange(index_, name, std::string(value));
  if (!all.ok()) return all.status();
  return (*all)[0];
}

absl::StatusOr<std::vector<std::string>> ThreadCoordinator::Gather(absl::string_view name,
                                                                   absl::string_view value) {
  absl::StatusOr<std::vector<std::string>> all = state_->Exchange(index_, name, std::string(value));
  if (!all.ok()) return all.status();
  if (index_ != 0) all->clear();
  return all;
}

absl::StatusOr<std::unique_ptr<Coordinator>> ThreadCoordinator::Duplicate() {
  return std::make_unique<ThreadCoordinator>(state_->Child(duplicates_++), index_, count_);
}

void RunThreadGroup(int n, const std::function<void(int, Coordinator&)>& body,
                    absl::Duration deadline) {
  auto state = std::make_shared<ThreadGroupState>(n, deadline);
  std::vector<std::thread> processes;
  for (int p = 0; p < n; ++p) {
    processes.emplace_back([&, p] {
      ThreadCoordinator coordinator(state, p, n);
      body(p, coordinator);
    });
  }
  for (std::thread& t : processes) t.join();
}

}  // namespace cairn::testing
