// The process-wide directory watcher: wakes on changes, follows directories that are missing,
// deleted or recreated, shares watches between subscriptions, and falls back to polling with a
// reason when a limit is hit or polling is chosen.
#include "cairn/utils/directory_watcher.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "cairn/utils/filesystem_kind.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;

// Long enough that only a hang reaches it.
absl::Time HangDeadline() { return absl::Now() + absl::Seconds(10); }

void Touch(const std::string& path) { std::ofstream(path) << "x"; }

// Resolves pending watches without waiting (a wait with a deadline that has passed).
void Settle(DirectoryWatcher::Subscription& subscription) {
  subscription.WaitForChange(subscription.sequence(), absl::InfinitePast());
}

TEST(DirectoryWatcherTest, WakesWhenAnEntryIsCreated) {
  TempDir tmp;
  auto subscription = DirectoryWatcher::Default().Subscribe();
  subscription->Watch(tmp.path());
  const uint64_t seen = subscription->sequence();
  std::thread writer([&] { Touch(tmp.Join("new")); });
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
  writer.join();
  EXPECT_TRUE(subscription->notification_status().ok()) << subscription->notification_status();
}

TEST(DirectoryWatcherTest, WakesWhenADirectoryIsRenamedIn) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.Join("root"));
  std::filesystem::create_directory(tmp.Join("elsewhere"));
  auto subscription = DirectoryWatcher::Default().Subscribe();
  subscription->Watch(tmp.Join("root"));
  const uint64_t seen = subscription->sequence();
  std::filesystem::rename(tmp.Join("elsewhere"), tmp.Join("root/3"));
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
}

TEST(DirectoryWatcherTest, ReturnsAtTheDeadlineWithoutAChange) {
  TempDir tmp;
  auto subscription = DirectoryWatcher::Default().Subscribe();
  subscription->Watch(tmp.path());
  const uint64_t seen = subscription->sequence();
  EXPECT_EQ(subscription->WaitForChange(seen, absl::Now() + absl::Milliseconds(50)), seen);
}

TEST(DirectoryWatcherTest, WaitsForAMissingDirectoryThroughItsAncestor) {
  TempDir tmp;
  const std::string target = tmp.Join("a/b");
  auto subscription = DirectoryWatcher::Default().Subscribe();
  subscription->Watch(target);
  EXPECT_TRUE(subscription->notification_status().ok());
  uint64_t seen = subscription->sequence();
  std::filesystem::create_directories(target);
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
  // The watch has moved down to the directory itself: a change inside it wakes.
  Settle(*subscription);
  seen = subscription->sequence();
  Touch(target + "/x");
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
}

TEST(DirectoryWatcherTest, FollowsADirectoryDeletedAndRecreated) {
  TempDir tmp;
  const std::string dir = tmp.Join("root");
  std::filesystem::create_directory(dir);
  auto subscription = DirectoryWatcher::Default().Subscribe();
  subscription->Watch(dir);
  uint64_t seen = subscription->sequence();
  std::filesystem::remove_all(dir);
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
  Settle(*subscription);
  seen = subscription->sequence();
  std::filesystem::create_directory(dir);
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
  Settle(*subscription);
  seen = subscription->sequence();
  Touch(dir + "/x");
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
}

TEST(DirectoryWatcherTest, SubscriptionsShareOneWatchPerDirectory) {
  TempDir tmp;
  DirectoryWatcher watcher;
  auto first = watcher.Subscribe();
  auto second = watcher.Subscribe();
  first->Watch(tmp.path());
  second->Watch(tmp.path() + "/");
  EXPECT_EQ(watcher.watch_count(), 1);
  const uint64_t first_seen = first->sequence();
  const uint64_t second_seen = second->sequence();
  Touch(tmp.Join("x"));
  EXPECT_GT(first->WaitForChange(first_seen, HangDeadline()), first_seen);
  EXPECT_GT(second->WaitForChange(second_seen, HangDeadline()), second_seen);
  first.reset();
  EXPECT_EQ(watcher.watch_count(), 1);
  second.reset();
  EXPECT_EQ(watcher.watch_count(), 0);
}

TEST(DirectoryWatcherTest, PollModeNeverWatches) {
  TempDir tmp;
  DirectoryWatcher watcher;
  auto subscription = watcher.Subscribe(WatchMode::kPoll);
  subscription->Watch(tmp.path());
  EXPECT_EQ(watcher.watch_count(), 0);
  EXPECT_TRUE(absl::IsCancelled(subscription->notification_status()));
  const uint64_t seen = subscription->sequence();
  Touch(tmp.Join("x"));
  EXPECT_EQ(subscription->WaitForChange(seen, absl::Now() + absl::Milliseconds(50)), seen);
}

TEST(DirectoryWatcherTest, FilesystemsTheKernelCannotSeeArePolled) {
  // procfs stands in for a network mount: its changes raise no events either.
  DirectoryWatcher watcher;
  auto subscription = watcher.Subscribe(WatchMode::kAuto);
  subscription->Watch("/proc/sys");
  EXPECT_EQ(watcher.watch_count(), 0);
  const absl::Status status = subscription->notification_status();
  EXPECT_TRUE(absl::IsUnavailable(status)) << status;
  EXPECT_NE(status.message().find("proc"), std::string::npos) << status;
}

TEST(DirectoryWatcherTest, WatchCapFallsBackToPollingUntilAWatchIsFree) {
  TempDir tmp;
  std::filesystem::create_directory(tmp.Join("a"));
  std::filesystem::create_directory(tmp.Join("b"));
  DirectoryWatcher watcher(DirectoryWatcherOptions{/*max_watches=*/1});
  auto subscription = watcher.Subscribe();
  subscription->Watch(tmp.Join("a"));
  subscription->Watch(tmp.Join("b"));
  EXPECT_EQ(watcher.watch_count(), 1);
  const absl::Status status = subscription->notification_status();
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_NE(status.message().find(tmp.Join("b")), std::string::npos) << status;
  EXPECT_NE(status.message().find("polling"), std::string::npos) << status;

  subscription->Unwatch(tmp.Join("a"));
  Settle(*subscription);
  EXPECT_TRUE(subscription->notification_status().ok()) << subscription->notification_status();
  const uint64_t seen = subscription->sequence();
  Touch(tmp.Join("b/x"));
  EXPECT_GT(subscription->WaitForChange(seen, HangDeadline()), seen);
}

TEST(DirectoryWatcherTest, InstanceLimitFallsBackToPolling) {
  TempDir tmp;
  const pid_t child = fork();
  if (child == 0) {
    // Use up every descriptor the process may open, so the kernel refuses an inotify instance.
    struct rlimit limit = {64, 64};
    if (setrlimit(RLIMIT_NOFILE, &limit) != 0) _exit(10);
    std::vector<int> fillers;
    for (int fd; (fd = open("/dev/null", O_RDONLY)) >= 0;) fillers.push_back(fd);
    DirectoryWatcher watcher;
    for (int fd : fillers) close(fd);
    if (!absl::IsResourceExhausted(watcher.init_status())) _exit(11);
    auto subscription = watcher.Subscribe();
    subscription->Watch(tmp.path());
    if (!absl::IsResourceExhausted(subscription->notification_status())) _exit(12);
    const uint64_t seen = subscription->sequence();
    // Without notification a wait lasts until its deadline, and no longer.
    if (subscription->WaitForChange(seen, absl::Now() + absl::Milliseconds(20)) != seen) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(DirectoryWatcherTest, ManyThreadsWaitOnTheirOwnDirectories) {
  TempDir tmp;
  constexpr int kThreads = 6;
  std::vector<std::thread> waiters;
  std::vector<int> woken(kThreads, 0);
  for (int i = 0; i < kThreads; ++i) {
    const std::string dir = tmp.Join(std::to_string(i));
    std::filesystem::create_directory(dir);
    waiters.emplace_back([&woken, dir, i] {
      auto subscription = DirectoryWatcher::Default().Subscribe();
      subscription->Watch(dir);
      uint64_t seen = subscription->sequence();
      // Each thread waits for a file only it will find, written by its neighbour.
      const std::string mine = dir + "/ready";
      while (!std::filesystem::exists(mine)) {
        const uint64_t now = subscription->WaitForChange(seen, HangDeadline());
        if (now == seen) return;  // hung: leave woken at 0
        seen = now;
      }
      woken[i] = 1;
    });
  }
  for (int i = 0; i < kThreads; ++i) Touch(tmp.Join(std::to_string(i) + "/ready"));
  for (std::thread& waiter : waiters) waiter.join();
  for (int i = 0; i < kThreads; ++i) EXPECT_EQ(woken[i], 1) << "thread " << i;
}

TEST(DirectoryWatcherTest, DefaultIsOnePerProcess) {
  EXPECT_EQ(&DirectoryWatcher::Default(), &DirectoryWatcher::Default());
  EXPECT_TRUE(DirectoryWatcher::Default().init_status().ok());
}

TEST(DirectoryWatcherTest, KnowsLocalFromKernelMadeFilesystems) {
  TempDir tmp;
  absl::StatusOr<FilesystemKind> local = FilesystemKindOf(tmp.path());
  ASSERT_TRUE(local.ok()) << local.status();
  EXPECT_TRUE(local->notifies_all_changes) << local->name;
  absl::StatusOr<FilesystemKind> proc = FilesystemKindOf("/proc");
  ASSERT_TRUE(proc.ok()) << proc.status();
  EXPECT_EQ(proc->name, "proc");
  EXPECT_FALSE(proc->notifies_all_changes);
  EXPECT_TRUE(absl::IsNotFound(FilesystemKindOf(tmp.Join("missing")).status()));
}

}  // namespace
}  // namespace cairn
