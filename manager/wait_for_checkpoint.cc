#include "cairn/manager/wait_for_checkpoint.h"

#include <memory>

#include "cairn/manager/internal/step_follower.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

absl::StatusOr<LeasedStep> WaitForNewCheckpoint(const std::string& root,
                                                const WaitForCheckpointOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<internal::StepFollower> follower,
                         internal::StepFollower::Create(root, options));
  const int64_t min_step = options.until_step.value_or(0);
  if (options.coordinator != nullptr) {
    return follower->AwaitTogether(min_step, internal::StepOrder::kNewestFirst);
  }
  return follower->AwaitWithTimeout(min_step, internal::StepOrder::kNewestFirst);
}

}  // namespace cairn
