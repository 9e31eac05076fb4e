// What someone at a terminal asks of a root of steps, in one pass: each committed step's size,
// commit time, metrics and leases, which preservation policies would keep it, and what else lies
// in the root (saves in progress or abandoned, directories named like steps that are not).
// `cairn ls` and `cairn prune` print it.
#ifndef CAIRN_MANAGER_STEP_SURVEY_H_
#define CAIRN_MANAGER_STEP_SURVEY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/manager/preservation_policy.h"
#include "cairn/manager/step_info.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/name_format.h"
#include "cairn/steps/step_listing.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// A preservation policy with the name a survey reports it by ("keep-latest 3").
struct NamedPolicy {
  std::string name;
  std::shared_ptr<const PreservationPolicy> policy;
};

struct SurveyOptions {
  std::shared_ptr<const NameFormat> name_format = NameFormat::Plain();
  CommitMode commit_mode = CommitMode::kRename;
  // The policies to judge steps by, as the Checkpointer would: with none, every step is kept.
  std::vector<NamedPolicy> policies;
  // Whether the latest step may go (CheckpointerOptions::allow_deleting_latest).
  bool may_retire_latest = false;
  // Sum each step's file sizes (a walk of its directory).
  bool sizes = true;
  absl::Time now = absl::Now();
  Filesystem* filesystem = nullptr;
};

struct SurveyedStep {
  StepInfo info;  // step, commit time (else the directory's mtime), metrics
  std::string path;
  uint64_t bytes = 0;  // every file below the step's directory, when SurveyOptions::sizes
  std::vector<LeaseInfo> leases;
  bool leased = false;  // a live lease holds it: retention leaves it alone
  bool latest = false;
  // The names of the policies that keep the step; empty with no policies.
  std::vector<std::string> kept_by;
  // Whether retention would delete it: policies were given, none keeps it, it is not the latest
  // (unless that may go) and no live lease holds it.
  bool retire = false;
};

// A directory in the root that a save works in: in progress, replaced, or being deleted.
struct SurveyedTemporary {
  std::string name;
  TemporaryName parsed;
  // Whether its writer runs: known only for writers on this host.
  std::optional<bool> writer_alive;
};

struct RootSurvey {
  std::vector<SurveyedStep> steps;  // ascending
  std::vector<SurveyedTemporary> temporaries;
  std::vector<SkippedStepName> skipped;
};

// Surveys `root`. NotFound if it is missing, FailedPrecondition if it is not a directory.
absl::StatusOr<RootSurvey> SurveyRoot(const std::string& root, const SurveyOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_MANAGER_STEP_SURVEY_H_
