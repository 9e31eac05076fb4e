// For a process of a multi-process save that failed before it could save: it still takes part
// in the save's collectives, so that every process returns its failure instead of waiting.
#ifndef CAIRN_STEPS_INTERNAL_SAVE_WITH_FAILURE_H_
#define CAIRN_STEPS_INTERNAL_SAVE_WITH_FAILURE_H_

#include <string>

#include "absl/status/status.h"
#include "cairn/steps/checkpoint.h"

namespace cairn::internal {

// Takes part in SaveCheckpointables(dir, ...) over options.coordinator with `failure` as this
// process's outcome; returns the shared outcome (an error: `failure` or an earlier one).
absl::Status JoinSaveWithFailure(const std::string& dir, const absl::Status& failure,
                                 const CheckpointOptions& options);

}  // namespace cairn::internal

#endif  // CAIRN_STEPS_INTERNAL_SAVE_WITH_FAILURE_H_
