// A retention pass's decision: which committed steps the preservation policies let go.
#ifndef CAIRN_MANAGER_INTERNAL_RETENTION_H_
#define CAIRN_MANAGER_INTERNAL_RETENTION_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/manager/preservation_policy.h"
#include "cairn/manager/step_info.h"
#include "cairn/utils/filesystem.h"

namespace cairn::internal {

// The steps of `steps` (ascending) that no policy keeps. With no policies nothing is retired;
// unless `may_retire_latest`, the latest step never is.
std::vector<int64_t> StepsToRetire(
    const std::vector<StepInfo>& steps,
    const std::vector<std::shared_ptr<const PreservationPolicy>>& policies, bool may_retire_latest,
    absl::Time now);

// What policies need to know of the committed step in `step_dir`: its commit time (from
// _CHECKPOINT_METADATA, else the directory's modification time) and its metrics.
absl::StatusOr<StepInfo> ReadStepInfo(Filesystem& fs, const std::string& step_dir, int64_t step);

}  // namespace cairn::internal

#endif  // CAIRN_MANAGER_INTERNAL_RETENTION_H_
