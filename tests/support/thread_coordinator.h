// A Coordinator for tests: N "processes" are N threads of one test sharing a ThreadGroupState,
// so multi-process saves run without MPI.
#ifndef CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_
#define CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/utils/coordinator.h"

namespace cairn::testing {

// What the threads of one group share: a generation-counted rendezvous. A round that not every
// thread joins within the deadline, or whose threads name different collectives, fails for
// those that joined, and the group stays broken (as an MPI coordinator does), so a test of a
// failure ends instead of hanging.
class ThreadGroupState {
 public:
  explicit ThreadGroupState(int count, absl::Duration deadline = absl::Seconds(60))
      : count_(count), deadline_(deadline), values_(count), names_(count) {}

  // Every thread deposits `value`; once all have, each gets all values in index order.
  absl::StatusOr<std::vector<std::string>> Exchange(int index, absl::string_view name,
                                                    const std::string& value);
  // The group of the `n`th duplicate, the same for every thread that asks.
  std::shared_ptr<ThreadGroupState> Child(int n);

 private:
  const int count_;
  const absl::Duration deadline_;
  absl::Mutex mu_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
  int departed_ ABSL_GUARDED_BY(mu_) = 0;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> values_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> names_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::shared_ptr<ThreadGroupState>> children_ ABSL_GUARDED_BY(mu_);
};

class ThreadCoordinator final : public Coordinator {
 public:
  ThreadCoordinator(std::shared_ptr<ThreadGroupState> state, int index, int count)
      : state_(std::move(state)), index_(index), count_(count) {}

  int process_index() const override { return index_; }
  int process_count() const override { return count_; }
  absl::Status Barrier(absl::string_view name) override;
  absl::StatusOr<std::string> Broadcast(absl::string_view name, absl::string_view value) override;
  absl::StatusOr<std::vector<std::string>> Gather(absl::string_view name,
                                                  absl::string_view value) override;
  absl::StatusOr<std::unique_ptr<Coordinator>> Duplicate() override;

 private:
  std::shared_ptr<ThreadGroupState> state_;
  const int index_;
  const int count_;
  int duplicates_ = 0;
};

// Runs `body(index, coordinator)` on `n` threads that form one group, and joins them.
void RunThreadGroup(int n, const std::function<void(int, Coordinator&)>& body,
                    absl::Duration deadline = absl::Seconds(60));

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_
