// A Coordinator for tests: N "processes" are N threads of one test sharing a ThreadGroupState,
// so multi-process saves run without MPI.
#ifndef CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_
#define CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "cairn/utils/coordinator.h"

namespace cairn::testing {

// What the threads of one group share: a generation-counted rendezvous.
class ThreadGroupState {
 public:
  explicit ThreadGroupState(int count) : count_(count), values_(count) {}

  // Every thread deposits `value`; once all have, each gets all values in index order.
  std::vector<std::string> Exchange(int index, const std::string& value);

 private:
  const int count_;
  absl::Mutex mu_;
  int arrived_ ABSL_GUARDED_BY(mu_) = 0;
  int departed_ ABSL_GUARDED_BY(mu_) = 0;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  std::vector<std::string> values_ ABSL_GUARDED_BY(mu_);
};

class ThreadCoordinator final : public Coordinator {
 public:
  ThreadCoordinator(std::shared_ptr<ThreadGroupState> state, int index, int count)
      : state_(std::move(state)), index_(index), count_(count) {}

  int process_index() const override { return index_; }
  int process_count() const override { return count_; }
  absl::Status Barrier(absl::string_view) override;
  absl::StatusOr<std::string> Broadcast(absl::string_view, absl::string_view value) override;
  absl::StatusOr<std::vector<std::string>> Gather(absl::string_view,
                                                  absl::string_view value) override;

 private:
  std::shared_ptr<ThreadGroupState> state_;
  const int index_;
  const int count_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_THREAD_COORDINATOR_H_
