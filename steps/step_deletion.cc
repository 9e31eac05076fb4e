#include "cairn/steps/step_deletion.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/steps/internal/holder_record.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// The intent only needs to outlive one decision; a holder that died is recognised sooner.
constexpr absl::Duration kIntentTtl = absl::Minutes(10);
// A reader that leased just before the step became invisible may still be adding its files;
// deleting again gets past it.
constexpr int kDeleteAttempts = 3;

class StepDeleter {
 public:
  StepDeleter(const std::string& step_dir, const StepDeletionOptions& options)
      : step_dir_(step_dir),
        parent_(ParentPath(step_dir)),
        intent_(JoinPath(step_dir, internal::MakeHolderRecordName(kDeletionIntentName, absl::Now(),
                                                                  kIntentTtl))),
        options_(options),
        fs_(options.filesystem ? *options.filesystem : *Filesystem::Default()) {}

  absl::StatusOr<StepDeletion> Run() {
    absl::StatusOr<FileInfo> info = fs_.Stat(step_dir_);
    if (absl::IsNotFound(info.status())) return StepDeletion::kAbsent;
    CAIRN_RETURN_IF_ERROR(info.status());
    if (!info->is_directory()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot delete step ", step_dir_, ": it is not a directory"));
    }
    // Cheap first look: most leased steps are recognised without writing anything.
    CAIRN_ASSIGN_OR_RETURN(bool locked, IsLocked(step_dir_, &fs_, options_.corrupt_lease_ttl));
    if (locked) return StepDeletion::kLeased;

    // Declare the intent, then look again: a lease written before the intent is seen now, and a
    // reader arriving later sees the intent and waits for the outcome. The intent is an empty
    // file in the step itself, so that declaring it takes no data block: a full disk, which
    // deletion exists to relieve, does not stop it.
    absl::Status declared = internal::CreateHolderRecord(fs_, intent_);
    if (!declared.ok()) {
      Withdraw();
      if (absl::IsNotFound(declared)) return StepDeletion::kAbsent;
      return declared;
    }
    absl::StatusOr<bool> leased = IsLocked(step_dir_, &fs_, options_.corrupt_lease_ttl);
    if (!leased.ok() || *leased) {
      Withdraw();
      if (!leased.ok()) return leased.status();
      return StepDeletion::kLeased;
    }
    absl::Status hidden = options_.commit_mode == CommitMode::kRename ? MoveAside() : Uncommit();
    if (!hidden.ok()) {
      Withdraw();
      return hidden;
    }
    if (!options_.move_to.empty()) {
      CAIRN_RETURN_IF_ERROR(MoveTo());
      return StepDeletion::kMoved;
    }
    CAIRN_RETURN_IF_ERROR(DeleteHidden());
    return StepDeletion::kDeleted;
  }

 private:
  void Withdraw() { fs_.DeleteFile(intent_).IgnoreError(); }

  // Rename mode: the step leaves its name in one rename, made durable before anything inside it
  // is deleted, so a crash cannot bring back a half-deleted step under its name.
  absl::Status MoveAside() {
    hidden_ = JoinPath(parent_, MakeTemporaryName(BaseName(step_dir_), TemporaryKind::kDeleting));
    CAIRN_RETURN_IF_ERROR(fs_.Rename(step_dir_, hidden_));
    absl::Status synced = fs_.SyncDir(parent_);
    if (!synced.ok()) {
      fs_.Rename(hidden_, step_dir_).IgnoreError();
      return synced;
    }
    return absl::OkStatus();
  }

  // Commit-file mode: withdraw the marker durably; the directory then no longer counts as a
  // checkpoint, whatever is left of it.
  absl::Status Uncommit() {
    hidden_ = step_dir_;
    absl::Status removed = fs_.DeleteFile(JoinPath(step_dir_, kCommitMarkerFileName));
    if (!removed.ok() && !absl::IsNotFound(removed)) return removed;
    return fs_.SyncDir(step_dir_);
  }

  absl::Status DeleteHidden() {
    absl::Status status;
    for (int attempt = 0; attempt < kDeleteAttempts; ++attempt) {
      status = DeleteRecursively(fs_, hidden_);
      if (status.ok() || absl::IsNotFound(status)) return absl::OkStatus();
    }
    return Annotate(status, absl::StrCat("deleting step ", step_dir_));
  }

  absl::Status MoveTo() {
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs_, options_.move_to, /*sync=*/true));
    const std::string target = JoinPath(options_.move_to, BaseName(step_dir_));
    CAIRN_ASSIGN_OR_RETURN(const bool occupied, PathExists(fs_, target));
    if (occupied) CAIRN_RETURN_IF_ERROR(DeleteRecursively(fs_, target));
    CAIRN_RETURN_IF_ERROR(fs_.Rename(hidden_, target));
    // The moved step keeps no trace of the decision.
    fs_.DeleteFile(JoinPath(target, BaseName(intent_))).IgnoreError();
    CAIRN_RETURN_IF_ERROR(fs_.SyncDir(options_.move_to));
    return fs_.SyncDir(parent_);
  }

  const std::string step_dir_;
  const std::string parent_;
  const std::string intent_;
  const StepDeletionOptions& options_;
  Filesystem& fs_;
  std::string hidden_;
};

}  // namespace

absl::StatusOr<StepDeletion> DeleteStepUnlessLeased(const std::string& named_step_dir,
                                                    const StepDeletionOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string step_dir, ResolveAbove(fs, named_step_dir));
  return StepDeleter(step_dir, options).Run();
}

}  // namespace cairn
