// Deleting a committed step without racing the readers that lease it (steps/lease.h).
//
// Retention declares its intent in the step (an empty file whose name is the record, so that a
// full disk does not stop it), then looks for live leases: if one is there the step is kept (and
// the intent withdrawn); otherwise the step is first made invisible (renamed aside, or its
// commit marker withdrawn durably) and only then deleted, so a crash midway never leaves a
// half-deleted directory that looks like a checkpoint.
#ifndef CAIRN_STEPS_STEP_DELETION_H_
#define CAIRN_STEPS_STEP_DELETION_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

enum class StepDeletion {
  kDeleted,  // the step is gone
  kMoved,    // the step was moved into StepDeletionOptions::move_to
  kLeased,   // a live lease holds the step; it was left untouched
  kAbsent,   // there was no step to delete
};

struct StepDeletionOptions {
  // How the root's steps are committed: rename mode moves the step aside before deleting it;
  // commit-file mode (where a rename copies) withdraws the marker instead.
  CommitMode commit_mode = CommitMode::kRename;
  // When non-empty, the step is moved into this directory (created when missing) instead of
  // being deleted, as Orbax's todelete_subdir does. A step of the same name already there is
  // replaced.
  std::string move_to;
  // A lease file that cannot be parsed keeps the step until it is this old.
  absl::Duration corrupt_lease_ttl = absl::Hours(24);
  Filesystem* filesystem = nullptr;
};

// Deletes (or moves) the step at `step_dir` unless a live lease holds it.
absl::StatusOr<StepDeletion> DeleteStepUnlessLeased(
    const std::string& step_dir, const StepDeletionOptions& options = StepDeletionOptions());

}  // namespace cairn

#endif  // CAIRN_STEPS_STEP_DELETION_H_
