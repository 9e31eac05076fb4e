// The Checkpointer under faults injected through the Filesystem seam: a save killed at any of
// its filesystem operations, or cut by a power loss at any point of a save and its retention
// pass, leaves a root where the next Checkpointer lists only committed steps, each loading bit
// for bit; a full disk or a refused write fails that save alone.
#include <filesystem>

#include "cairn/manager/checkpointer.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::IsStateAt;
using testing::StateAt;
using testing::TempDir;

std::unique_ptr<Checkpointer> Open(Filesystem* fs, const std::string& root, int max_to_keep = 0) {
  CheckpointerOptions options;
  options.filesystem = fs;
  if (max_to_keep > 0) options.max_to_keep = max_to_keep;
  return testing::OpenCheckpointer(root, options);
}

// Open, once its start-up cleanup and retention pass are done: the steps it then lists stay.
std::unique_ptr<Checkpointer> OpenSettled(Filesystem* fs, const std::string& root,
                                          int max_to_keep) {
  std::unique_ptr<Checkpointer> ckpt = Open(fs, root, max_to_keep);
  if (ckpt != nullptr) EXPECT_TRUE(ckpt->WaitUntilFinished().ok());
  return ckpt;
}

// Every listed step loads as the state of that step.
void ExpectEveryStepLoads(Checkpointer& ckpt, const std::string& context) {
  for (int64_t step : ckpt.AllSteps()) {
    absl::StatusOr<Tree> tree = ckpt.Load(step);
    ASSERT_TRUE(tree.ok()) << context << ": step " << step << ": " << tree.status();
    EXPECT_TRUE(IsStateAt(*tree, step)) << context << ": step " << step;
  }
}

// How many mutations a save of one more step (and the retention pass after it) makes on a root
// holding steps 1 and 2.
int64_t MutationsOfSaveAndRetention(int max_to_keep) {
  MemoryFilesystem memory;
  Open(&memory, "/run")->Save(1, StateAt(1)).IgnoreError();
  Open(&memory, "/run")->Save(2, StateAt(2)).IgnoreError();
  FaultInjectionFilesystem faults(&memory);
  auto ckpt = Open(&faults, "/run", max_to_keep);
  const int64_t before = faults.MutationCount();
  EXPECT_TRUE(*ckpt->Save(3, StateAt(3)));
  EXPECT_TRUE(ckpt->WaitUntilFinished().ok());
  return faults.MutationCount() - before;
}

class KilledSaveTest : public ::testing::TestWithParam<int> {
 protected:
  // On a root holding steps 1 and 2, a process saves step 3 and dies at its n-th mutation (that
  // operation and every later one fail). Whether the save was acknowledged.
  bool SaveAndDieAt(MemoryFilesystem& memory, int64_t n) {
    EXPECT_TRUE(*Open(&memory, "/run")->Save(1, StateAt(1)));
    EXPECT_TRUE(*Open(&memory, "/run")->Save(2, StateAt(2)));
    FaultInjectionFilesystem faults(&memory);
    auto dying = Open(&faults, "/run", GetParam());
    faults.FailAllMutationsFrom(static_cast<int>(n), IoError());
    absl::StatusOr<bool> result = dying->Save(3, StateAt(3));
    dying->WaitUntilFinished().IgnoreError();
    return result.ok() && *result;
  }
};

// The process "dies" at the n-th mutation: that operation and every later one fail. A new
// Checkpointer on the same files then finds only the committed steps, and saves again.
TEST_P(KilledSaveTest, TheNextCheckpointerFindsOnlyCommittedSteps) {
  const int max_to_keep = GetParam();
  const int64_t mutations = MutationsOfSaveAndRetention(max_to_keep);
  ASSERT_GT(mutations, 10);
  for (int64_t n = 0; n <= mutations; ++n) {
    const std::string context = absl::StrCat("killed at mutation ", n, " of ", mutations);
    MemoryFilesystem memory;
    const bool saved = SaveAndDieAt(memory, n);
    auto next = OpenSettled(&memory, "/run", max_to_keep);
    const std::vector<int64_t> steps = next->AllSteps();
    // An acknowledged save is listed. One that was cut short is not, unless the process died
    // after its commit, as after a real crash; either way every listed step loads.
    if (saved) EXPECT_EQ(std::count(steps.begin(), steps.end(), 3), 1) << context;
    ExpectEveryStepLoads(*next, context);
    ASSERT_TRUE(next->Save(4, StateAt(4)).value_or(false)) << context;
    EXPECT_TRUE(IsStateAt(*next->Load(4), 4)) << context;
  }
}

// Power is cut after the n-th mutation of a save and its retention pass: only what was synced
// survives. Every step a new Checkpointer lists loads; an acknowledged save survives.
TEST_P(KilledSaveTest, PowerLossAtAnyPointLeavesOnlyWholeSteps) {
  const int max_to_keep = GetParam();
  const int64_t mutations = MutationsOfSaveAndRetention(max_to_keep);
  for (int64_t n = 0; n <= mutations; ++n) {
    const std::string context = absl::StrCat("power lost after mutation ", n, " of ", mutations);
    MemoryFilesystem memory;
    const bool saved = SaveAndDieAt(memory, n);
    memory.SimulatePowerLoss();
    auto next = OpenSettled(&memory, "/run", max_to_keep);
    const std::vector<int64_t> steps = next->AllSteps();
    if (saved) EXPECT_EQ(std::count(steps.begin(), steps.end(), 3), 1) << context;
    EXPECT_FALSE(steps.empty()) << context;
    ExpectEveryStepLoads(*next, context);
  }
}

INSTANTIATE_TEST_SUITE_P(Retention, KilledSaveTest, ::testing::Values(0, 1), [](const auto& info) {
  return info.param == 0 ? std::string("KeepAll") : std::string("MaxToKeep1");
});

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ckpt_ = Open(&faults_, tmp_.path());
    ASSERT_TRUE(*ckpt_->Save(1, StateAt(1)));
  }
  // The save of step 2 failed with `code` and changed nothing; once the fault is gone it works.
  void ExpectFailedCleanly(absl::StatusOr<bool> result, absl::StatusCode code) {
    EXPECT_EQ(result.status().code(), code) << result.status();
    faults_.Clear();
    EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1));
    EXPECT_THAT(testing::EntryNames(tmp_.path()), ElementsAre("1"));  // no temporary left
    EXPECT_TRUE(IsStateAt(*ckpt_->Load(1), 1));
    EXPECT_TRUE(ckpt_->Save(2, StateAt(2)).value_or(false));
    EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1, 2));
  }
  TempDir tmp_;
  FaultInjectionFilesystem faults_{Filesystem::Default()};
  std::unique_ptr<Checkpointer> ckpt_;
};

TEST_F(DiskFaultTest, AFullDiskFailsTheSaveAlone) {
  faults_.FailAll(FaultOp::kWrite, NoSpaceError());
  ExpectFailedCleanly(ckpt_->Save(2, StateAt(2)), absl::StatusCode::kResourceExhausted);
}

TEST_F(DiskFaultTest, AShortWriteFailsTheSaveAlone) {
  faults_.ShortWriteNth(2);
  ExpectFailedCleanly(ckpt_->Save(2, StateAt(2)), absl::StatusCode::kResourceExhausted);
}

TEST_F(DiskFaultTest, AFailedFsyncFailsTheSaveAlone) {
  faults_.FailAll(FaultOp::kSync, IoError());
  ExpectFailedCleanly(ckpt_->Save(2, StateAt(2)), absl::StatusCode::kDataLoss);
}

TEST_F(DiskFaultTest, ARefusedWriteNamesThePath) {
  faults_.FailAll(FaultOp::kCreateDir, PermissionError());
  absl::StatusOr<bool> result = ckpt_->Save(2, StateAt(2));
  EXPECT_THAT(result.status().message(), HasSubstr(tmp_.path()));
  ExpectFailedCleanly(result, absl::StatusCode::kPermissionDenied);
}

TEST_F(DiskFaultTest, AnAsyncSaveOnAFullDiskIsReportedByTheFuture) {
  faults_.FailAll(FaultOp::kWrite, NoSpaceError());
  absl::StatusOr<SaveFuture> future = ckpt_->SaveAsync(2, StateAt(2));
  ASSERT_TRUE(future.ok()) << future.status();
  const absl::Status status = future->Wait();
  ASSERT_FALSE(status.ok());
  EXPECT_TRUE(ckpt_->WaitUntilFinished().ok());  // reported once, by the future
  ExpectFailedCleanly(absl::StatusOr<bool>(status), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace cairn
