// Preservation policies: which committed steps retention keeps. A step is kept when any of the
// Checkpointer's policies keeps it; with none, every step is kept.
#ifndef CAIRN_MANAGER_PRESERVATION_POLICY_H_
#define CAIRN_MANAGER_PRESERVATION_POLICY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/manager/step_info.h"

namespace cairn {

// Reads the number a best-N policy ranks steps by from a step's metrics: nullopt when the step
// has none, an error when the metrics are there but not usable (not a number).
using MetricFn = std::function<absl::StatusOr<std::optional<double>>(const nlohmann::json&)>;
// metrics[key]: nullopt when absent or null, InvalidArgument when not a number.
MetricFn MetricKey(std::string key);

enum class MetricMode { kMin, kMax };

class PreservationPolicy {
 public:
  virtual ~PreservationPolicy() = default;
  // The steps of `steps` (ascending by step) to keep.
  virtual std::set<int64_t> Keep(const std::vector<StepInfo>& steps, absl::Time now) const = 0;

  // The n most recent steps.
  static std::shared_ptr<const PreservationPolicy> LatestN(int n);
  // Steps with step % n == 0.
  static std::shared_ptr<const PreservationPolicy> EveryNSteps(int64_t n);
  // The first step, then each step at least `interval` after the last one kept.
  static std::shared_ptr<const PreservationPolicy> EveryNSeconds(absl::Duration interval);
  // Steps newer than now - `duration`.
  static std::shared_ptr<const PreservationPolicy> LatestDuration(absl::Duration duration);
  // Exactly these steps.
  static std::shared_ptr<const PreservationPolicy> CustomSteps(std::set<int64_t> steps);
  // The n best steps by `metric` (smallest for kMin, largest for kMax; ties keep the later
  // step). Steps without the metric are kept when `keep_without_metrics`, else not.
  static std::shared_ptr<const PreservationPolicy> BestN(MetricFn metric, MetricMode mode, int n,
                                                         bool keep_without_metrics = true);
  // The user's own rule, step by step.
  static std::shared_ptr<const PreservationPolicy> Predicate(
      std::function<bool(const StepInfo&, absl::Time now)> keep);
};

// How a best-N policy ranks steps.
struct Ranking {
  MetricFn metric;
  MetricMode mode = MetricMode::kMin;
};
// The ranking of `policy` when it is a best-N policy, else nullopt. The Checkpointer checks a
// save's metrics against it and answers BestStep with it.
std::optional<Ranking> RankingOf(const PreservationPolicy& policy);

}  // namespace cairn

#endif  // CAIRN_MANAGER_PRESERVATION_POLICY_H_
