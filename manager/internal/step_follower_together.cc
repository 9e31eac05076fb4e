// StepFollower::AwaitTogether: an evaluator job of several processes follows a run as one, so
// that every process evaluates the same step (Orbax's followers list on the primary and
// broadcast the step for the same reason).
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/manager/internal/step_follower.h"
#include "cairn/utils/internal/collective_outcome.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {
namespace {

// What the primary announces: "W" it still waits, "E" the wait is over, "F<step>" a step.
constexpr char kWaiting = 'W';
constexpr char kEnded = 'E';
constexpr char kFound = 'F';

}  // namespace

absl::StatusOr<std::string> StepFollower::AnnounceTogether(int64_t min_step, StepOrder order,
                                                           std::optional<LeasedStep>* found) {
  Coordinator& coordinator = *options_.coordinator;
  absl::Time timeout_at =
      options_.timeout ? absl::Now() + *options_.timeout : absl::InfiniteFuture();
  for (;;) {
    // In slices, so that the others hear from the primary well within their deadline.
    const absl::Time slice = std::min(timeout_at, absl::Now() + options_.coordination_interval);
    absl::StatusOr<LeasedStep> step = Await(min_step, order, slice);
    std::string word(1, kWaiting);
    if (step.ok() && step->found()) {
      word = absl::StrCat(std::string(1, kFound), step->step());
      found->emplace(*std::move(step));
    } else if (step.ok() && absl::Now() >= timeout_at) {
      if (options_.timeout_fn && !options_.timeout_fn()) {
        timeout_at = absl::Now() + *options_.timeout;
      } else {
        word = std::string(1, kEnded);
      }
    }
    CAIRN_ASSIGN_OR_RETURN(std::string shared,
                           ShareOutcome(coordinator, "cairn.follow.next", step.status(), word));
    if (shared[0] != kWaiting) return shared;
  }
}

absl::StatusOr<LeasedStep> StepFollower::AwaitTogether(int64_t min_step, StepOrder order) {
  Coordinator& coordinator = *options_.coordinator;
  std::optional<LeasedStep> mine;
  std::string word;
  if (coordinator.is_primary()) {
    CAIRN_ASSIGN_OR_RETURN(word, AnnounceTogether(min_step, order, &mine));
  } else {
    do {
      CAIRN_ASSIGN_OR_RETURN(word,
                             ShareOutcome(coordinator, "cairn.follow.next", absl::OkStatus()));
    } while (!word.empty() && word[0] == kWaiting);
  }
  int64_t step = -1;
  if (word.empty() || (word[0] == kFound && !absl::SimpleAtoi(word.substr(1), &step))) {
    return absl::DataLossError(absl::StrCat("the primary announced '", word.substr(0, 64), "'"));
  }
  if (word[0] == kEnded) return LeasedStep();

  // The primary's lease keeps retention away until every process holds its own.
  absl::Status leased;
  if (!coordinator.is_primary()) {
    absl::StatusOr<std::optional<LeasedStep>> own = TryLease(step);
    if (!own.ok()) {
      leased = own.status();
    } else if (!own->has_value()) {
      leased = absl::NotFoundError(
          absl::StrCat("step ", step, " under ", root_,
                       ", which the primary handed out, is gone or not committed here"));
    } else {
      mine = *std::move(own);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> outcomes,
                         coordinator.Gather("cairn.follow.leased", EncodeOutcome(leased)));
  const absl::Status all = coordinator.is_primary()
                               ? FirstFailure(outcomes, absl::StrCat("leasing step ", step))
                               : leased;
  CAIRN_RETURN_IF_ERROR(ShareOutcome(coordinator, "cairn.follow.ready", all).status());
  return *std::move(mine);
}

}  // namespace cairn::internal
