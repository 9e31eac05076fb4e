#include "cairn/steps/lease.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/internal/holder_record.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

using internal::HolderState;

absl::Status StepGone(const std::string& step_dir, absl::string_view why) {
  return absl::NotFoundError(absl::StrCat("cannot lease ", step_dir, ": ", why));
}

// Whether a retention pass is deciding to delete the step: a live intent in the step
// directory, or an earlier version's in LOCKED.
absl::StatusOr<bool> DeletionBeingDecided(Filesystem& fs, const std::string& step_dir,
                                          absl::Time now, absl::Duration unparseable_ttl) {
  // NotFound when the step has gone: it was moved aside since the caller last looked.
  CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> names, fs.ListDir(step_dir));
  for (const std::string& name : names) {
    if (!internal::IsHolderRecordOf(kDeletionIntentName, name)) continue;
    CAIRN_ASSIGN_OR_RETURN(const HolderState state,
                           internal::ReadHolderState(fs, step_dir, name, now, unparseable_ttl));
    if (state == HolderState::kLive) return true;
  }
  CAIRN_ASSIGN_OR_RETURN(const HolderState legacy,
                         internal::ReadHolderState(fs, JoinPath(step_dir, kLockedDirName),
                                                   kDeletionIntentName, now, unparseable_ttl));
  return legacy == HolderState::kLive;
}

// After the lease is written: makes sure no retention pass is deleting the step. A pass that
// declared its intent before our lease landed may not have seen the lease, so wait for its
// outcome: it either sees the lease and withdraws, or makes the step disappear.
absl::Status AwaitNoDeletion(Filesystem& fs, const std::string& step_dir,
                             const std::string& lease_path, bool was_committed,
                             const LeaseOptions& options) {
  const std::string marker = JoinPath(step_dir, kCommitMarkerFileName);
  const absl::Time deadline = absl::Now() + options.deletion_wait;
  absl::Duration pause = absl::Microseconds(200);
  while (true) {
    // A step moved aside takes our lease with it; a withdrawn marker means deletion has begun.
    CAIRN_ASSIGN_OR_RETURN(const bool leased, PathExists(fs, lease_path));
    if (!leased) return StepGone(step_dir, "it was deleted while the lease was taken");
    if (was_committed) {
      CAIRN_ASSIGN_OR_RETURN(const bool committed, PathExists(fs, marker));
      if (!committed) return StepGone(step_dir, "it is being deleted");
    }
    const absl::Time now = absl::Now();
    absl::StatusOr<bool> deciding = DeletionBeingDecided(fs, step_dir, now, options.deletion_wait);
    if (absl::IsNotFound(deciding.status())) {
      return StepGone(step_dir, "it was deleted while the lease was taken");
    }
    CAIRN_RETURN_IF_ERROR(deciding.status());
    if (!*deciding) {
      // A pass that declared its intent, missed our lease and moved the step aside between the
      // look at the lease above and the look for intents just now left no intent to see: the
      // lease itself tells.
      CAIRN_ASSIGN_OR_RETURN(const bool still_leased, PathExists(fs, lease_path));
      if (!still_leased) return StepGone(step_dir, "it was deleted while the lease was taken");
      return absl::OkStatus();
    }
    if (now >= deadline) {
      return StepGone(step_dir, absl::StrCat("a retention pass has been deleting it for over ",
                                             absl::FormatDuration(options.deletion_wait)));
    }
    // Retention decides within milliseconds; a short bounded backoff keeps this cheap.
    absl::SleepFor(std::min(pause, deadline - now));
    pause = std::min(pause * 2, absl::Milliseconds(20));
  }
}

}  // namespace

StepLease::StepLease(StepLease&& other) noexcept
    : fs_(other.fs_),
      step_dir_(std::move(other.step_dir_)),
      lease_path_(std::move(other.lease_path_)) {
  other.fs_ = nullptr;
}

StepLease& StepLease::operator=(StepLease&& other) noexcept {
  if (this != &other) {
    Release().IgnoreError();
    fs_ = other.fs_;
    step_dir_ = std::move(other.step_dir_);
    lease_path_ = std::move(other.lease_path_);
    other.fs_ = nullptr;
  }
  return *this;
}

StepLease::~StepLease() { Release().IgnoreError(); }

absl::Status StepLease::Release() {
  if (fs_ == nullptr) return absl::OkStatus();
  absl::Status status = fs_->DeleteFile(lease_path_);
  // The step may have been deleted by hand; nothing is left to release then.
  if (absl::IsNotFound(status)) status = absl::OkStatus();
  // A lease that could not be removed is still held, by a live process, and would pin the step
  // until it expires: the handle keeps it so that a later Release (or the destructor) retries.
  if (!status.ok()) return status;
  // Removing LOCKED fails while other leases remain, which is what should happen.
  fs_->DeleteDir(JoinPath(step_dir_, kLockedDirName)).IgnoreError();
  fs_ = nullptr;
  return status;
}

absl::StatusOr<StepLease> AcquireLease(const std::string& named_step_dir,
                                       const LeaseOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string step_dir, ResolveAbove(fs, named_step_dir));
  absl::StatusOr<FileInfo> info = fs.Stat(step_dir);
  if (absl::IsNotFound(info.status())) return StepGone(step_dir, "it does not exist");
  CAIRN_RETURN_IF_ERROR(info.status());
  if (!info->is_directory()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lease ", step_dir, ": not a directory"));
  }
  CAIRN_ASSIGN_OR_RETURN(const bool committed,
                         PathExists(fs, JoinPath(step_dir, kCommitMarkerFileName)));
  // Retention in commit-file mode withdraws the marker before it deletes: a step without one
  // may be half deleted already, with its intent gone with it.
  if (!committed && options.commit_mode == CommitMode::kCommitFile) {
    return StepGone(step_dir, absl::StrCat("it is not committed (no ", kCommitMarkerFileName, ")"));
  }
  CAIRN_RETURN_IF_ERROR(internal::CheckLockedDir(fs, step_dir));
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  const std::string name =
      internal::MakeHolderRecordName(kLeaseRecordKind, absl::Now(), options.ttl);
  const std::string path = JoinPath(locked, name);
  absl::Status written = internal::WriteHolderRecord(fs, step_dir, name);
  if (!written.ok()) {
    fs.DeleteFile(path).IgnoreError();
    fs.DeleteDir(locked).IgnoreError();
    if (absl::IsNotFound(written)) return StepGone(step_dir, "it was deleted");
    return written;
  }
  StepLease held;
  held.fs_ = &fs;
  held.step_dir_ = step_dir;
  held.lease_path_ = path;
  // On failure `held` releases the lease as it goes out of scope.
  CAIRN_RETURN_IF_ERROR(AwaitNoDeletion(fs, step_dir, path, committed, options));
  return held;
}

absl::StatusOr<bool> IsLocked(const std::string& named_step_dir, Filesystem* filesystem,
                              absl::Duration corrupt_lease_ttl) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string step_dir, ResolveAbove(fs, named_step_dir));
  CAIRN_RETURN_IF_ERROR(internal::CheckLockedDir(fs, step_dir));
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(locked);
  if (absl::IsNotFound(names.status())) return false;
  CAIRN_RETURN_IF_ERROR(names.status());
  const absl::Time now = absl::Now();
  for (const std::string& name : *names) {
    if (name == kDeletionIntentName) continue;  // an earlier version's, not a lease
    CAIRN_ASSIGN_OR_RETURN(const internal::HolderState state,
                           internal::ReadHolderState(fs, locked, name, now, corrupt_lease_ttl));
    if (state == internal::HolderState::kLive) return true;
  }
  return false;
}

absl::StatusOr<std::vector<LeaseInfo>> ListLeases(const std::string& named_step_dir,
                                                  Filesystem* filesystem,
                                                  absl::Duration corrupt_lease_ttl) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string step_dir, ResolveAbove(fs, named_step_dir));
  CAIRN_RETURN_IF_ERROR(internal::CheckLockedDir(fs, step_dir));
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(locked);
  std::vector<LeaseInfo> leases;
  if (absl::IsNotFound(names.status())) return leases;
  CAIRN_RETURN_IF_ERROR(names.status());
  std::sort(names->begin(), names->end());
  const absl::Time now = absl::Now();
  for (const std::string& name : *names) {
    if (name == kDeletionIntentName) continue;  // an earlier version's, not a lease
    CAIRN_ASSIGN_OR_RETURN(
        internal::HolderRecordInfo record,
        internal::DescribeHolderRecord(fs, locked, name, now, corrupt_lease_ttl));
    if (record.state == internal::HolderState::kAbsent) continue;  // released meanwhile
    LeaseInfo lease;
    lease.file_name = name;
    lease.host = std::move(record.host);
    lease.pid = record.pid;
    lease.acquired = record.acquired;
    lease.expires = record.expires;
    lease.live = record.state == internal::HolderState::kLive;
    leases.push_back(std::move(lease));
  }
  return leases;
}

absl::Status UnlockExistingCheckpoints(const std::string& named_root,
                                       const StepListingOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string root, ResolveRoot(fs, named_root));
  CAIRN_ASSIGN_OR_RETURN(const std::vector<int64_t> steps, ListSteps(root, options));
  for (int64_t step : steps) {
    const std::string locked = JoinPath(StepPath(root, step, *options.name_format), kLockedDirName);
    absl::Status status = DeleteRecursively(fs, locked);
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  return absl::OkStatus();
}

}  // namespace cairn
