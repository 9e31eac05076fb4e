#include "cairn/manager/save_policy.h"

#include <utility>

namespace cairn {
namespace {

class FunctionPolicy final : public SavePolicy {
 public:
  explicit FunctionPolicy(std::function<bool(const SaveDecisionContext&)> fn)
      : fn_(std::move(fn)) {}
  bool ShouldSave(const SaveDecisionContext& context) const override { return fn_(context); }

 private:
  const std::function<bool(const SaveDecisionContext&)> fn_;
};

}  // namespace

std::shared_ptr<const SavePolicy> SavePolicy::EveryNSteps(int64_t n) {
  return Predicate([n](const SaveDecisionContext& c) { return n > 0 && c.step % n == 0; });
}

std::shared_ptr<const SavePolicy> SavePolicy::AtSteps(std::set<int64_t> steps) {
  return Predicate(
      [steps = std::move(steps)](const SaveDecisionContext& c) { return steps.count(c.step) > 0; });
}

std::shared_ptr<const SavePolicy> SavePolicy::Continuous(absl::Duration min_interval) {
  return Predicate([min_interval](const SaveDecisionContext& c) {
    if (c.save_in_progress) return false;
    return !c.last_save_time || c.now - *c.last_save_time >= min_interval;
  });
}

std::shared_ptr<const SavePolicy> SavePolicy::Initial() {
  return Predicate([](const SaveDecisionContext& c) { return !c.latest_step.has_value(); });
}

std::shared_ptr<const SavePolicy> SavePolicy::OnPreemption() {
  return Predicate([](const SaveDecisionContext& c) { return c.preempted; });
}

std::shared_ptr<const SavePolicy> SavePolicy::Predicate(
    std::function<bool(const SaveDecisionContext&)> predicate) {
  return std::make_shared<FunctionPolicy>(std::move(predicate));
}

}  // namespace cairn
