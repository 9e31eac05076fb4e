// Save decision policies: whether the training loop should save at a step. The Checkpointer
// saves when any of its policies says so.
#ifndef CAIRN_MANAGER_SAVE_POLICY_H_
#define CAIRN_MANAGER_SAVE_POLICY_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>

#include "absl/time/time.h"

namespace cairn {

struct SaveDecisionContext {
  int64_t step = 0;
  std::optional<int64_t> latest_step;        // the latest committed step, if any
  std::optional<absl::Time> last_save_time;  // when the last save started, in this process
  bool save_in_progress = false;
  bool preempted = false;  // the process received SIGTERM, or was told
  absl::Time now;
};

class SavePolicy {
 public:
  virtual ~SavePolicy() = default;
  virtual bool ShouldSave(const SaveDecisionContext& context) const = 0;

  // step % n == 0.
  static std::shared_ptr<const SavePolicy> EveryNSteps(int64_t n);
  // Exactly these steps.
  static std::shared_ptr<const SavePolicy> AtSteps(std::set<int64_t> steps);
  // Continuous checkpointing: no save in flight and at least `min_interval` since the last one
  // started (or none yet).
  static std::shared_ptr<const SavePolicy> Continuous(absl::Duration min_interval);
  // When no step has been saved yet.
  static std::shared_ptr<const SavePolicy> Initial();
  // When the process has been told of a preemption (SIGTERM or Checkpointer::NotifyPreemption).
  static std::shared_ptr<const SavePolicy> OnPreemption();
  // The user's own rule.
  static std::shared_ptr<const SavePolicy> Predicate(
      std::function<bool(const SaveDecisionContext&)> predicate);
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_SAVE_POLICY_H_
