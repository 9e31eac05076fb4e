// WaitForNewCheckpoint: blocks until a training run commits a step (Orbax's
// wait_for_new_checkpoint), woken by the kernel the moment the step lands rather than by a
// sleep, and hands it out leased so that retention cannot delete it while it is read.
#ifndef CAIRN_MANAGER_WAIT_FOR_CHECKPOINT_H_
#define CAIRN_MANAGER_WAIT_FOR_CHECKPOINT_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/manager/follow_options.h"
#include "cairn/manager/leased_step.h"

namespace cairn {

struct WaitForCheckpointOptions : FollowOptions {
  // Wait for a step >= this; unset takes any step, so an existing one returns at once.
  std::optional<int64_t> until_step;
};

// The newest committed step under `root` that is >= until_step, leased until the returned
// LeasedStep is destroyed (with options.coordinator: called by every process of the group, which
// all get the same step, each with its own lease); or an empty LeasedStep (step() == -1) when the
// timeout passed and timeout_fn, if any, returned true. The root may not exist yet. Errors:
// InvalidArgument for bad options, FailedPrecondition when `root` is not a directory,
// PermissionDenied when it cannot be read or a step cannot be leased.
absl::StatusOr<LeasedStep> WaitForNewCheckpoint(
    const std::string& root, const WaitForCheckpointOptions& options = WaitForCheckpointOptions());

}  // namespace cairn

#endif  // CAIRN_MANAGER_WAIT_FOR_CHECKPOINT_H_
