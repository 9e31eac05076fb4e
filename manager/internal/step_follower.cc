#include "cairn/manager/internal/step_follower.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {
namespace {

// A listing error other than "the root does not exist yet" ends the wait: waiting longer would
// not make a file a directory or grant a permission, and a follower that hangs hides the cause.
absl::Status RootError(const std::string& root, const absl::Status& status) {
  if (absl::IsFailedPrecondition(status)) {
    return absl::FailedPreconditionError(absl::StrCat(
        status.message(), "; a follower needs the run's root directory, where steps are saved"));
  }
  if (absl::IsPermissionDenied(status)) {
    return absl::PermissionDeniedError(
        absl::StrCat("cannot read checkpoint root ", root, " (", status.message(),
                     "); a follower needs read and search permission on it"));
  }
  return Annotate(status, absl::StrCat("cannot list checkpoint root ", root));
}

}  // namespace

StepFollower::StepFollower(std::string root, const FollowOptions& options)
    : root_(std::move(root)), options_(options) {
  listing_.name_format = options_.name_format;
  listing_.commit_mode = options_.commit_mode;
  listing_.filesystem = options_.filesystem;
  listing_.skipped = &skipped_;
}

absl::StatusOr<std::unique_ptr<StepFollower>> StepFollower::Create(const std::string& named_root,
                                                                   const FollowOptions& options) {
  if (named_root.empty()) {
    return absl::InvalidArgumentError("the checkpoint root to follow is empty");
  }
  CAIRN_RETURN_IF_ERROR(ValidateFollowOptions(options));
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  // A root that cannot be resolved yet (not readable, say) is followed as named: the listing
  // that follows meets the same error and reports it where a follower reports every other.
  const std::string root = ResolveRoot(fs, named_root).value_or(named_root);
  std::unique_ptr<StepFollower> follower(new StepFollower(root, options));
  DirectoryWatcher& watcher = options.watcher ? *options.watcher : DirectoryWatcher::Default();
  follower->subscription_ = watcher.Subscribe(options.watch_mode);
  follower->subscription_->Watch(root);
  return follower;
}

bool StepFollower::WatchUncommitted(int64_t min_step, const std::vector<int64_t>& committed) {
  Filesystem& fs = options_.filesystem ? *options_.filesystem : *Filesystem::Default();
  absl::StatusOr<std::vector<DirEntry>> entries = fs.ListDirEntries(root_);
  if (!entries.ok()) return false;
  std::set<std::string> wanted;
  for (const DirEntry& entry : *entries) {
    if (entry.type != FileInfo::Type::kDirectory) continue;
    const std::optional<int64_t> step = options_.name_format->Parse(entry.name);
    if (!step || *step < min_step) continue;
    if (std::binary_search(committed.begin(), committed.end(), *step)) continue;
    wanted.insert(JoinPath(root_, entry.name));
  }
  for (const std::string& dir : watched_steps_) {
    if (wanted.count(dir) == 0) subscription_->Unwatch(dir);
  }
  bool added = false;
  for (const std::string& dir : wanted) {
    if (watched_steps_.count(dir) != 0) continue;
    subscription_->Watch(dir);
    added = true;
  }
  watched_steps_ = std::move(wanted);
  return added;
}

absl::StatusOr<LeasedStep> StepFollower::Await(int64_t min_step, StepOrder order,
                                               absl::Time deadline) {
  for (;;) {
    // Read before listing: a change after this point wakes the wait below.
    const uint64_t seen = subscription_->sequence();
    std::vector<int64_t> steps;
    skipped_.clear();
    absl::StatusOr<std::vector<int64_t>> listed = ListSteps(root_, listing_);
    for (const SkippedStepName& skipped : skipped_) {
      if (reported_skips_.insert(skipped.name).second) {
        std::fprintf(stderr, "cairn: %s\n", skipped.reason.c_str());
      }
    }
    if (listed.ok()) {
      steps = *std::move(listed);
    } else if (!absl::IsNotFound(listed.status())) {
      return RootError(root_, listed.status());
    }
    bool look_again = false;
    if (listed.ok() && options_.commit_mode == CommitMode::kCommitFile &&
        options_.watch_mode != WatchMode::kPoll) {
      look_again = WatchUncommitted(min_step, steps);
    }

    std::vector<int64_t> candidates(std::lower_bound(steps.begin(), steps.end(), min_step),
                                    steps.end());
    if (order == StepOrder::kNewestFirst) std::reverse(candidates.begin(), candidates.end());
    for (const int64_t step : candidates) {
      CAIRN_ASSIGN_OR_RETURN(std::optional<LeasedStep> leased, TryLease(step));
      if (leased) return *std::move(leased);
    }
    if (look_again) continue;

    const absl::Time now = absl::Now();
    if (now >= deadline) return LeasedStep();
    subscription_->WaitForChange(seen, std::min(deadline, now + options_.poll_interval));
  }
}

absl::StatusOr<std::optional<LeasedStep>> StepFollower::TryLease(int64_t step) {
  Filesystem* fs = options_.filesystem ? options_.filesystem : Filesystem::Default();
  LeaseOptions lease_options;
  lease_options.ttl = options_.lease_ttl;
  lease_options.commit_mode = options_.commit_mode;
  lease_options.filesystem = fs;
  const std::string path = StepPath(root_, step, *options_.name_format);
  absl::StatusOr<StepLease> lease = AcquireLease(path, lease_options);
  if (!lease.ok()) {
    // Deleted (or being deleted by retention) since it was listed.
    if (absl::IsNotFound(lease.status())) return std::nullopt;
    absl::StatusOr<bool> still = IsCommittedCheckpoint(path, options_.commit_mode, fs);
    if (still.ok() && !*still) return std::nullopt;
    return Annotate(lease.status(),
                    absl::StrCat("cannot lease step ", step, " at ", path,
                                 " (a follower leases each step it hands out so that "
                                 "retention keeps it): check the permissions of the step "
                                 "directory and of its ",
                                 kLockedDirName, " entry"));
  }
  // The lease now keeps retention away; make sure the step did not go (or get withdrawn for an
  // overwrite in commit-file mode) between the listing and the lease.
  absl::StatusOr<bool> committed = IsCommittedCheckpoint(path, options_.commit_mode, fs);
  if (!committed.ok() || !*committed) {
    lease->Release().IgnoreError();
    return std::nullopt;
  }
  return LeasedStep(step, path, *std::move(lease));
}

absl::StatusOr<LeasedStep> StepFollower::AwaitWithTimeout(int64_t min_step, StepOrder order) {
  for (;;) {
    const absl::Time deadline =
        options_.timeout ? absl::Now() + *options_.timeout : absl::InfiniteFuture();
    CAIRN_ASSIGN_OR_RETURN(LeasedStep step, Await(min_step, order, deadline));
    if (step.found() || !options_.timeout) return step;
    if (!options_.timeout_fn || options_.timeout_fn()) return LeasedStep();
  }
}

}  // namespace cairn::internal
