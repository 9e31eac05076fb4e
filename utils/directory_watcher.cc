// The event loop uses the kernel's inotify API directly, not libinotifytools: that library
// waits in select(2) with a timeout in whole seconds on a descriptor it keeps to itself, so a
// waiting reader can be woken neither for shutdown nor for a new subscription, cannot wait for
// less than a second, and would overflow select's fd_set in a process holding more than 1024
// descriptors. It also keeps every watch and its returned event in process-global statics.
// libinotifytools still reads the kernel's limits for the fallback messages, under mu_ because
// it records errors in a global.
#include "cairn/utils/directory_watcher.h"

#include <errno.h>
#include <inotifytools/inotifytools.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem_kind.h"

namespace cairn {
namespace {

// Everything that changes which entries a directory holds, or whether it is still there. Not
// IN_MODIFY: a save writing a large file would wake every follower once per write.
constexpr uint32_t kWatchMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO |
                                IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                IN_EXCL_UNLINK;
// After one of these the watch no longer stands for the directory at its path.
constexpr uint32_t kWatchGoneMask = IN_IGNORED | IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT;

constexpr size_t kMaxReportedMessages = 256;

std::atomic<DirectoryWatcher*> g_default{nullptr};

// An absolute path without "." or "..", and without a trailing slash unless it is "/".
std::string NormalizePath(const std::string& path) {
  std::error_code error;
  std::filesystem::path absolute = std::filesystem::absolute(path, error);
  if (error) absolute = std::filesystem::path(path);
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  return normal.empty() ? "/" : normal;
}

std::string ParentOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return "/";
  return path.substr(0, slash);
}

// The path one component below `ancestor` on the way to `target`.
std::string ChildToward(const std::string& ancestor, const std::string& target) {
  const size_t start = ancestor == "/" ? 1 : ancestor.size() + 1;
  const size_t slash = target.find('/', start);
  return slash == std::string::npos ? target : target.substr(0, slash);
}

bool MeansMissing(int error) { return error == ENOENT || error == ENOTDIR; }

}  // namespace

struct DirectoryWatcher::Interest {
  Subscription* owner = nullptr;
  std::string target;
  // The watch it hangs on (-1: none) and the path that watch is for: `target`, or its nearest
  // existing ancestor while `target` is missing.
  int wd = -1;
  std::string watched;
  // Why `target` is not covered by notification; OK when it is.
  absl::Status polled;
  // The watch went away (directory deleted, moved, unmounted): resolve again before waiting.
  bool stale = true;

  bool direct() const { return wd >= 0 && watched == target && !stale; }
};

DirectoryWatcher& DirectoryWatcher::Default() {
  for (;;) {
    DirectoryWatcher* current = g_default.load(std::memory_order_acquire);
    if (current != nullptr && current->owner_pid_ == ::getpid()) return *current;
    auto* fresh = new DirectoryWatcher();
    if (g_default.compare_exchange_strong(current, fresh, std::memory_order_acq_rel)) {
      // The parent's watcher, inherited through fork: its reader thread does not exist here.
      // It is left allocated, since a thread of the parent may have held its mutex.
      if (current != nullptr) current->AbandonAfterFork();
      return *fresh;
    }
    delete fresh;
  }
}

DirectoryWatcher::DirectoryWatcher(DirectoryWatcherOptions options)
    : options_(options), owner_pid_(::getpid()) {
  inotify_fd_ = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (inotify_fd_ < 0) {
    const int error = errno;
    const int instances = inotifytools_get_max_user_instances();
    init_status_ = absl::ResourceExhaustedError(absl::StrCat(
        "cannot create an inotify instance (", std::strerror(error),
        error == EMFILE ? absl::StrCat("; the limit fs.inotify.max_user_instances",
                                       instances > 0 ? absl::StrCat("=", instances) : "",
                                       " or this process's open-file limit is reached")
                        : "",
        "): directories are followed by polling. Raise the limit with sysctl "
        "fs.inotify.max_user_instances=<n>, or close other inotify users"));
    return;
  }
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) {
    init_status_ = absl::ErrnoToStatus(
        errno, "cannot create the watcher's wake-up eventfd; directories are followed by polling");
    ::close(inotify_fd_);
    inotify_fd_ = -1;
    return;
  }
}

DirectoryWatcher::~DirectoryWatcher() {
  std::thread reader;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    reader = std::move(reader_);
  }
  if (reader.joinable()) {
    const uint64_t one = 1;
    while (::write(wake_fd_, &one, sizeof(one)) < 0 && errno == EINTR) {
    }
    reader.join();
  }
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

void DirectoryWatcher::AbandonAfterFork() {
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (inotify_fd_ >= 0) ::close(inotify_fd_);
}

std::unique_ptr<DirectoryWatcher::Subscription> DirectoryWatcher::Subscribe(WatchMode mode) {
  std::unique_ptr<Subscription> subscription(new Subscription(this, mode));
  absl::MutexLock lock(&mu_);
  subscriptions_.insert(subscription.get());
  return subscription;
}

int DirectoryWatcher::watch_count() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int>(watches_.size());
}

void DirectoryWatcher::ReadLoop() {
  // Large enough for hundreds of events per read; inotify never splits an event.
  alignas(struct inotify_event) char buffer[64 * 1024];
  for (;;) {
    struct pollfd fds[2] = {{inotify_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::fprintf(stderr, "cairn: the directory watcher stopped (poll: %s); followers poll\n",
                   std::strerror(errno));
      return;
    }
    if (fds[1].revents != 0) {
      uint64_t count = 0;
      while (::read(wake_fd_, &count, sizeof(count)) < 0 && errno == EINTR) {
      }
      absl::MutexLock lock(&mu_);
      if (stopping_) return;
    }
    if (fds[0].revents != 0) {
      const ssize_t n = ::read(inotify_fd_, buffer, sizeof(buffer));
      if (n > 0) {
        Dispatch(buffer, static_cast<size_t>(n));
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        std::fprintf(stderr, "cairn: the directory watcher stopped (read: %s); followers poll\n",
                     std::strerror(errno));
        return;
      }
    }
  }
}

void DirectoryWatcher::Dispatch(const char* buffer, size_t size) {
  absl::MutexLock lock(&mu_);
  bool any = false;
  size_t offset = 0;
  while (offset + sizeof(struct inotify_event) <= size) {
    const auto* event = reinterpret_cast<const struct inotify_event*>(buffer + offset);
    offset += sizeof(struct inotify_event) + event->len;
    any = true;
    if (event->mask & IN_Q_OVERFLOW) {
      // Events were dropped: anyone may have missed something.
      for (Subscription* subscription : subscriptions_) ++subscription->sequence_;
      continue;
    }
    auto it = watches_.find(event->wd);
    if (it == watches_.end()) continue;  // removed meanwhile
    for (Interest* interest : it->second.interests) ++interest->owner->sequence_;
    if (event->mask & kWatchGoneMask) {
      for (Interest* interest : it->second.interests) {
        interest->wd = -1;
        interest->watched.clear();
        interest->stale = true;
      }
      // A moved directory keeps its watch in the kernel: remove it. For the others the kernel
      // has removed it already (IN_IGNORED follows) and this fails harmlessly.
      if (!(event->mask & IN_IGNORED)) ::inotify_rm_watch(inotify_fd_, event->wd);
      watches_.erase(it);
    }
  }
  if (any) changed_.SignalAll();
}

int DirectoryWatcher::AddWatchLocked(const std::string& path) {
  const int wd = ::inotify_add_watch(inotify_fd_, path.c_str(), kWatchMask);
  if (wd < 0) return -errno;
  if (!watches_.contains(wd)) {
    if (static_cast<int>(watches_.size()) >= options_.max_watches) {
      ::inotify_rm_watch(inotify_fd_, wd);
      return -EDQUOT;  // this watcher's own cap; the kernel's limit reports ENOSPC
    }
    // The reader starts with the first watch, so that a process (or forked child) that only
    // polls never runs a thread for it.
    if (!reader_.joinable()) {
      try {
        reader_ = std::thread([this] { ReadLoop(); });
      } catch (const std::system_error&) {
        ::inotify_rm_watch(inotify_fd_, wd);
        return -EAGAIN;
      }
    }
    watches_[wd].path = path;
  }
  return wd;
}

void DirectoryWatcher::AttachLocked(Interest& interest, int wd) {
  interest.wd = wd;
  watches_[wd].interests.insert(&interest);
}

void DirectoryWatcher::DetachLocked(Interest& interest) {
  if (interest.wd < 0) return;
  const int wd = interest.wd;
  interest.wd = -1;
  auto it = watches_.find(wd);
  if (it != watches_.end()) it->second.interests.erase(&interest);
  DropIfUnusedLocked(wd);
}

void DirectoryWatcher::DropIfUnusedLocked(int wd) {
  auto it = watches_.find(wd);
  if (it == watches_.end() || !it->second.interests.empty()) return;
  ::inotify_rm_watch(inotify_fd_, wd);
  watches_.erase(it);
}

absl::Status DirectoryWatcher::WatchLimitStatusLocked(const std::string& path, bool kernel_limit) {
  const std::string limit =
      kernel_limit
          ? absl::StrCat("the kernel's inotify watch limit (fs.inotify.max_user_watches=",
                         inotifytools_get_max_user_watches(), ", shared by the user's processes)")
          : absl::StrCat("this process's cap of ", options_.max_watches, " inotify watches");
  return absl::ResourceExhaustedError(absl::StrCat(
      "cannot watch ", path, ": ", limit,
      " is reached; it is followed by polling until a watch is free. Raise the limit with "
      "sysctl fs.inotify.max_user_watches=<n>, or follow fewer directories"));
}

void DirectoryWatcher::ReportLocked(const std::string& key, const absl::Status& status) {
  if (reported_.size() >= kMaxReportedMessages || !reported_.insert(key).second) return;
  std::fprintf(stderr, "cairn: %s\n", std::string(status.message()).c_str());
}

DirectoryWatcher::Probe DirectoryWatcher::ProbeFilesystem(const std::string& target) {
  std::string path = target;
  for (;;) {
    absl::StatusOr<FilesystemKind> kind = FilesystemKindOf(path);
    const bool missing =
        absl::IsNotFound(kind.status()) || absl::IsFailedPrecondition(kind.status());
    if (!missing || path == "/") return Probe{path, std::move(kind)};
    path = ParentOf(path);
  }
}

bool DirectoryWatcher::ResolveLocked(Interest& interest, const Probe& probe) {
  const std::string old_watched = interest.watched;
  const bool was_polled = !interest.polled.ok();
  const bool was_stale = interest.stale;
  // The old watch is dropped only at the end, if nothing took it up again: re-resolving to the
  // same directory then keeps its kernel watch, and no event falls between two watches.
  const int old_wd = interest.wd;
  if (old_wd >= 0) {
    auto it = watches_.find(old_wd);
    if (it != watches_.end()) it->second.interests.erase(&interest);
  }
  interest.wd = -1;
  interest.watched.clear();
  interest.stale = false;
  auto settle = [&](absl::Status polled) {
    if (old_wd >= 0) DropIfUnusedLocked(old_wd);
    interest.polled = std::move(polled);
    return was_stale || interest.watched != old_watched || was_polled != !interest.polled.ok();
  };

  if (interest.owner->mode_ == WatchMode::kPoll) {
    return settle(absl::CancelledError(
        absl::StrCat(interest.target, " is followed by polling, as the watch mode asks")));
  }
  if (!init_status_.ok()) {
    ReportLocked("init", init_status_);
    return settle(init_status_);
  }
  // Decides whether `path`, which exists, may be watched here; an error says why not. The
  // probe answers unless the directory changed since it was taken.
  auto check_kind = [&](const std::string& path) -> absl::Status {
    if (interest.owner->mode_ != WatchMode::kAuto || path.empty()) return absl::OkStatus();
    absl::StatusOr<FilesystemKind> kind = path == probe.path ? probe.kind : FilesystemKindOf(path);
    if (!kind.ok() || kind->notifies_all_changes) return absl::OkStatus();
    return absl::UnavailableError(absl::StrCat(
        path, " is on a ", kind->name,
        " filesystem, where inotify does not report every change (another machine's writes, for "
        "one); it is followed by polling (choose WatchMode::kNotify if only this machine writes "
        "there)"));
  };
  auto fail = [&](int error, const std::string& path) {
    absl::Status status =
        error == EDQUOT || error == ENOSPC
            ? WatchLimitStatusLocked(path, error == ENOSPC)
            : absl::ErrnoToStatus(
                  error, absl::StrCat("cannot watch ", path, "; it is followed by polling"));
    ReportLocked(error == EDQUOT || error == ENOSPC ? "limit" : absl::StrCat(error, path), status);
    return settle(std::move(status));
  };

  // Not even a watch on a filesystem that is polled anyway: inotify_add_watch looks the path up,
  // which blocks like statfs when a network server stops answering.
  if (absl::Status kind = check_kind(probe.path); !kind.ok()) {
    ReportLocked(absl::StrCat("kind:", probe.path), kind);
    return settle(std::move(kind));
  }
  // Up from the target to the nearest directory that exists and takes a watch.
  std::string path = interest.target;
  int wd = -1;
  for (;;) {
    wd = AddWatchLocked(path);
    if (wd >= 0) break;
    if (!MeansMissing(-wd) || path == "/") return fail(-wd, path);
    path = ParentOf(path);
  }
  // Back down while deeper components exist: one may have appeared before the watch above it.
  while (path != interest.target) {
    const std::string next = ChildToward(path, interest.target);
    const int deeper = AddWatchLocked(next);
    if (deeper < 0) {
      if (MeansMissing(-deeper)) break;
      DropIfUnusedLocked(wd);
      return fail(-deeper, next);
    }
    if (deeper != wd) DropIfUnusedLocked(wd);
    wd = deeper;
    path = next;
  }
  if (absl::Status kind = check_kind(path); !kind.ok()) {
    DropIfUnusedLocked(wd);
    ReportLocked(absl::StrCat("kind:", path), kind);
    return settle(std::move(kind));
  }
  AttachLocked(interest, wd);
  interest.watched = path;
  return settle(absl::OkStatus());
}

DirectoryWatcher::Subscription::Subscription(DirectoryWatcher* watcher, WatchMode mode)
    : watcher_(watcher), mode_(mode) {}

DirectoryWatcher::Subscription::~Subscription() {
  absl::MutexLock lock(&watcher_->mu_);
  for (auto& [target, interest] : interests_) watcher_->DetachLocked(*interest);
  interests_.clear();
  watcher_->subscriptions_.erase(this);
}

void DirectoryWatcher::Subscription::Watch(const std::string& dir) {
  std::string target = NormalizePath(dir);
  const Probe probe = mode_ == WatchMode::kAuto ? ProbeFilesystem(target) : Probe{};
  absl::MutexLock lock(&watcher_->mu_);
  if (interests_.contains(target)) return;
  auto interest = std::make_unique<Interest>();
  interest->owner = this;
  interest->target = std::move(target);
  watcher_->ResolveLocked(*interest, probe);
  interests_.emplace(interest->target, std::move(interest));
}

void DirectoryWatcher::Subscription::Unwatch(const std::string& dir) {
  const std::string target = NormalizePath(dir);
  absl::MutexLock lock(&watcher_->mu_);
  auto it = interests_.find(target);
  if (it == interests_.end()) return;
  watcher_->DetachLocked(*it->second);
  interests_.erase(it);
}

uint64_t DirectoryWatcher::Subscription::sequence() const {
  absl::MutexLock lock(&watcher_->mu_);
  return sequence_;
}

uint64_t DirectoryWatcher::Subscription::WaitForChange(uint64_t seen, absl::Time deadline) {
  // Probed without the lock, then resolved with it.
  absl::flat_hash_map<std::string, Probe> probes;
  if (mode_ == WatchMode::kAuto) {
    std::vector<std::string> pending;
    {
      absl::MutexLock lock(&watcher_->mu_);
      for (const auto& [target, interest] : interests_) {
        if (!interest->direct()) pending.push_back(target);
      }
    }
    for (const std::string& target : pending) probes.emplace(target, ProbeFilesystem(target));
  }
  absl::MutexLock lock(&watcher_->mu_);
  for (auto& [target, interest] : interests_) {
    if (interest->direct()) continue;
    auto probe = probes.find(target);
    // Watched since the probes were taken: probe now, under the lock, as a rare exception.
    const Probe fresh =
        probe != probes.end() || mode_ != WatchMode::kAuto ? Probe{} : ProbeFilesystem(target);
    if (watcher_->ResolveLocked(*interest, probe != probes.end() ? probe->second : fresh)) {
      ++sequence_;
    }
  }
  while (sequence_ <= seen) {
    if (watcher_->changed_.WaitWithDeadline(&watcher_->mu_, deadline)) break;  // deadline
  }
  return sequence_;
}

absl::Status DirectoryWatcher::Subscription::notification_status() const {
  absl::MutexLock lock(&watcher_->mu_);
  for (const auto& [target, interest] : interests_) {
    if (!interest->polled.ok()) return interest->polled;
  }
  return absl::OkStatus();
}

}  // namespace cairn
