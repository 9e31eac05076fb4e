// Step leases (LOCKED): a reader marks the step it reads so that retention leaves it alone.
//
// Each lease is its own file in the step's LOCKED directory, named for its holder, so several
// readers can hold one step and each releases only its own. A lease records its holder (host,
// pid, process start time) and an expiry; it is stale, and ignored, once its holder is provably
// gone (same host, that process no longer running) or its expiry has passed.
//
// Leasing and deleting a step follow one protocol (steps/step_deletion.h): a reader writes its
// lease, then looks for retention's intent to delete; retention writes its intent, then looks for
// leases. Whatever the interleaving, one of them sees the other, so a reader never holds a lease
// on a step that is deleted, and retention never deletes a step a reader holds.
#ifndef CAIRN_STEPS_LEASE_H_
#define CAIRN_STEPS_LEASE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

inline constexpr char kLockedDirName[] = "LOCKED";
// Retention's intent to delete the step while it decides: an empty file in the step directory
// named "_DELETING.<record>" (steps/internal/holder_record.h), which needs no data blocks, so
// that a full disk can still be freed. Earlier versions wrote LOCKED/_DELETING holding JSON;
// readers still honour it. Not a lease.
inline constexpr char kDeletionIntentName[] = "_DELETING";
// Leases are empty files in LOCKED named "lease.<record>".
inline constexpr char kLeaseRecordKind[] = "lease";

struct LeaseOptions {
  // After this the lease is stale even if its holder lives; renew by taking a new lease.
  absl::Duration ttl = absl::Hours(24);
  // How long to wait for a retention pass that is deciding whether to delete the step (it
  // normally takes milliseconds) before giving up on the step.
  absl::Duration deletion_wait = absl::Seconds(5);
  // How the root's steps are committed. In commit-file mode only a step with its marker can be
  // leased: one without is being written, or being deleted.
  CommitMode commit_mode = CommitMode::kRename;
  Filesystem* filesystem = nullptr;
};

// A held lease; releases it when destroyed. Move-only.
class StepLease {
 public:
  StepLease() = default;
  StepLease(StepLease&& other) noexcept;
  StepLease& operator=(StepLease&& other) noexcept;
  StepLease(const StepLease&) = delete;
  StepLease& operator=(const StepLease&) = delete;
  ~StepLease();

  // Removes the lease file (and LOCKED, when it was the last). Idempotent. When the file cannot
  // be removed the lease stays held, and a later call (or the destructor) tries again.
  absl::Status Release();

  bool held() const { return fs_ != nullptr; }
  const std::string& step_dir() const { return step_dir_; }

 private:
  friend absl::StatusOr<StepLease> AcquireLease(const std::string&, const LeaseOptions&);
  Filesystem* fs_ = nullptr;
  std::string step_dir_;
  std::string lease_path_;
};

// Leases the step at `step_dir`. NotFound if the step is gone, being deleted or (commit-file
// mode) not committed: a reader should skip it. FailedPrecondition if `step_dir` is not a
// directory.
absl::StatusOr<StepLease> AcquireLease(const std::string& step_dir,
                                       const LeaseOptions& options = LeaseOptions());

// Whether any live lease holds the step. A lease file that cannot be parsed counts as live
// until its modification time is older than `corrupt_lease_ttl`: retention errs on keeping.
// A missing step is not locked.
absl::StatusOr<bool> IsLocked(const std::string& step_dir, Filesystem* filesystem = nullptr,
                              absl::Duration corrupt_lease_ttl = absl::Hours(24));

// One lease file of a step, as its record describes its holder; fields the record lacks (a
// damaged file, an earlier version's) are unset.
struct LeaseInfo {
  std::string file_name;  // in the step's LOCKED directory
  std::optional<std::string> host;
  std::optional<int64_t> pid;
  std::optional<absl::Time> acquired;
  std::optional<absl::Time> expires;
  bool live = false;  // false: stale, and ignored by retention
};

// The lease files of the step at `step_dir`, live and stale, by file name. An unparseable lease
// counts as live as IsLocked counts it. Empty when the step has no LOCKED directory.
absl::StatusOr<std::vector<LeaseInfo>> ListLeases(
    const std::string& step_dir, Filesystem* filesystem = nullptr,
    absl::Duration corrupt_lease_ttl = absl::Hours(24));

// Removes every lease of every step under `root` (Orbax's unlock_existing_checkpoints).
absl::Status UnlockExistingCheckpoints(const std::string& root,
                                       const StepListingOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_STEPS_LEASE_H_
