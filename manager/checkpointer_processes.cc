// The Checkpointer's part in runs that several processes save together: opening the root,
// deciding what to save, and running deletions and listings on the primary, each agreed through
// the coordinator so that every process makes the same decision (docs/MPI.md).
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/manager/preemption.h"
#include "cairn/steps/internal/save_with_failure.h"
#include "cairn/steps/lease.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/internal/collective_outcome.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// What every process's Checkpointer must agree on before their collectives can line up.
std::string OptionsSignature(const CheckpointerOptions& options) {
  if (options.name_format == nullptr) return "";
  return absl::StrCat("read_only=", options.read_only,
                      " commit_mode=", static_cast<int>(options.commit_mode),
                      " step_name=", options.name_format->Build(1234));
}

std::vector<int64_t> ParseSteps(absl::string_view text) {
  std::vector<int64_t> steps;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    int64_t step = 0;
    if (absl::SimpleAtoi(part, &step)) steps.push_back(step);
  }
  return steps;
}

// "S<step> <preempted> <force> <overwrite>": what one process offers.
struct Offer {
  int64_t step = -1;
  bool preempted = false;
  std::string flags;
};

std::optional<Offer> ParseOffer(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text.substr(1), ' ');
  Offer offer;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &offer.step)) return std::nullopt;
  offer.preempted = parts[1] == "1";
  offer.flags = std::string(parts[2]);
  return offer;
}

}  // namespace

absl::StatusOr<Checkpointer::Opened> Checkpointer::OpenTogether(const std::string& named_root,
                                                                const CheckpointerOptions& options,
                                                                absl::Status local) {
  Coordinator& coordinator = *options.coordinator;
  CAIRN_ASSIGN_OR_RETURN(
      const std::vector<std::string> checks,
      coordinator.Gather("cairn.checkpointer.open",
                         internal::EncodeOutcome(local, OptionsSignature(options))));
  absl::Status opened_status;
  Opened opened;
  if (coordinator.is_primary()) {
    opened_status = internal::FirstFailure(checks, absl::StrCat("opening ", named_root));
    for (size_t p = 1; opened_status.ok() && p < checks.size(); ++p) {
      if (checks[p] != checks[0]) {
        opened_status = absl::InvalidArgumentError(absl::StrCat(
            "the processes opening ", named_root, " disagree on their options: process 0 has ",
            checks[0].substr(1), ", process ", p, " has ", checks[p].substr(1)));
      }
    }
    if (opened_status.ok()) {
      absl::StatusOr<Opened> alone = OpenAlone(named_root, options);
      if (alone.ok()) {
        opened = *std::move(alone);
      } else {
        opened_status = alone.status();
      }
    }
  }
  CAIRN_ASSIGN_OR_RETURN(const std::string listed,
                         internal::ShareOutcome(coordinator, "cairn.checkpointer.opened",
                                                opened_status, absl::StrJoin(opened.steps, ",")));
  // Every process must see the root the primary opened: the run's directory is shared.
  absl::Status seen;
  if (!coordinator.is_primary()) {
    opened.steps = ParseSteps(listed);
    Filesystem* fs = options.filesystem ? options.filesystem : Filesystem::Default();
    absl::StatusOr<std::string> root = ResolveRoot(*fs, named_root);
    absl::StatusOr<FileInfo> info = root.ok() ? fs->Stat(*root) : root.status();
    if (info.ok() && !info->is_directory()) {
      info = absl::FailedPreconditionError(absl::StrCat(*root, " is not a directory"));
    }
    seen = info.status();
    if (seen.ok()) {
      opened.root = *root;
    } else {
      seen = Annotate(seen, absl::StrCat("the primary opened ", named_root,
                                         ", which this process must see too (a directory every "
                                         "process shares)"));
    }
  }
  CAIRN_ASSIGN_OR_RETURN(
      const std::vector<std::string> sights,
      coordinator.Gather("cairn.checkpointer.seen", internal::EncodeOutcome(seen)));
  absl::Status all_seen = seen;
  if (coordinator.is_primary()) {
    all_seen = internal::FirstFailure(sights, absl::StrCat("opening ", named_root));
  }
  CAIRN_RETURN_IF_ERROR(
      internal::ShareOutcome(coordinator, "cairn.checkpointer.ready", all_seen).status());
  return opened;
}

absl::StatusOr<bool> Checkpointer::DecideTogether(int64_t step, const SaveArgs* args,
                                                  absl::Status local) const {
  const bool preempted = preempted_.load() || (options_.handle_sigterm && PreemptionSignalled());
  const std::string flags =
      args == nullptr ? "query"
                      : absl::StrCat(args->force ? "f" : "-", args->overwrite ? "o" : "-");
  CAIRN_ASSIGN_OR_RETURN(
      const std::vector<std::string> offers,
      coordinator_->Gather(
          "cairn.checkpointer.decide",
          internal::EncodeOutcome(local, absl::StrCat(step, " ", preempted ? 1 : 0, " ", flags))));
  absl::Status status;
  std::string payload;
  if (coordinator_->is_primary()) {
    status = internal::FirstFailure(offers, absl::StrCat("offering step ", step));
    bool any_preempted = false;
    for (size_t p = 0; status.ok() && p < offers.size(); ++p) {
      const std::optional<Offer> offer = ParseOffer(offers[p]);
      if (!offer || offer->step != step || offer->flags != flags) {
        status = absl::InvalidArgumentError(absl::StrCat(
            "the processes saving ", root_, " are not making the same call: process 0 offers step ",
            step, " (", flags, "), process ", p, " sent '", offers[p].substr(1),
            "'; every process must offer every step, with the same SaveArgs"));
        break;
      }
      any_preempted |= offer->preempted;
    }
    bool save = false;
    bool replacing = false;
    if (status.ok()) {
      absl::MutexLock lock(&mu_);
      if (any_preempted) agreed_preemption_.store(true);
      if (args != nullptr) {
        absl::StatusOr<bool> decided = DecideLocked(step, *args);
        status = decided.status();
        save = decided.value_or(false);
        replacing = save && steps_.count(step) > 0;
      } else {
        save = ShouldSaveLocked(step);
      }
    }
    if (replacing) {
      absl::StatusOr<bool> leased = IsLocked(StepDir(step), &fs_);
      if (!leased.ok()) {
        status = leased.status();
      } else if (*leased) {
        status = absl::FailedPreconditionError(
            absl::StrCat("cannot overwrite step ", step, ": a reader leases it (", StepDir(step),
                         "/", kLockedDirName, "); try again once it is released"));
      }
    }
    absl::MutexLock lock(&mu_);
    payload = absl::StrCat(save ? 1 : 0, agreed_preemption_.load() ? 1 : 0, ":",
                           status.ok() ? TakeRetiredLocked() : "");
  }
  CAIRN_ASSIGN_OR_RETURN(
      const std::string decided,
      internal::ShareOutcome(*coordinator_, "cairn.checkpointer.decided", status, payload));
  if (decided.size() < 3 || decided[2] != ':') {
    return absl::DataLossError(
        absl::StrCat("the primary sent a decision that is not one: '", decided.substr(0, 64), "'"));
  }
  if (decided[1] == '1') agreed_preemption_.store(true);
  if (!coordinator_->is_primary()) {
    absl::MutexLock lock(&mu_);
    ApplyRetiredLocked(absl::string_view(decided).substr(3));
  }
  return decided[0] == '1';
}

absl::Status Checkpointer::RunOnPrimary(absl::string_view name,
                                        const std::function<absl::Status()>& operation,
                                        bool share_listing) {
  absl::Status status;
  std::string payload;
  if (coordinator_->is_primary()) {
    status = operation();
    absl::MutexLock lock(&mu_);
    if (share_listing) {
      std::vector<int64_t> steps;
      for (const auto& [step, info] : steps_) steps.push_back(step);
      payload = absl::StrJoin(steps, ",");
      retired_untold_.clear();
    } else if (status.ok()) {
      payload = TakeRetiredLocked();
    }
  }
  CAIRN_ASSIGN_OR_RETURN(const std::string shared,
                         internal::ShareOutcome(*coordinator_, name, status, payload));
  if (coordinator_->is_primary()) return absl::OkStatus();
  absl::MutexLock lock(&mu_);
  if (!share_listing) {
    ApplyRetiredLocked(shared);
    return absl::OkStatus();
  }
  AdoptListingLocked(ParseSteps(shared));
  return absl::OkStatus();
}

std::string Checkpointer::TakeRetiredLocked() const {
  std::string retired = absl::StrJoin(retired_untold_, ",");
  retired_untold_.clear();
  return retired;
}

void Checkpointer::ApplyRetiredLocked(absl::string_view retired) const {
  for (int64_t step : ParseSteps(retired)) steps_.erase(step);
}

absl::Status Checkpointer::JoinSaveWithFailureLocked(int64_t step, absl::Status failure) {
  ++background_tasks_;
  CheckpointOptions options = StepOptions();
  options.coordinator = save_coordinator_.get();
  saver_->Schedule([this, step, failure, options] {
    // The outcome is this process's own failure (or one before it), reported by the caller.
    internal::JoinSaveWithFailure(StepDir(step), failure, options).IgnoreError();
    absl::MutexLock lock(&mu_);
    --background_tasks_;
  });
  return failure;
}

}  // namespace cairn
