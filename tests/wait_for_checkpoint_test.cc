// WaitForNewCheckpoint: the newest committed step (>= until_step), leased until the caller is
// done with it; -1 at the timeout; timeout_fn; a root that appears later; commit-file mode.
#include "cairn/manager/wait_for_checkpoint.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/step_listing.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;

void SaveStep(const std::string& root, int64_t step, CommitMode mode = CommitMode::kRename) {
  CheckpointOptions options;
  options.commit_mode = mode;
  options.store_save.sync = false;
  const absl::Status status =
      Save(StepPath(root, step, *NameFormat::Plain()), Tree::Int(step), options);
  ASSERT_TRUE(status.ok()) << status;
}

// Only a notification wakes these waits in time; the timeout only ends a hang.
WaitForCheckpointOptions NotifiedOptions() {
  WaitForCheckpointOptions options;
  options.poll_interval = absl::Seconds(60);
  options.timeout = absl::Seconds(10);
  return options;
}

TEST(WaitForNewCheckpointTest, ReturnsTheNewestExistingStepAtOnce) {
  TempDir tmp;
  for (int64_t step : {2, 9, 4}) SaveStep(tmp.path(), step);
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), NotifiedOptions());
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 9);
  EXPECT_EQ(step->path(), StepPath(tmp.path(), 9, *NameFormat::Plain()));
}

TEST(WaitForNewCheckpointTest, WaitsUntilAStepReachesUntilStep) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  WaitForCheckpointOptions options = NotifiedOptions();
  options.until_step = 3;
  std::thread writer([&] {
    for (int64_t step : {2, 3, 4}) SaveStep(tmp.path(), step);
  });
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  writer.join();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_GE(step->step(), 3);
}

TEST(WaitForNewCheckpointTest, ReturnsMinusOneAtTheTimeout) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  WaitForCheckpointOptions options;
  options.until_step = 2;
  options.timeout = absl::Milliseconds(100);
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_FALSE(step->found());
  EXPECT_EQ(step->step(), -1);
}

TEST(WaitForNewCheckpointTest, TimeoutFnReturningTrueGivesMinusOne) {
  TempDir tmp;
  int calls = 0;
  WaitForCheckpointOptions options;
  options.timeout = absl::Milliseconds(50);
  options.timeout_fn = [&] { return ++calls > 0; };
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  ASSERT_TRUE(step.ok());
  EXPECT_EQ(step->step(), -1);
  EXPECT_EQ(calls, 1);
}

TEST(WaitForNewCheckpointTest, TimeoutFnReturningFalseKeepsWaiting) {
  TempDir tmp;
  int calls = 0;
  WaitForCheckpointOptions options;
  options.timeout = absl::Milliseconds(50);
  options.poll_interval = absl::Seconds(60);
  options.timeout_fn = [&] {
    if (++calls == 2) SaveStep(tmp.path(), 5);
    return false;
  };
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 5);
  EXPECT_EQ(calls, 2);
}

TEST(WaitForNewCheckpointTest, LeaseIsReleasedWhenTheCallerIsDone) {
  TempDir tmp;
  SaveStep(tmp.path(), 1);
  const std::string step_dir = StepPath(tmp.path(), 1, *NameFormat::Plain());
  {
    absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), NotifiedOptions());
    ASSERT_TRUE(step.ok() && step->found());
    EXPECT_TRUE(*IsLocked(step_dir));
  }
  EXPECT_FALSE(*IsLocked(step_dir));
}

TEST(WaitForNewCheckpointTest, WaitsForARootCreatedByAnotherProcess) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  const pid_t child = fork();
  if (child == 0) {
    absl::SleepFor(absl::Milliseconds(20));  // pacing only: the parent is usually waiting
    CheckpointOptions save;
    save.store_save.sync = false;
    const bool ok = Save(StepPath(root, 3, *NameFormat::Plain()), Tree::Int(3), save).ok();
    _exit(ok ? 0 : 1);
  }
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(root, NotifiedOptions());
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_EQ(WEXITSTATUS(status), 0);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 3);
}

TEST(WaitForNewCheckpointTest, CommitFileModeIgnoresUncommittedSteps) {
  TempDir tmp;
  SaveStep(tmp.path(), 1, CommitMode::kCommitFile);
  std::filesystem::create_directory(tmp.Join("8"));  // no marker: a save in progress
  WaitForCheckpointOptions options = NotifiedOptions();
  options.commit_mode = CommitMode::kCommitFile;
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 1);
}

TEST(WaitForNewCheckpointTest, PollingFindsAStepWithoutNotification) {
  TempDir tmp;
  WaitForCheckpointOptions options;
  options.watch_mode = WatchMode::kPoll;
  options.poll_interval = absl::Milliseconds(20);
  options.timeout = absl::Seconds(10);
  std::thread writer([&] { SaveStep(tmp.path(), 4); });
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(tmp.path(), options);
  writer.join();
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->step(), 4);
}

TEST(WaitForNewCheckpointTest, RootThatIsAFileIsAnErrorNotAWait) {
  TempDir tmp;
  const std::string root = tmp.Join("file");
  {
    std::FILE* f = std::fopen(root.c_str(), "w");
    std::fclose(f);
  }
  absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(root, NotifiedOptions());
  EXPECT_TRUE(absl::IsFailedPrecondition(step.status())) << step.status();
}

}  // namespace
}  // namespace cairn
