#include "cairn/manager/preservation_policy.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

class PredicatePolicy final : public PreservationPolicy {
 public:
  explicit PredicatePolicy(std::function<bool(const StepInfo&, absl::Time)> keep)
      : keep_(std::move(keep)) {}
  std::set<int64_t> Keep(const std::vector<StepInfo>& steps, absl::Time now) const override {
    std::set<int64_t> kept;
    for (const StepInfo& info : steps) {
      if (keep_(info, now)) kept.insert(info.step);
    }
    return kept;
  }

 private:
  const std::function<bool(const StepInfo&, absl::Time)> keep_;
};

class LatestNPolicy final : public PreservationPolicy {
 public:
  explicit LatestNPolicy(int n) : n_(n) {}
  std::set<int64_t> Keep(const std::vector<StepInfo>& steps, absl::Time) const override {
    std::set<int64_t> kept;
    for (size_t i = steps.size(); i > 0 && kept.size() < static_cast<size_t>(std::max(0, n_));
         --i) {
      kept.insert(steps[i - 1].step);
    }
    return kept;
  }

 private:
  const int n_;
};

class EveryNSecondsPolicy final : public PreservationPolicy {
 public:
  explicit EveryNSecondsPolicy(absl::Duration interval) : interval_(interval) {}
  std::set<int64_t> Keep(const std::vector<StepInfo>& steps, absl::Time) const override {
    std::set<int64_t> kept;
    std::optional<absl::Time> last;
    for (const StepInfo& info : steps) {
      if (!last || info.time - *last >= interval_) {
        kept.insert(info.step);
        last = info.time;
      }
    }
    return kept;
  }

 private:
  const absl::Duration interval_;
};

class BestNPolicy final : public PreservationPolicy {
 public:
  BestNPolicy(MetricFn metric, MetricMode mode, int n, bool keep_without_metrics)
      : metric_(std::move(metric)), mode_(mode), n_(n), keep_without_(keep_without_metrics) {}

  std::set<int64_t> Keep(const std::vector<StepInfo>& steps, absl::Time) const override {
    std::set<int64_t> kept;
    std::vector<std::pair<double, int64_t>> ranked;
    for (const StepInfo& info : steps) {
      absl::StatusOr<std::optional<double>> value = metric_(info.metrics);
      if (value.ok() && value->has_value()) {
        ranked.emplace_back(mode_ == MetricMode::kMin ? **value : -**value, info.step);
      } else if (keep_without_) {
        // Unrankable (no metric, or one saved before the metric existed): keep, never guess.
        kept.insert(info.step);
      }
    }
    // Best first; among equals, the later step first.
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    for (size_t i = 0; i < ranked.size() && i < static_cast<size_t>(std::max(0, n_)); ++i) {
      kept.insert(ranked[i].second);
    }
    return kept;
  }

  Ranking ranking() const { return Ranking{metric_, mode_}; }

 private:
  const MetricFn metric_;
  const MetricMode mode_;
  const int n_;
  const bool keep_without_;
};

}  // namespace

MetricFn MetricKey(std::string key) {
  return [key = std::move(key)](
             const nlohmann::json& metrics) -> absl::StatusOr<std::optional<double>> {
    if (!metrics.is_object()) return std::optional<double>();
    const auto it = metrics.find(key);
    if (it == metrics.end() || it->is_null()) return std::optional<double>();
    if (!it->is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("metric '", key, "' is ", it->type_name(),
                                                     " (", it->dump(), "), not a number"));
    }
    return std::optional<double>(it->get<double>());
  };
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::LatestN(int n) {
  return std::make_shared<LatestNPolicy>(n);
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::EveryNSteps(int64_t n) {
  return Predicate([n](const StepInfo& info, absl::Time) { return n > 0 && info.step % n == 0; });
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::EveryNSeconds(
    absl::Duration interval) {
  return std::make_shared<EveryNSecondsPolicy>(interval);
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::LatestDuration(
    absl::Duration duration) {
  return Predicate(
      [duration](const StepInfo& info, absl::Time now) { return info.time > now - duration; });
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::CustomSteps(std::set<int64_t> steps) {
  return Predicate([steps = std::move(steps)](const StepInfo& info, absl::Time) {
    return steps.count(info.step) > 0;
  });
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::BestN(MetricFn metric,
                                                                    MetricMode mode, int n,
                                                                    bool keep_without_metrics) {
  return std::make_shared<BestNPolicy>(std::move(metric), mode, n, keep_without_metrics);
}

std::shared_ptr<const PreservationPolicy> PreservationPolicy::Predicate(
    std::function<bool(const StepInfo&, absl::Time)> keep) {
  return std::make_shared<PredicatePolicy>(std::move(keep));
}

std::optional<Ranking> RankingOf(const PreservationPolicy& policy) {
  const auto* best = dynamic_cast<const BestNPolicy*>(&policy);
  if (best == nullptr) return std::nullopt;
  return best->ranking();
}

}  // namespace cairn
