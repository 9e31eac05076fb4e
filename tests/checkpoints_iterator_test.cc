// CheckpointsIterator: new steps from another thread or process, newest and every-step modes,
// Orbax's timeout, timeout_fn and min_interval semantics, leases, polling, a root that appears,
// vanishes and returns, commit-file mode, and bad input.
#include "cairn/manager/checkpoints_iterator.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/directory_watcher.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;

// A step is the tree Int(step), committed in `mode`. No fsync: these tests are about
// visibility, not durability.
void SaveStep(const std::string& root, int64_t step, CommitMode mode = CommitMode::kRename,
              const NameFormat& format = *NameFormat::Plain()) {
  CheckpointOptions options;
  options.commit_mode = mode;
  options.store_save.sync = false;
  const absl::Status status = Save(StepPath(root, step, format), Tree::Int(step), options);
  ASSERT_TRUE(status.ok()) << status;
}

// Only a notification can wake these iterators in time: the poll interval is far beyond the
// timeout, which is only there to end a hang.
CheckpointsIteratorOptions NotifiedOptions() {
  CheckpointsIteratorOptions options;
  options.poll_interval = absl::Seconds(60);
  options.timeout = absl::Seconds(10);
  return options;
}

// Takes `count` steps, failing the test if the iteration errs or ends first.
std::vector<int64_t> TakeSteps(CheckpointsIterator& it, int count) {
  std::vector<int64_t> steps;
  for (int i = 0; i < count; ++i) {
    absl::StatusOr<LeasedStep> step = it.Next();
    EXPECT_TRUE(step.ok()) << step.status();
    if (!step.ok() || !step->found()) break;
    steps.push_back(step->step());
  }
  return steps;
}

TEST(CheckpointsIteratorTest, YieldsStepsCommittedByAnotherThread) {
  TempDir tmp;
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok()) << it.status();
  std::thread writer([&] {
    for (int64_t step = 0; step < 5; ++step) {
      SaveStep(tmp.path(), step * 10);
      absl::SleepFor(absl::Milliseconds(5));  // pacing only
    }
  });
  EXPECT_THAT(TakeSteps(*it, 5), ElementsAre(0, 10, 20, 30, 40));
  writer.join();
  EXPECT_TRUE(it->notification_status().ok()) << it->notification_status();
}

TEST(CheckpointsIteratorTest, YieldsStepsCommittedByAnotherProcess) {
  TempDir tmp;
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok()) << it.status();
  // The steps are written here and committed by the child with the rename a save ends with:
  // a child forked from this threaded process may only make system calls.
  TempDir staging;
  std::vector<std::pair<std::string, std::string>> commits;
  for (int64_t step = 1; step <= 4; ++step) {
    const std::string name = NameFormat::Plain()->Build(step);
    CheckpointOptions save;
    save.store_save.sync = false;
    ASSERT_TRUE(Save(staging.Join(name), Tree::Int(step), save).ok());
    commits.emplace_back(staging.Join(name), tmp.Join(name));
  }
  const pid_t child = fork();
  if (child == 0) {
    for (const auto& [from, to] : commits) {
      if (::rename(from.c_str(), to.c_str()) != 0) _exit(1);
    }
    _exit(0);
  }
  EXPECT_THAT(TakeSteps(*it, 4), ElementsAre(1, 2, 3, 4));
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(CheckpointsIteratorTest, NewestModeSkipsToTheNewestStep) {
  TempDir tmp;
  for (int64_t step : {1, 2, 3}) SaveStep(tmp.path(), step);
  absl::StatusOr<CheckpointsIterator> it =
      CheckpointsIterator::Create(tmp.path(), NotifiedOptions());
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(3));
  SaveStep(tmp.path(), 4);
  SaveStep(tmp.path(), 5);
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(5));
  EXPECT_EQ(it->last_step(), 5);
}

TEST(CheckpointsIteratorTest, EveryStepModeYieldsEachStepInOrder) {
  TempDir tmp;
  for (int64_t step : {5, 1, 3}) SaveStep(tmp.path(), step);
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 2), ElementsAre(1, 3));
  SaveStep(tmp.path(), 6);
  EXPECT_THAT(TakeSteps(*it, 2), ElementsAre(5, 6));
}

TEST(CheckpointsIteratorTest, AfterStepResumesWhereAnEvaluatorStopped) {
  TempDir tmp;
  for (int64_t step : {1, 2, 3, 4, 5}) SaveStep(tmp.path(), step);
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  options.after_step = 3;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 2), ElementsAre(4, 5));
}

TEST(CheckpointsIteratorTest, TimeoutWithoutTimeoutFnEndsTheIteration) {
  TempDir tmp;
  CheckpointsIteratorOptions options;
  options.timeout = absl::Milliseconds(100);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  absl::StatusOr<LeasedStep> step = it->Next();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_FALSE(step->found());
  EXPECT_EQ(step->step(), -1);
  EXPECT_TRUE(it->done());
  // Ended for good, even when a step arrives afterwards.
  SaveStep(tmp.path(), 1);
  step = it->Next();
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->found());
}

TEST(CheckpointsIteratorTest, TimeoutFnReturningTrueEndsTheIteration) {
  TempDir tmp;
  int calls = 0;
  CheckpointsIteratorOptions options;
  options.timeout = absl::Milliseconds(50);
  options.timeout_fn = [&] { return ++calls > 0; };
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  absl::StatusOr<LeasedStep> step = it->Next();
  ASSERT_TRUE(step.ok());
  EXPECT_FALSE(step->found());
  EXPECT_EQ(calls, 1);
}

TEST(CheckpointsIteratorTest, TimeoutFnReturningFalseWaitsAgainWithAFreshTimeout) {
  TempDir tmp;
  int calls = 0;
  CheckpointsIteratorOptions options;
  options.timeout = absl::Milliseconds(50);
  options.poll_interval = absl::Seconds(60);
  // The trainer is "still running" for three timeouts, and commits a step during the third.
  options.timeout_fn = [&] {
    if (++calls == 3) SaveStep(tmp.path(), 7);
    return false;
  };
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  absl::StatusOr<LeasedStep> step = it->Next();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 7);
  EXPECT_EQ(calls, 3);
}

TEST(CheckpointsIteratorTest, MinIntervalSpacesTheStepsHandedOut) {
  TempDir tmp;
  for (int64_t step : {1, 2}) SaveStep(tmp.path(), step);
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  options.min_interval = absl::Milliseconds(150);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  // Both steps are there at once: without pacing the second would follow the first at once.
  const auto before_first = std::chrono::steady_clock::now();
  ASSERT_THAT(TakeSteps(*it, 1), ElementsAre(1));
  ASSERT_THAT(TakeSteps(*it, 1), ElementsAre(2));
  // A lower bound the iterator guarantees by sleeping, not a timing assumption.
  EXPECT_GE(std::chrono::steady_clock::now() - before_first, std::chrono::milliseconds(150));
}

TEST(CheckpointsIteratorTest, StepIsLeasedUntilReleasedOnDestruction) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  absl::StatusOr<CheckpointsIterator> it =
      CheckpointsIterator::Create(tmp.path(), NotifiedOptions());
  ASSERT_TRUE(it.ok());
  const std::string step_dir = StepPath(tmp.path(), 1, *NameFormat::Plain());
  {
    absl::StatusOr<LeasedStep> step = it->Next();
    ASSERT_TRUE(step.ok() && step->found());
    EXPECT_EQ(step->path(), step_dir);
    EXPECT_TRUE(step->leased());
    EXPECT_TRUE(*IsLocked(step_dir));
  }
  EXPECT_FALSE(*IsLocked(step_dir));
  EXPECT_FALSE(std::filesystem::exists(step_dir + "/LOCKED"));
}

TEST(CheckpointsIteratorTest, PollingFallbackChosenByOption) {
  TempDir tmp;
  CheckpointsIteratorOptions options;
  options.mode = FollowMode::kEveryStep;
  options.watch_mode = WatchMode::kPoll;
  options.poll_interval = absl::Milliseconds(20);
  options.timeout = absl::Seconds(10);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_TRUE(absl::IsCancelled(it->notification_status()));
  std::thread writer([&] {
    for (int64_t step : {1, 2, 3}) SaveStep(tmp.path(), step);
  });
  EXPECT_THAT(TakeSteps(*it, 3), ElementsAre(1, 2, 3));
  writer.join();
}

TEST(CheckpointsIteratorTest, WaitsForTheRootToBeCreated) {
  TempDir tmp;
  const std::string root = tmp.Join("run/checkpoints");
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, NotifiedOptions());
  ASSERT_TRUE(it.ok());
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(20));  // pacing only: the iterator is usually waiting
    SaveStep(root, 2);
  });
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(2));
  writer.join();
}

TEST(CheckpointsIteratorTest, FollowsARootDeletedAndRecreated) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  SaveStep(root, 1);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, NotifiedOptions());
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(1));
  std::thread writer([&] {
    std::filesystem::remove_all(root);
    absl::SleepFor(absl::Milliseconds(20));  // pacing only
    SaveStep(root, 2);
  });
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(2));
  writer.join();
}

TEST(CheckpointsIteratorTest, CommitFileModeYieldsAStepOnlyOnceItsMarkerLands) {
  TempDir tmp;
  // A save in progress: the step directory exists, its marker does not yet.
  const std::string pending = tmp.Join("7");
  std::filesystem::create_directory(pending);
  SaveStep(tmp.path(), 3, CommitMode::kCommitFile);
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.commit_mode = CommitMode::kCommitFile;
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(3));
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(20));  // pacing only
    std::ofstream(pending + "/" + kCommitMarkerFileName) << "committed\n";
  });
  // Woken by the watch on the step directory: the root itself does not change.
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(7));
  writer.join();
}

TEST(CheckpointsIteratorTest, CommitFileModeFollowsAWriterInAnotherThread) {
  TempDir tmp;
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.commit_mode = CommitMode::kCommitFile;
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  std::thread writer([&] {
    for (int64_t step : {1, 2, 3}) SaveStep(tmp.path(), step, CommitMode::kCommitFile);
  });
  EXPECT_THAT(TakeSteps(*it, 3), ElementsAre(1, 2, 3));
  writer.join();
}

TEST(CheckpointsIteratorTest, IgnoresTemporariesUncommittedDirectoriesAndOtherNames) {
  TempDir tmp;
  for (const char* name : {"5.cairn-tmp.1.abc.host", "latest", "01", "step_9", "-3"}) {
    std::filesystem::create_directory(tmp.Join(name));
  }
  std::ofstream(tmp.Join("6")) << "a file, not a step";
  SaveStep(tmp.path(), 2);
  CheckpointsIteratorOptions options;
  options.mode = FollowMode::kEveryStep;
  options.timeout = absl::Milliseconds(100);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 5), ElementsAre(2));
  EXPECT_TRUE(it->done());
}

TEST(CheckpointsIteratorTest, WatchLimitFallsBackToPolling) {
  TempDir tmp;
  // Uncommitted steps: each would need a watch of its own, beyond the cap. 5 stays uncommitted.
  std::filesystem::create_directory(tmp.Join("4"));
  std::filesystem::create_directory(tmp.Join("5"));
  DirectoryWatcher watcher(DirectoryWatcherOptions{/*max_watches=*/1});
  CheckpointsIteratorOptions options;
  options.commit_mode = CommitMode::kCommitFile;
  options.watcher = &watcher;
  options.mode = FollowMode::kEveryStep;
  options.poll_interval = absl::Milliseconds(20);
  options.timeout = absl::Seconds(10);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(20));  // pacing only
    std::ofstream(tmp.Join("4/") + kCommitMarkerFileName) << "committed\n";
  });
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(4));
  writer.join();
  EXPECT_TRUE(absl::IsResourceExhausted(it->notification_status())) << it->notification_status();
}

// Deletes one step's directory the moment a lease is attempted on it, as retention would
// between a listing and a lease.
class VanishingStepFilesystem : public ForwardingFilesystem {
 public:
  explicit VanishingStepFilesystem(std::string victim)
      : ForwardingFilesystem(Filesystem::Default()), victim_(std::move(victim)) {}
  absl::StatusOr<FileInfo> Stat(const std::string& path) override {
    if (path == victim_) std::filesystem::remove_all(victim_);
    return ForwardingFilesystem::Stat(path);
  }

 private:
  const std::string victim_;
};

TEST(CheckpointsIteratorTest, StepDeletedBeforeItsLeaseIsSkipped) {
  TempDir tmp;
  for (int64_t step : {1, 2, 3}) SaveStep(tmp.path(), step);
  VanishingStepFilesystem fs(StepPath(tmp.path(), 2, *NameFormat::Plain()));
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.mode = FollowMode::kEveryStep;
  options.filesystem = &fs;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 2), ElementsAre(1, 3));
}

TEST(CheckpointsIteratorTest, StepDirectoryVanishingWhileLeasedIsNotAnError) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  absl::StatusOr<CheckpointsIterator> it =
      CheckpointsIterator::Create(tmp.path(), NotifiedOptions());
  ASSERT_TRUE(it.ok());
  {
    absl::StatusOr<LeasedStep> step = it->Next();
    ASSERT_TRUE(step.ok() && step->found());
    std::filesystem::remove_all(step->path());
    EXPECT_TRUE(step->Release().ok());
  }
  SaveStep(tmp.path(), 2);
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(2));
}

TEST(CheckpointsIteratorTest, CorruptLeaseFileOfAnotherReaderIsLeftAlone) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  const std::string locked = tmp.Join("1/LOCKED");
  std::filesystem::create_directory(locked);
  std::ofstream(locked + "/junk.lease") << "{{{ not json";
  absl::StatusOr<CheckpointsIterator> it =
      CheckpointsIterator::Create(tmp.path(), NotifiedOptions());
  ASSERT_TRUE(it.ok());
  EXPECT_THAT(TakeSteps(*it, 1), ElementsAre(1));
  EXPECT_TRUE(std::filesystem::exists(locked + "/junk.lease"));
}

TEST(CheckpointsIteratorTest, LockedEntryThatIsAFileIsAClearError) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  std::ofstream(tmp.Join("1/LOCKED")) << "written by hand";
  CheckpointsIteratorOptions options;
  options.timeout = absl::Seconds(10);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  absl::StatusOr<LeasedStep> step = it->Next();
  ASSERT_FALSE(step.ok());
  EXPECT_NE(step.status().message().find(tmp.Join("1")), std::string::npos) << step.status();
  EXPECT_NE(step.status().message().find("LOCKED"), std::string::npos) << step.status();
}

TEST(CheckpointsIteratorTest, RootThatIsAFileIsAnError) {
  TempDir tmp;
  const std::string root = tmp.Join("file");
  std::ofstream(root) << "not a directory";
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, NotifiedOptions());
  ASSERT_TRUE(it.ok());
  absl::StatusOr<LeasedStep> step = it->Next();
  EXPECT_TRUE(absl::IsFailedPrecondition(step.status())) << step.status();
  EXPECT_NE(step.status().message().find(root), std::string::npos) << step.status();
}

TEST(CheckpointsIteratorTest, RootWithoutPermissionIsAnError) {
  TempDir tmp;
  const std::string root = tmp.Join("private");
  SaveStep(root, 1);
  ASSERT_EQ(chmod(root.c_str(), 0), 0);
  // Root reads any directory: check as an unprivileged user, in a child.
  const pid_t child = fork();
  if (child == 0) {
    if (geteuid() == 0 && setuid(65534) != 0) _exit(10);
    absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, NotifiedOptions());
    if (!it.ok()) _exit(11);
    absl::StatusOr<LeasedStep> step = it->Next();
    if (!absl::IsPermissionDenied(step.status())) _exit(12);
    if (step.status().message().find(root) == std::string::npos) _exit(13);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  chmod(root.c_str(), 0755);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

TEST(CheckpointsIteratorTest, BadOptionsAreRejected) {
  CheckpointsIteratorOptions options;
  options.name_format = nullptr;
  EXPECT_TRUE(absl::IsInvalidArgument(CheckpointsIterator::Create("/tmp", options).status()));
  options = CheckpointsIteratorOptions();
  options.poll_interval = absl::ZeroDuration();
  EXPECT_TRUE(absl::IsInvalidArgument(CheckpointsIterator::Create("/tmp", options).status()));
  options = CheckpointsIteratorOptions();
  options.min_interval = absl::Seconds(-1);
  EXPECT_TRUE(absl::IsInvalidArgument(CheckpointsIterator::Create("/tmp", options).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(CheckpointsIterator::Create("").status()));
}

TEST(CheckpointsIteratorTest, PrefixedNamesAreFollowed) {
  TempDir tmp;
  auto format = NameFormat::FixedLength(4, "step_");
  CheckpointsIteratorOptions options = NotifiedOptions();
  options.name_format = format;
  options.mode = FollowMode::kEveryStep;
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp.path(), options);
  ASSERT_TRUE(it.ok());
  SaveStep(tmp.path(), 12, CommitMode::kRename, *format);
  SaveStep(tmp.path(), 13);  // a plain name: not this run's
  std::thread writer([&] { SaveStep(tmp.path(), 14, CommitMode::kRename, *format); });
  EXPECT_THAT(TakeSteps(*it, 2), ElementsAre(12, 14));
  writer.join();
}

TEST(CheckpointsIteratorTest, SeveralIteratorsInOneProcessFollowTheirOwnRoots) {
  TempDir tmp;
  constexpr int kRuns = 3;
  std::vector<std::thread> threads;
  std::vector<std::vector<int64_t>> seen(kRuns);
  for (int run = 0; run < kRuns; ++run) {
    const std::string root = tmp.Join("run" + std::to_string(run));
    threads.emplace_back([root, run, &seen] {
      CheckpointsIteratorOptions options = NotifiedOptions();
      options.mode = FollowMode::kEveryStep;
      absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, options);
      ASSERT_TRUE(it.ok());
      seen[run] = TakeSteps(*it, 3);
    });
    threads.emplace_back([root, run] {
      for (int64_t step = 0; step < 3; ++step) SaveStep(root, run * 100 + step);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (int run = 0; run < kRuns; ++run) {
    EXPECT_THAT(seen[run], ElementsAre(run * 100, run * 100 + 1, run * 100 + 2)) << run;
  }
}

}  // namespace
}  // namespace cairn
