// A Checkpointer shared by several processes (threads with a ThreadCoordinator here; MPI ranks
// in tests/mpi/): every process saves its own pieces, the primary decides and commits, and every
// process sees the same steps, the same decisions and the same errors.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/gated_filesystem.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_coordinator.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Iota;
using testing::RunThreadGroup;
using testing::TempDir;

constexpr int64_t kRows = 12;
constexpr int64_t kCols = 8;

// The global state of `step`: w (kRows x kCols) whose values depend on the step, and a bias
// every process holds whole.
Array GlobalW(int64_t step) {
  std::vector<float> values(kRows * kCols);
  for (int64_t i = 0; i < kRows * kCols; ++i) values[i] = static_cast<float>(i + 1000 * step);
  return Array::FromValues(values, {kRows, kCols});
}

// Rows [begin, end) of `array` (kCols wide), as an array of their own.
Array RowsOf(const Array& array, int64_t begin, int64_t end) {
  const float* first = static_cast<const float*>(array.data()) + begin * kCols;
  return Array::FromValues(std::vector<float>(first, first + (end - begin) * kCols),
                           {end - begin, kCols});
}

Array Bias() { return Iota<float>({kCols}); }

// Process p of n's pieces: a block of rows of w and a replica of the bias. The arrays are
// copies, so the tree owns its memory.
Tree PiecesOf(const Array& w, const Array& bias, int p, int n) {
  const int64_t begin = kRows * p / n;
  const int64_t end = kRows * (p + 1) / n;
  Array rows = RowsOf(w, begin, end);
  rows.set_placement(ShardPlacement{{kRows, kCols}, {begin, 0}});
  Array replica = *bias.Copy();
  replica.set_placement(ShardPlacement{{kCols}, {0}, p, n});
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(std::move(rows)));
  tree.Set("bias", Tree::FromArray(std::move(replica)));
  return tree;
}

CheckpointerOptions Together(Coordinator& coordinator) {
  CheckpointerOptions options;
  options.coordinator = &coordinator;
  return options;
}

std::vector<int64_t> Listed(const std::string& root) {
  absl::StatusOr<std::vector<int64_t>> steps = ListSteps(root);
  EXPECT_TRUE(steps.ok()) << steps.status();
  return steps.value_or(std::vector<int64_t>{});
}

TEST(CheckpointerProcesses, ThreeProcessesSaveOneStepThatOneLoadsWhole) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> saved(3);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    absl::StatusOr<bool> result = (*checkpointer)->Save(5, PiecesOf(GlobalW(5), Bias(), p, 3));
    saved[p] = result.status();
    if (result.ok()) EXPECT_TRUE(*result);
    EXPECT_EQ((*checkpointer)->LatestStep(), 5);
    saved[p].Update((*checkpointer)->Close());
  });
  for (const absl::Status& status : saved) ASSERT_TRUE(status.ok()) << status;
  auto reader = Checkpointer::Create(root);
  ASSERT_TRUE(reader.ok()) << reader.status();
  absl::StatusOr<Tree> loaded = (*reader)->Load(5);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(GlobalW(5)));
  EXPECT_TRUE(loaded->Find("bias")->array().ContentEquals(Bias()));
  absl::StatusOr<CheckpointMetadata> metadata = (*reader)->Metadata(5);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_GE(metadata->performance_metrics["bytes_written"].get<uint64_t>(),
            (kRows * kCols + kCols) * sizeof(float));
}

TEST(CheckpointerProcesses, EveryProcessSeesTheStepsThePrimaryRetired) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<std::vector<int64_t>> seen(3);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    CheckpointerOptions options = Together(coordinator);
    options.max_to_keep = 2;
    auto checkpointer = Checkpointer::Create(root, options);
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int64_t step = 0; step < 5; ++step) {
      ASSERT_TRUE((*checkpointer)->SaveAsync(step, PiecesOf(GlobalW(step), Bias(), p, 3)).ok());
    }
    ASSERT_TRUE((*checkpointer)->WaitUntilFinished().ok());
    // The primary's passes are done once it reaches the next decision, which tells the others.
    EXPECT_FALSE((*checkpointer)->ShouldSave(4));
    seen[p] = (*checkpointer)->AllSteps();
  });
  for (const std::vector<int64_t>& steps : seen) EXPECT_THAT(steps, ElementsAre(3, 4));
  EXPECT_THAT(Listed(root), ElementsAre(3, 4));
}

TEST(CheckpointerProcesses, OneProcessPreemptedMakesEverySaveTheSameStep) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<int64_t> stopped_at(3, -1);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    CheckpointerOptions options = Together(coordinator);
    options.save_policies = {SavePolicy::EveryNSteps(100)};
    auto checkpointer = Checkpointer::Create(root, options);
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int64_t step = 1; step < 50; ++step) {
      if (p == 2 && step == 7) (*checkpointer)->NotifyPreemption();
      absl::StatusOr<SaveFuture> future =
          (*checkpointer)->SaveAsync(step, PiecesOf(GlobalW(step), Bias(), p, 3));
      ASSERT_TRUE(future.ok()) << future.status();
      if ((*checkpointer)->Preempted()) {
        EXPECT_TRUE(future->started());
        stopped_at[p] = step;
        break;
      }
      EXPECT_FALSE(future->started()) << "step " << step;
    }
    EXPECT_TRUE((*checkpointer)->Close().ok());
  });
  EXPECT_THAT(stopped_at, ElementsAre(7, 7, 7));
  EXPECT_THAT(Listed(root), ElementsAre(7));
}

TEST(CheckpointerProcesses, AFailedWriteOnOneProcessFailsTheStepOnAllAndLeavesNothing) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> failed(3);
  std::vector<absl::Status> retried(3);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    FaultInjectionFilesystem faulty(Filesystem::Default());
    CheckpointerOptions options = Together(coordinator);
    options.filesystem = &faulty;
    auto checkpointer = Checkpointer::Create(root, options);
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    if (p == 1) faulty.FailAll(FaultOp::kWrite, NoSpaceError());
    failed[p] = (*checkpointer)->Save(1, PiecesOf(GlobalW(1), Bias(), p, 3)).status();
    EXPECT_EQ((*checkpointer)->LatestStep(), std::nullopt);
    faulty.Clear();
    retried[p] = (*checkpointer)->Save(2, PiecesOf(GlobalW(2), Bias(), p, 3)).status();
    EXPECT_TRUE((*checkpointer)->Close().ok());
  });
  for (int p = 0; p < 3; ++p) {
    EXPECT_EQ(failed[p].code(), absl::StatusCode::kResourceExhausted) << failed[p];
    EXPECT_THAT(failed[p].message(), HasSubstr("process 1 of 3")) << failed[p];
    EXPECT_TRUE(retried[p].ok()) << retried[p];
  }
  EXPECT_THAT(Listed(root), ElementsAre(2));
  // Nothing of the failed save is left beside the committed step.
  std::vector<std::string> entries;
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    entries.push_back(entry.path().filename().string());
  }
  EXPECT_THAT(entries, ElementsAre("2"));
}

TEST(CheckpointerProcesses, AStateOneProcessCannotSaveFailsTheStepOnAll) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> results(3);
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    Tree state = PiecesOf(GlobalW(3), Bias(), p, 3);
    if (p == 2) state.Set("bad\xff", Tree::Int(1));
    results[p] = (*checkpointer)->Save(3, state).status();
  });
  for (const absl::Status& status : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("process 2 of 3"));
  }
  EXPECT_TRUE(Listed(root).empty());
}

TEST(CheckpointerProcesses, ProcessesOfferingDifferentStepsAreRefused) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> results(2);
  RunThreadGroup(2, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    results[p] = (*checkpointer)->Save(3 + p, PiecesOf(GlobalW(3), Bias(), p, 2)).status();
  });
  for (const absl::Status& status : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr("not making the same call"));
  }
  EXPECT_TRUE(Listed(root).empty());
}

TEST(CheckpointerProcesses, AnExistingStepIsRefusedOnEveryProcess) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> results(2);
  RunThreadGroup(2, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    ASSERT_TRUE((*checkpointer)->Save(3, PiecesOf(GlobalW(3), Bias(), p, 2)).ok());
    SaveArgs args;
    args.force = true;
    results[p] = (*checkpointer)->Save(3, PiecesOf(GlobalW(4), Bias(), p, 2), args).status();
  });
  for (const absl::Status& status : results) {
    EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists) << status;
  }
}

TEST(CheckpointerProcesses, ARestartedGroupOfAnotherSizeResumesFromTheLatestStep) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  RunThreadGroup(3, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int64_t step : {10, 20}) {
      ASSERT_TRUE((*checkpointer)->Save(step, PiecesOf(GlobalW(step), Bias(), p, 3)).ok());
    }
  });
  std::vector<int> exact(2, 0);
  RunThreadGroup(2, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    ASSERT_EQ((*checkpointer)->LatestStep(), 20);
    // Each loads rows [6p, 6p + 6), which cut across the three saved shards.
    ArraySpec rows;
    rows.shape = Shape{6, kCols};
    rows.origin = Shape{6 * p, 0};
    Tree abstract = Tree::Dict();
    abstract.Set("w", Tree::Spec(rows));
    abstract.Set("bias", Tree::AsSaved());
    absl::StatusOr<Tree> loaded = (*checkpointer)->Load(20, abstract);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    const Array expected = RowsOf(GlobalW(20), 6 * p, 6 * p + 6);
    exact[p] = loaded->Find("w")->array().ContentEquals(expected) &&
               loaded->Find("bias")->array().ContentEquals(Bias());
  });
  EXPECT_THAT(exact, ElementsAre(1, 1));
}

TEST(CheckpointerProcesses, DeleteAndReloadRunOnThePrimaryAndEveryProcessSeesThem) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<std::vector<int64_t>> after_delete(2);
  std::vector<std::vector<int64_t>> after_reload(2);
  RunThreadGroup(2, [&](int p, Coordinator& coordinator) {
    auto checkpointer = Checkpointer::Create(root, Together(coordinator));
    ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
    for (int64_t step : {1, 2, 3}) {
      ASSERT_TRUE((*checkpointer)->Save(step, PiecesOf(GlobalW(step), Bias(), p, 2)).ok());
    }
    ASSERT_TRUE((*checkpointer)->Delete(2).ok());
    after_delete[p] = (*checkpointer)->AllSteps();
    // Another writer removes step 1 behind the run's back; Reload lists it once for all.
    if (p == 0) std::filesystem::remove_all(root + "/1");
    ASSERT_TRUE((*checkpointer)->Reload().ok());
    after_reload[p] = (*checkpointer)->AllSteps();
  });
  for (int p = 0; p < 2; ++p) {
    EXPECT_THAT(after_delete[p], ElementsAre(1, 3));
    EXPECT_THAT(after_reload[p], ElementsAre(3));
  }
}

TEST(CheckpointerProcesses, AProcessThatNeverOffersTheStepFailsTheOthersWithinTheDeadline) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> results(3);
  RunThreadGroup(
      3,
      [&](int p, Coordinator& coordinator) {
        auto checkpointer = Checkpointer::Create(root, Together(coordinator));
        ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
        if (p == 2) return;  // as if it died
        results[p] = (*checkpointer)->Save(1, PiecesOf(GlobalW(1), Bias(), p, 3)).status();
      },
      absl::Seconds(2));
  for (int p = 0; p < 2; ++p) {
    EXPECT_EQ(results[p].code(), absl::StatusCode::kDeadlineExceeded) << results[p];
  }
  EXPECT_TRUE(Listed(root).empty());
}

TEST(CheckpointerProcesses, AProcessStalledMidSaveFailsTheStepWithinTheDeadlineAndLeavesNothing) {
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::vector<absl::Status> results(3);
  testing::GatedFilesystem gated(Filesystem::Default());
  RunThreadGroup(
      3,
      [&](int p, Coordinator& coordinator) {
        CheckpointerOptions options = Together(coordinator);
        if (p == 1) options.filesystem = &gated;
        auto checkpointer = Checkpointer::Create(root, options);
        ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
        if (p == 1) gated.Close();
        absl::StatusOr<SaveFuture> future =
            (*checkpointer)->SaveAsync(1, PiecesOf(GlobalW(1), Bias(), p, 3));
        ASSERT_TRUE(future.ok()) << future.status();
        if (p != 1) {
          results[p] = future->Wait();
          // The others have given up: let the stalled one go on, to find the step failed.
          if (p == 0) gated.Open();
        } else {
          results[p] = future->Wait();
        }
      },
      absl::Seconds(2));
  for (int p = 0; p < 3; ++p) {
    EXPECT_FALSE(results[p].ok()) << "process " << p;
  }
  EXPECT_EQ(results[0].code(), absl::StatusCode::kDeadlineExceeded) << results[0];
  EXPECT_TRUE(Listed(root).empty());
  for (const auto& entry : std::filesystem::directory_iterator(root)) {
    ADD_FAILURE() << "left behind: " << entry.path();
  }
}

}  // namespace
}  // namespace cairn
