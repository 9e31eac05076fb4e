// DirectoryWatcher: wakes a waiter the moment something changes in the directories it follows,
// through one kernel inotify instance per process, and says where the kernel cannot see changes
// so that the waiter polls there instead.
//
// Events are hints, never data: a waiter learns only that it should look again. Whoever waits
// still reads the directory to know what changed, and still looks again on its own schedule, so
// a lost event (queue overflow, a network filesystem, a watch limit) costs latency, not
// correctness.
#ifndef CAIRN_UTILS_DIRECTORY_WATCHER_H_
#define CAIRN_UTILS_DIRECTORY_WATCHER_H_

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem_kind.h"

namespace cairn {

enum class WatchMode {
  // Kernel notification on filesystems where it sees every change; polling on network, FUSE
  // and pseudo filesystems, where another machine's writes raise no event.
  kAuto,
  // Kernel notification wherever the kernel accepts a watch, network filesystems included: for
  // a network mount written only from this machine.
  kNotify,
  // No notification: waits last until their deadline.
  kPoll,
};

struct DirectoryWatcherOptions {
  // The most inotify watches this watcher holds. The kernel's own limit
  // (fs.inotify.max_user_watches) is shared by every process of the user; past either, the
  // directories that did not get a watch are polled.
  int max_watches = 8192;
};

class DirectoryWatcher {
 public:
  class Subscription;

  // The process's watcher, created on first use and never destroyed. A forked child that calls
  // this gets a watcher of its own; subscriptions made before the fork stay with the parent.
  static DirectoryWatcher& Default();

  explicit DirectoryWatcher(DirectoryWatcherOptions options = {});
  // Every subscription must be destroyed first.
  ~DirectoryWatcher();
  DirectoryWatcher(const DirectoryWatcher&) = delete;
  DirectoryWatcher& operator=(const DirectoryWatcher&) = delete;

  // A new, empty set of followed directories. Thread-safe.
  std::unique_ptr<Subscription> Subscribe(WatchMode mode = WatchMode::kAuto);

  // OK when the kernel gave this watcher an inotify instance; otherwise why not (its instance
  // limit, fs.inotify.max_user_instances, or the process's descriptor limit).
  absl::Status init_status() const { return init_status_; }
  // The inotify watches held now, shared by every subscription.
  int watch_count() const ABSL_LOCKS_EXCLUDED(mu_);

 private:
  struct Interest;
  struct Watch {
    std::string path;
    absl::flat_hash_set<Interest*> interests;
  };

  void ReadLoop();
  void Dispatch(const char* buffer, size_t size) ABSL_LOCKS_EXCLUDED(mu_);
  // The filesystem under a directory (or under its nearest existing ancestor), found without
  // the lock: on a network filesystem that stops answering, statfs blocks, and must not block
  // every other follower in the process with it.
  struct Probe {
    std::string path;
    absl::StatusOr<FilesystemKind> kind = absl::UnknownError("not probed");
  };
  static Probe ProbeFilesystem(const std::string& target);
  // Points `interest` at its directory, or at the nearest existing ancestor while the
  // directory is missing, or marks it polled with the reason. True when that changed what the
  // interest is watching. `probe` is ProbeFilesystem(interest.target), taken just before.
  bool ResolveLocked(Interest& interest, const Probe& probe) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // inotify_add_watch within the cap: the watch descriptor, or -errno.
  int AddWatchLocked(const std::string& path) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void AttachLocked(Interest& interest, int wd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DetachLocked(Interest& interest) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropIfUnusedLocked(int wd) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ReportLocked(const std::string& key, const absl::Status& status)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Status WatchLimitStatusLocked(const std::string& path, bool kernel_limit)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // After fork: the child closes its copies of the parent's descriptors and never touches this
  // object again (its mutex may have been held by a thread that does not exist in the child).
  void AbandonAfterFork();

  friend class Subscription;

  const DirectoryWatcherOptions options_;
  const pid_t owner_pid_;
  int inotify_fd_ = -1;
  int wake_fd_ = -1;
  absl::Status init_status_;

  mutable absl::Mutex mu_;
  absl::CondVar changed_;
  std::thread reader_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<int, Watch> watches_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_set<Subscription*> subscriptions_ ABSL_GUARDED_BY(mu_);
  // Fallback messages already printed, so that a follower polling in a loop prints each once.
  absl::flat_hash_set<std::string> reported_ ABSL_GUARDED_BY(mu_);
};

// One follower's directories. Its methods are thread-safe.
class DirectoryWatcher::Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Follows `dir`: entries created, deleted, renamed in or out, files closed after writing, and
  // the directory itself appearing, disappearing or being replaced. A missing `dir` is waited
  // for through its nearest existing ancestor. Idempotent.
  void Watch(const std::string& dir) ABSL_LOCKS_EXCLUDED(watcher_->mu_);
  void Unwatch(const std::string& dir) ABSL_LOCKS_EXCLUDED(watcher_->mu_);

  // Grows with every change seen in a followed directory, and whenever a watch moves (a missing
  // directory appeared, a followed one was replaced). Read it before looking at the
  // directories, then wait with it: nothing that happens in between is missed.
  uint64_t sequence() const ABSL_LOCKS_EXCLUDED(watcher_->mu_);
  // Waits until sequence() exceeds `seen` or `deadline` passes, and returns sequence(). Watches
  // of directories that were missing or replaced are re-established first.
  uint64_t WaitForChange(uint64_t seen, absl::Time deadline) ABSL_LOCKS_EXCLUDED(watcher_->mu_);

  // OK when every followed directory has its own watch; otherwise why one does not (waiting
  // for it to be created is OK too): Unavailable for a network filesystem, ResourceExhausted for
  // a watch or instance limit, Cancelled when polling was chosen, or the kernel's error.
  absl::Status notification_status() const ABSL_LOCKS_EXCLUDED(watcher_->mu_);

 private:
  friend class DirectoryWatcher;
  Subscription(DirectoryWatcher* watcher, WatchMode mode);

  DirectoryWatcher* const watcher_;
  const WatchMode mode_;
  uint64_t sequence_ ABSL_GUARDED_BY(watcher_->mu_) = 0;
  absl::flat_hash_map<std::string, std::unique_ptr<Interest>> interests_
      ABSL_GUARDED_BY(watcher_->mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_DIRECTORY_WATCHER_H_
