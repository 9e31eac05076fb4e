// CheckpointsIterator: follows a training run and hands out each new step as it is committed
// (Orbax's checkpoints_iterator), woken by the kernel rather than by a sleep. Each step comes
// leased, so retention cannot delete it while the caller evaluates it.
//
//   absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, options);
//   for (;;) {
//     absl::StatusOr<LeasedStep> step = it->Next();
//     if (!step.ok()) return step.status();
//     if (!step->found()) break;  // timed out, and timeout_fn (if any) said stop
//     Evaluate(Load(step->path()));
//   }  // each step's lease goes when its LeasedStep does
#ifndef CAIRN_MANAGER_CHECKPOINTS_ITERATOR_H_
#define CAIRN_MANAGER_CHECKPOINTS_ITERATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/manager/follow_options.h"
#include "cairn/manager/leased_step.h"

namespace cairn {

namespace internal {
class StepFollower;
}  // namespace internal

enum class FollowMode {
  // Orbax's behaviour: the newest committed step each time, skipping the ones committed while
  // the caller was busy.
  kNewest,
  // Every committed step, in increasing order: for an evaluator that must score each one. A
  // step retention deleted before its turn is skipped.
  kEveryStep,
};

struct CheckpointsIteratorOptions : FollowOptions {
  FollowMode mode = FollowMode::kNewest;
  // The least time between two steps handed out (Orbax's min_interval_secs): Next() sleeps
  // until this long after the previous step was handed out before it looks for the next.
  absl::Duration min_interval = absl::ZeroDuration();
  // Hand out only steps after this one: an evaluator restarting where it stopped.
  std::optional<int64_t> after_step;
};

// Moves, never copies. Not thread-safe: one iterator per thread; any number of iterators in a
// process share its one inotify watcher.
class CheckpointsIterator {
 public:
  // InvalidArgument for bad options; the root need not exist yet.
  static absl::StatusOr<CheckpointsIterator> Create(
      const std::string& root,
      const CheckpointsIteratorOptions& options = CheckpointsIteratorOptions());

  CheckpointsIterator(CheckpointsIterator&&) noexcept;
  CheckpointsIterator& operator=(CheckpointsIterator&&) noexcept;
  ~CheckpointsIterator();

  // The next step, leased until the returned LeasedStep is destroyed. With
  // options.coordinator, every process of the group calls Next together and gets the same step. An
  // empty LeasedStep (found() false) ends the iteration: the timeout passed with no new step, and
  // there is no timeout_fn or it returned true; every later call returns one at once. Steps handed
  // out only increase. Errors: FailedPrecondition when the root is not a directory,
  // PermissionDenied when it cannot be read or a step cannot be leased.
  absl::StatusOr<LeasedStep> Next();

  // The last step handed out.
  std::optional<int64_t> last_step() const { return last_step_; }
  // Whether the iteration has ended.
  bool done() const { return done_; }
  // OK while kernel notification covers the root; otherwise why it is polled (a network
  // filesystem, a watch limit, the chosen mode).
  absl::Status notification_status() const;

 private:
  CheckpointsIterator(std::unique_ptr<internal::StepFollower> follower,
                      const CheckpointsIteratorOptions& options);

  std::unique_ptr<internal::StepFollower> follower_;
  FollowMode mode_;
  absl::Duration min_interval_;
  bool together_ = false;  // a group of processes follows as one
  std::optional<int64_t> last_step_;
  // Steady, so that a clock step cannot shorten or stretch the pacing.
  std::optional<std::chrono::steady_clock::time_point> last_handed_out_;
  bool done_ = false;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_CHECKPOINTS_ITERATOR_H_
