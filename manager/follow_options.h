// Options shared by the followers of a training run, WaitForNewCheckpoint and
// CheckpointsIterator, which wait for steps to be committed under a root directory.
//
// The waits mirror Orbax's checkpoint_utils with durations for its seconds: `poll_interval` is
// seconds_to_sleep, `timeout` and `timeout_fn` are timeout and timeout_fn, `name_format` is
// step_name_format (step_prefix and step_format_fixed_length are NameFormat::Prefixed and
// NameFormat::FixedLength).
#ifndef CAIRN_MANAGER_FOLLOW_OPTIONS_H_
#define CAIRN_MANAGER_FOLLOW_OPTIONS_H_

#include <functional>
#include <memory>
#include <optional>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"
#include "cairn/utils/coordinator.h"
#include "cairn/utils/directory_watcher.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

struct FollowOptions {
  // How step directories are named, and how they become committed; as the writer saves them.
  std::shared_ptr<const NameFormat> name_format = NameFormat::Plain();
  CommitMode commit_mode = CommitMode::kRename;

  // The root is read again at least this often, even without a notification: the only way to
  // see steps written by another machine on a network filesystem, and the backstop elsewhere.
  absl::Duration poll_interval = absl::Seconds(1);
  // How long to wait for a step before giving up; unset waits for ever. Unlike Orbax, which
  // checks the time only between sleeps, the wait ends at the timeout itself.
  std::optional<absl::Duration> timeout;
  // Called when the timeout passes: true means no more steps will come and the wait ends;
  // false waits again, with a fresh timeout. Without it the wait ends at the timeout.
  std::function<bool()> timeout_fn;

  // Kernel notification (inotify) where it sees every change, polling elsewhere; or force one.
  WatchMode watch_mode = WatchMode::kAuto;
  // The watcher to use; nullptr means the process's (DirectoryWatcher::Default()).
  DirectoryWatcher* watcher = nullptr;

  // The lease taken on each step handed out: how long it lasts if never released.
  absl::Duration lease_ttl = absl::Hours(24);
  Filesystem* filesystem = nullptr;  // default: Filesystem::Default()

  // An evaluator job of several processes (docs/MPI.md): every process calls the wait (or
  // Next) together, with its own coordinator over the same group; null for this process alone.
  // The primary waits and lists as a lone follower does and tells the others each step, so
  // every process evaluates the same one; each process then holds a lease of its own on it.
  // The timeout and timeout_fn are the primary's: it decides for all when the waiting ends.
  Coordinator* coordinator = nullptr;
  // With a coordinator: how often the primary, while it waits, tells the others it still is.
  // Must be shorter than the coordinator's deadline, or the others give up on it.
  absl::Duration coordination_interval = absl::Seconds(10);
};

// Checks the options: InvalidArgument naming the field that is wrong.
absl::Status ValidateFollowOptions(const FollowOptions& options);

}  // namespace cairn

#endif  // CAIRN_MANAGER_FOLLOW_OPTIONS_H_
