#include "cairn/manager/checkpoints_iterator.h"

#include <utility>

#include "absl/time/clock.h"
#include "cairn/manager/internal/step_follower.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

absl::StatusOr<CheckpointsIterator> CheckpointsIterator::Create(
    const std::string& root, const CheckpointsIteratorOptions& options) {
  if (options.min_interval < absl::ZeroDuration()) {
    return absl::InvalidArgumentError("iterator options: min_interval must not be negative");
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<internal::StepFollower> follower,
                         internal::StepFollower::Create(root, options));
  return CheckpointsIterator(std::move(follower), options);
}

CheckpointsIterator::CheckpointsIterator(std::unique_ptr<internal::StepFollower> follower,
                                         const CheckpointsIteratorOptions& options)
    : follower_(std::move(follower)),
      mode_(options.mode),
      min_interval_(options.min_interval),
      together_(options.coordinator != nullptr),
      last_step_(options.after_step) {}

CheckpointsIterator::CheckpointsIterator(CheckpointsIterator&&) noexcept = default;
CheckpointsIterator& CheckpointsIterator::operator=(CheckpointsIterator&&) noexcept = default;
CheckpointsIterator::~CheckpointsIterator() = default;

absl::StatusOr<LeasedStep> CheckpointsIterator::Next() {
  if (done_) return LeasedStep();
  // Pacing, as Orbax does it: the timeout counts from when the looking starts, after this.
  if (last_handed_out_) {
    const absl::Duration until_next =
        min_interval_ - absl::FromChrono(std::chrono::steady_clock::now() - *last_handed_out_);
    if (until_next > absl::ZeroDuration()) absl::SleepFor(until_next);
  }

  const int64_t min_step = last_step_ ? *last_step_ + 1 : 0;
  const internal::StepOrder order = mode_ == FollowMode::kEveryStep
                                        ? internal::StepOrder::kOldestFirst
                                        : internal::StepOrder::kNewestFirst;
  CAIRN_ASSIGN_OR_RETURN(LeasedStep step, together_ ? follower_->AwaitTogether(min_step, order)
                                                    : follower_->AwaitWithTimeout(min_step, order));
  if (!step.found()) {
    done_ = true;
    return step;
  }
  last_step_ = step.step();
  last_handed_out_ = std::chrono::steady_clock::now();
  return step;
}

absl::Status CheckpointsIterator::notification_status() const {
  return follower_->notification_status();
}

}  // namespace cairn
