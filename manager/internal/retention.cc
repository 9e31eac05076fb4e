#include "cairn/manager/internal/retention.h"

#include <set>

#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {

std::vector<int64_t> StepsToRetire(
    const std::vector<StepInfo>& steps,
    const std::vector<std::shared_ptr<const PreservationPolicy>>& policies, bool may_retire_latest,
    absl::Time now) {
  std::vector<int64_t> retire;
  if (policies.empty() || steps.empty()) return retire;
  std::set<int64_t> keep;
  for (const auto& policy : policies) {
    const std::set<int64_t> kept = policy->Keep(steps, now);
    keep.insert(kept.begin(), kept.end());
  }
  if (!may_retire_latest) keep.insert(steps.back().step);
  for (const StepInfo& info : steps) {
    if (keep.count(info.step) == 0) retire.push_back(info.step);
  }
  return retire;
}

absl::StatusOr<StepInfo> ReadStepInfo(Filesystem& fs, const std::string& step_dir, int64_t step) {
  StepInfo info;
  info.step = step;
  absl::StatusOr<CheckpointMetadata> metadata = ReadCheckpointMetadata(fs, step_dir);
  if (metadata.ok()) {
    if (metadata->metrics.is_object()) info.metrics = metadata->metrics;
    if (std::optional<absl::Time> committed = metadata->commit_time()) {
      info.time = *committed;
      return info;
    }
  } else if (!absl::IsNotFound(metadata.status()) && !absl::IsDataLoss(metadata.status())) {
    return metadata.status();
  }
  // A step without usable metadata (written by another tool, or damaged) still has an age.
  CAIRN_ASSIGN_OR_RETURN(const FileInfo dir, fs.Stat(step_dir));
  info.time = dir.modification_time;
  return info;
}

}  // namespace cairn::internal
