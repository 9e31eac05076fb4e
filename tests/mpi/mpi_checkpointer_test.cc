// A Checkpointer that every rank of the job opens on one root: steps saved together (row blocks
// of a global array, a bias every rank holds), decisions the same on every rank (preemption
// seen by one, retention run by the primary), one rank's disk failure failing the step on all,
// and the run resumed on fewer ranks that read regions cutting across the saved shards.
#include <mpi.h>

#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/mpi/mpi_coordinator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mpi/mpi_test_support.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::MakeCoordinator;
using testing::SharedTempDir;
using testing::WorldRank;
using testing::WorldSize;

constexpr int64_t kRows = 29;  // cut unevenly by every number of ranks
constexpr int64_t kCols = 16;

float W(int64_t step, int64_t r, int64_t c) {
  return static_cast<float>(step * 100000 + r * 100 + c) + 0.5f;
}

// Rows [begin, end) of the global w of `step`.
Array WRows(int64_t step, int64_t begin, int64_t end) {
  std::vector<float> values;
  for (int64_t r = begin; r < end; ++r) {
    for (int64_t c = 0; c < kCols; ++c) values.push_back(W(step, r, c));
  }
  return Array::FromValues(values, {end - begin, kCols});
}

Array Bias() {
  std::vector<int32_t> values(kCols);
  for (int64_t c = 0; c < kCols; ++c) values[c] = static_cast<int32_t>(c * 3 - 7);
  return Array::FromValues(values, {kCols});
}

// Rank `rank` of `ranks`'s pieces of the state of `step`.
Tree PiecesOf(int64_t step, int rank, int ranks) {
  const int64_t begin = kRows * rank / ranks;
  const int64_t end = kRows * (rank + 1) / ranks;
  Array w = WRows(step, begin, end);
  w.set_placement(ShardPlacement{{kRows, kCols}, {begin, 0}});
  Array bias = Bias();
  bias.set_placement(ShardPlacement{{kCols}, {0}, rank, ranks});
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(std::move(w)));
  tree.Set("bias", Tree::FromArray(std::move(bias)));
  tree.Set("step", Tree::Int(step));
  return tree;
}

CheckpointerOptions Together(Coordinator& coordinator) {
  CheckpointerOptions options;
  options.coordinator = &coordinator;
  return options;
}

TEST(MpiCheckpointer, SavedOnAllRanksResumedOnEveryFewerNumber) {
  const int rank = WorldRank();
  const int ranks = WorldSize();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.Join("run");
  {
    auto checkpointer = Checkpointer::Create(root, Together(*world));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int64_t step : {10, 20}) {
      absl::StatusOr<SaveFuture> future =
          (*checkpointer)->SaveAsync(step, PiecesOf(step, rank, ranks));
      ASSERT_TRUE(future.ok()) << future.status();
      EXPECT_TRUE(future->started());
    }
    EXPECT_TRUE((*checkpointer)->Close().ok());
    EXPECT_EQ((*checkpointer)->LatestStep(), 20);
  }
  // The bias every rank held is written once: the data files hold each array once.
  if (rank == 0) {
    uint64_t data = 0;
    for (const auto& entry :
         std::filesystem::recursive_directory_iterator(root + "/20/pytree/" + kTreeDataDirName)) {
      if (entry.is_regular_file()) data += entry.file_size();
    }
    EXPECT_EQ(data, uint64_t{(kRows + 1) * kCols * 4});
  }
  for (int count = 1; count < ranks; ++count) {
    MPI_Comm sub = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, rank < count ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub != MPI_COMM_NULL) {
      std::unique_ptr<MpiCoordinator> group = MakeCoordinator(sub);
      ASSERT_NE(group, nullptr);
      auto checkpointer = Checkpointer::Create(root, Together(*group));
      ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
      ASSERT_EQ((*checkpointer)->LatestStep(), 20);
      const int64_t begin = kRows * group->process_index() / count;
      const int64_t end = kRows * (group->process_index() + 1) / count;
      ArraySpec region;
      region.shape = Shape{end - begin, kCols};
      region.origin = Shape{begin, 0};
      Tree abstract = Tree::Dict();
      abstract.Set("w", Tree::Spec(region));
      abstract.Set("bias", Tree::AsSaved());
      abstract.Set("step", Tree::AsSaved());
      absl::StatusOr<Tree> loaded = (*checkpointer)->Load(20, abstract);
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(WRows(20, begin, end)))
          << "rows " << begin << ".." << end << " on " << count << " ranks";
      EXPECT_TRUE(loaded->Find("bias")->array().ContentEquals(Bias()));
      EXPECT_EQ(loaded->Find("step")->int_value(), 20);
      checkpointer->reset();
      group.reset();
      MPI_Comm_free(&sub);
    }
    ASSERT_TRUE(world->Barrier(absl::StrCat("resumed on ", count)).ok());
  }
}

TEST(MpiCheckpointer, OrbaxFormatStepsHoldEveryRanksShardsUnderOneRoot) {
  const int rank = WorldRank();
  const int ranks = WorldSize();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.Join("orbax");
  // Orbax's zarr layout needs equal pieces on a grid: 8 rows per rank.
  const int64_t rows = 8 * ranks;
  Array w = WRows(10, 8 * rank, 8 * (rank + 1));
  w.set_placement(ShardPlacement{{rows, kCols}, {8 * rank, 0}});
  Array bias = Bias();
  bias.set_placement(ShardPlacement{{kCols}, {0}, rank, ranks});
  Tree state = Tree::Dict();
  state.Set("bias", Tree::FromArray(std::move(bias)));
  state.Set("step", Tree::Int(10));
  state.Set("w", Tree::FromArray(std::move(w)));
  CheckpointerOptions options = Together(*world);
  options.store_save.format = StoreFormat::kOrbax;
  {
    auto checkpointer = Checkpointer::Create(root, options);
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    absl::StatusOr<SaveFuture> future = (*checkpointer)->SaveAsync(10, state);
    ASSERT_TRUE(future.ok()) << future.status();
    EXPECT_TRUE((*checkpointer)->Close().ok());
  }
  if (rank == 0) {
    for (int r = 0; r < ranks; ++r) {
      EXPECT_TRUE(std::filesystem::exists(absl::StrCat(root, "/10/pytree/ocdbt.process_", r)));
    }
    // One reader, no coordinator: the merged root holds every rank's shards.
    absl::StatusOr<Tree> loaded = Load(root + "/10");
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(WRows(10, 0, rows)));
    EXPECT_TRUE(loaded->Find("bias")->array().ContentEquals(Bias()));
    EXPECT_EQ(loaded->Find("step")->int_value(), 10);
  }
  ASSERT_TRUE(world->Barrier("orbax checked").ok());
}

TEST(MpiCheckpointer, OneRankPreemptedStopsEveryRankAfterTheSameStep) {
  const int rank = WorldRank();
  const int ranks = WorldSize();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.Join("run");
  CheckpointerOptions options = Together(*world);
  options.save_policies = {SavePolicy::EveryNSteps(1000)};
  auto checkpointer = Checkpointer::Create(root, options);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  int64_t stopped = -1;
  for (int64_t step = 1; step < 100; ++step) {
    if (rank == ranks - 1 && step == 13) (*checkpointer)->NotifyPreemption();
    absl::StatusOr<SaveFuture> future =
        (*checkpointer)->SaveAsync(step, PiecesOf(step, rank, ranks));
    ASSERT_TRUE(future.ok()) << future.status();
    if ((*checkpointer)->Preempted()) {
      EXPECT_TRUE(future->started());
      stopped = step;
      break;
    }
  }
  EXPECT_EQ(stopped, 13);
  EXPECT_THAT((*checkpointer)->AllSteps(), ElementsAre(13));
  EXPECT_TRUE((*checkpointer)->Close().ok());
}

TEST(MpiCheckpointer, ADiskFailureOnOneRankFailsTheStepOnEveryRank) {
  const int rank = WorldRank();
  const int ranks = WorldSize();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.Join("run");
  FaultInjectionFilesystem faulty(Filesystem::Default());
  CheckpointerOptions options = Together(*world);
  options.filesystem = &faulty;
  options.max_to_keep = 1;
  auto checkpointer = Checkpointer::Create(root, options);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  ASSERT_TRUE((*checkpointer)->Save(1, PiecesOf(1, rank, ranks)).ok());
  if (rank == 1) faulty.FailAll(FaultOp::kSync, IoError());
  absl::Status failed = (*checkpointer)->Save(2, PiecesOf(2, rank, ranks)).status();
  EXPECT_EQ(failed.code(), absl::StatusCode::kDataLoss) << failed;
  EXPECT_THAT(failed.message(), HasSubstr(absl::StrCat("process 1 of ", ranks)));
  // Nothing of step 2 is visible, and step 1 was not retired for it.
  EXPECT_THAT((*checkpointer)->AllSteps(), ElementsAre(1));
  absl::StatusOr<std::vector<int64_t>> listed = ListSteps(root);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_THAT(*listed, ElementsAre(1));
  faulty.Clear();
  EXPECT_TRUE((*checkpointer)->Save(3, PiecesOf(3, rank, ranks)).ok());
  EXPECT_TRUE((*checkpointer)->Close().ok());
  // The next decision tells every rank what the primary's retention removed.
  EXPECT_FALSE((*checkpointer)->ShouldSave(3));
  EXPECT_THAT((*checkpointer)->AllSteps(), ElementsAre(3));
}

TEST(MpiCheckpointer, AnEvaluatorJobFollowsTheRunAsOne) {
  const int rank = WorldRank();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string root = tmp.Join("run");
  // A trainer of its own (one process) commits steps while the job follows.
  std::thread trainer;
  if (rank == 0) {
    trainer = std::thread([root] {
      auto checkpointer = Checkpointer::Create(root);
      ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
      for (int64_t step = 1; step <= 4; ++step) {
        Tree state = Tree::Dict();
        state.Set("step", Tree::Int(step));
        ASSERT_TRUE((*checkpointer)->Save(step, state).ok());
        absl::SleepFor(absl::Milliseconds(30));
      }
    });
  }
  CheckpointsIteratorOptions options;
  options.coordinator = world.get();
  options.mode = FollowMode::kEveryStep;
  options.timeout = absl::Seconds(2);
  options.coordination_interval = absl::Milliseconds(50);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(root, options);
  ASSERT_TRUE(it.ok()) << it.status();
  std::string seen;
  for (;;) {
    absl::StatusOr<LeasedStep> step = it->Next();
    ASSERT_TRUE(step.ok()) << step.status();
    if (!step->found()) break;
    EXPECT_TRUE(step->leased());
    absl::StrAppend(&seen, step->step(), " ");
  }
  if (trainer.joinable()) trainer.join();
  EXPECT_EQ(seen, "1 2 3 4 ");
  absl::StatusOr<std::vector<std::string>> all = world->Gather("seen", seen);
  ASSERT_TRUE(all.ok()) << all.status();
  for (const std::string& other : *all) EXPECT_EQ(other, seen);
}

}  // namespace
}  // namespace cairn
