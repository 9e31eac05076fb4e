// StepFollower: the wait loop under WaitForNewCheckpoint and CheckpointsIterator. It reads the
// root's committed steps, leases the one it is asked for, and otherwise sleeps until the
// directory watcher reports a change, the poll interval passes, or the deadline comes.
#ifndef CAIRN_MANAGER_INTERNAL_STEP_FOLLOWER_H_
#define CAIRN_MANAGER_INTERNAL_STEP_FOLLOWER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/manager/follow_options.h"
#include "cairn/manager/leased_step.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/directory_watcher.h"

namespace cairn::internal {

// Which of several waiting steps to hand out first.
enum class StepOrder { kNewestFirst, kOldestFirst };

// Not thread-safe: one follower per thread (many followers may share a watcher).
class StepFollower {
 public:
  static absl::StatusOr<std::unique_ptr<StepFollower>> Create(const std::string& root,
                                                              const FollowOptions& options);

  // Leases a committed step >= `min_step`, taken in `order`, waiting for one until `deadline`.
  // Returns an empty LeasedStep at the deadline. Steps that vanish before they are leased are
  // skipped. Errors: the root is not a directory or cannot be read, a step cannot be leased.
  absl::StatusOr<LeasedStep> Await(int64_t min_step, StepOrder order, absl::Time deadline);

  // Await with the options' timeout and timeout_fn: waits again, with a fresh timeout, as long
  // as timeout_fn returns false. An empty LeasedStep means the waiting is over.
  absl::StatusOr<LeasedStep> AwaitWithTimeout(int64_t min_step, StepOrder order);

  // AwaitWithTimeout for a group of processes (options.coordinator), called by every one of
  // them: the primary waits and leases, telling the others every coordination_interval that it
  // still waits; then each of the others leases the step the primary found. Every process
  // returns the same step (each with its own lease), the same end of the wait, or the same
  // error (manager/internal/step_follower_together.cc).
  absl::StatusOr<LeasedStep> AwaitTogether(int64_t min_step, StepOrder order);

  // OK while the root is covered by kernel notification; otherwise why it is polled.
  absl::Status notification_status() const { return subscription_->notification_status(); }

 private:
  StepFollower(std::string root, const FollowOptions& options);

  // The primary's part of AwaitTogether: its step, or the end of the wait, announced.
  absl::StatusOr<std::string> AnnounceTogether(int64_t min_step, StepOrder order,
                                               std::optional<LeasedStep>* found);
  // Leases committed `step`; nullopt when it went (or was withdrawn) since it was listed.
  absl::StatusOr<std::optional<LeasedStep>> TryLease(int64_t step);

  // Commit-file mode: the marker lands inside the step directory, which a watch on the root
  // does not see; so every uncommitted step directory that may yet be handed out is watched.
  // True when a watch was added, after which the root must be read again.
  bool WatchUncommitted(int64_t min_step, const std::vector<int64_t>& committed);

  const std::string root_;
  const FollowOptions options_;
  StepListingOptions listing_;
  std::unique_ptr<DirectoryWatcher::Subscription> subscription_;
  std::set<std::string> watched_steps_;
  // Directories named like steps that are not steps: each is reported once, on stderr.
  std::vector<SkippedStepName> skipped_;
  std::set<std::string> reported_skips_;
};

}  // namespace cairn::internal

#endif  // CAIRN_MANAGER_INTERNAL_STEP_FOLLOWER_H_
