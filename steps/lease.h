// Step leases (LOCKED): a reader marks the step it reads so that retention leaves it alone.
//
// Each lease is its own file in the step's LOCKED directory, named for its holder, so several
// readers can hold one step and each releases only its own. A lease records its holder (host,
// pid, process start time) and an expiry; it is stale, and ignored, once its holder is provably
// gone (same host, that process no longer running) or its expiry has passed.
#ifndef CAIRN_STEPS_LEASE_H_
#define CAIRN_STEPS_LEASE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

inline constexpr char kLockedDirName[] = "LOCKED";

struct LeaseOptions {
  // After this the lease is stale even if its holder lives; renew by taking a new lease.
  absl::Duration ttl = absl::Hours(24);
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

  // Removes the lease file (and LOCKED, when it was the last). Idempotent.
  absl::Status Release();

  bool held() const { return fs_ != nullptr; }
  const std::string& step_dir() const { return step_dir_; }

 private:
  friend absl::StatusOr<StepLease> AcquireLease(const std::string&, const LeaseOptions&);
  Filesystem* fs_ = nullptr;
  std::string step_dir_;
  std::string lease_path_;
};

// Leases the step at `step_dir`. NotFound if the step is gone (a reader should skip it).
absl::StatusOr<StepLease> AcquireLease(const std::string& step_dir,
                                       const LeaseOptions& options = LeaseOptions());

// Whether any live lease holds the step. A lease file that cannot be parsed counts as live
// until its modification time is older than `corrupt_lease_ttl`: retention errs on keeping.
absl::StatusOr<bool> IsLocked(const std::string& step_dir, Filesystem* filesystem = nullptr,
                              absl::Duration corrupt_lease_ttl = absl::Hours(24));

// Removes every lease of every step under `root` (Orbax's unlock_existing_checkpoints).
absl::Status UnlockExistingCheckpoints(const std::string& root,
                                       const StepListingOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_STEPS_LEASE_H_
