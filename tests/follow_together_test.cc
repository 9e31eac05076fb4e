// An evaluator job of several processes follows a run as one (FollowOptions::coordinator): the
// primary waits and lists, every process gets the same step and holds its own lease on it, and
// the primary's timeout ends the wait for all.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cairn/manager/checkpointer.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/manager/wait_for_checkpoint.h"
#include "cairn/steps/lease.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_coordinator.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using testing::RunThreadGroup;
using testing::TempDir;

void SaveSteps(const std::string& root, const std::vector<int64_t>& steps) {
  auto checkpointer = Checkpointer::Create(root);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  for (int64_t step : steps) {
    Tree state = Tree::Dict();
    state.Set("step", Tree::Int(step));
    ASSERT_TRUE((*checkpointer)->Save(step, state).ok());
  }
}

size_t LeasesOn(const std::string& step_dir) {
  const std::string locked = step_dir + "/" + kLockedDirName;
  if (!std::filesystem::exists(locked)) return 0;
  size_t n = 0;
  for (const auto& entry : std::filesystem::directory_iterator(locked)) {
    n += entry.path().filename().string().rfind("lease.", 0) == 0 ? 1 : 0;
  }
  return n;
}

TEST(FollowTogether, EveryProcessGetsTheSameStepsEachUnderItsOwnLease) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  SaveSteps(root, {1, 2, 3});
  std::vector<std::vector<int64_t>> seen(3);
  std::vector<std::vector<size_t>> leases(3);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    CheckpointsIteratorOptions options;
    options.coordinator = &coordinator;
    options.mode = FollowMode::kEveryStep;
    options.timeout = absl::Milliseconds(200);
    options.coordination_interval = absl::Milliseconds(20);
    absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, options);
    ASSERT_TRUE(it.ok()) << it.status();
    for (;;) {
      absl::StatusOr<LeasedStep> step = it->Next();
      ASSERT_TRUE(step.ok()) << step.status();
      if (!step->found()) break;
      EXPECT_TRUE(step->leased());
      seen[p].push_back(step->step());
      // Once every process holds the step, it carries one lease per process.
      ASSERT_TRUE(coordinator.Barrier("holding").ok());
      leases[p].push_back(LeasesOn(step->path()));
      ASSERT_TRUE(coordinator.Barrier("counted").ok());
    }
  });
  for (int p = 0; p < 3; ++p) {
    EXPECT_THAT(seen[p], ElementsAre(1, 2, 3));
    EXPECT_THAT(leases[p], ElementsAre(3, 3, 3));
  }
}

TEST(FollowTogether, AStepCommittedWhileTheGroupWaitsReachesEveryProcess) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  SaveSteps(root, {1});
  std::vector<int64_t> got(3, -1);
  std::thread writer;
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    WaitForCheckpointOptions options;
    options.coordinator = &coordinator;
    options.until_step = 5;
    options.timeout = absl::Seconds(60);
    // The primary tells the others many times that it still waits before step 5 comes.
    options.coordination_interval = absl::Milliseconds(10);
    if (p == 0)
      writer = std::thread([&] {
        absl::SleepFor(absl::Milliseconds(200));
        SaveSteps(root, {5});
      });
    absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(root, options);
    ASSERT_TRUE(step.ok()) << step.status();
    got[p] = step->step();
  });
  writer.join();
  EXPECT_THAT(got, ElementsAre(5, 5, 5));
}

TEST(FollowTogether, ThePrimarysTimeoutEndsTheWaitForAll) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<int> found(3, 1);
  int asked = 0;
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    WaitForCheckpointOptions options;
    options.coordinator = &coordinator;
    options.timeout = absl::Milliseconds(50);
    options.coordination_interval = absl::Milliseconds(10);
    // Asked on the primary alone: twice "keep waiting", then "stop".
    options.timeout_fn = [&asked] { return ++asked == 3; };
    absl::StatusOr<LeasedStep> step = WaitForNewCheckpoint(root, options);
    ASSERT_TRUE(step.ok()) << step.status();
    found[p] = step->found();
  });
  EXPECT_THAT(found, ElementsAre(0, 0, 0));
  EXPECT_EQ(asked, 3);
}

}  // namespace
}  // namespace cairn
