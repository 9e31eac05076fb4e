// Retention through the Checkpointer: policies decide what stays, the latest step is kept
// unless allowed to go, a leased step is kept and retried at the next pass, retired steps can be
// moved aside, and nothing is retired for a save that did not commit.
#include <filesystem>

#include "cairn/manager/checkpointer.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using testing::IsStateAt;
using testing::OpenCheckpointer;
using testing::StateAt;
using testing::TempDir;

// Saves each step with metrics {"loss": loss}, then waits for retention.
void SaveAll(Checkpointer& ckpt, const std::vector<std::pair<int64_t, double>>& steps) {
  for (const auto& [step, loss] : steps) {
    SaveArgs args;
    args.metrics = {{"loss", loss}};
    absl::StatusOr<bool> saved = ckpt.Save(step, StateAt(step), args);
    ASSERT_TRUE(saved.ok()) << saved.status();
    ASSERT_TRUE(*saved);
  }
  ASSERT_TRUE(ckpt.WaitUntilFinished().ok());
}

std::vector<int64_t> OnDisk(const std::string& root) { return ListSteps(root).value(); }

TEST(Retention, KeepsEverythingByDefault) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path(), CheckpointerOptions());
  SaveAll(*ckpt, {{1, 0}, {2, 0}, {3, 0}, {4, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2, 3, 4));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(1, 2, 3, 4));
}

TEST(Retention, MaxToKeepKeepsTheLatestSteps) {
  TempDir tmp;
  CheckpointerOptions options;
  options.max_to_keep = 2;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(4, 5));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(4, 5));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(4), 4));
}

TEST(Retention, PoliciesCombineByKeepingWhatAnyKeeps) {
  TempDir tmp;
  CheckpointerOptions options;
  options.max_to_keep = 1;
  options.preservation_policies = {PreservationPolicy::EveryNSteps(3)};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}, {6, 0}, {7, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3, 6, 7));
}

TEST(Retention, BestNNeverDeletesTheLatestStep) {
  TempDir tmp;
  CheckpointerOptions options;
  options.preservation_policies = {
      PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 2)};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  // The loss got worse at the end: best-N alone would delete the step a restart needs.
  SaveAll(*ckpt, {{1, 0.9}, {2, 0.1}, {3, 0.2}, {4, 0.8}, {5, 0.7}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2, 3, 5));
  EXPECT_EQ(*ckpt->BestStep(), 2);
}

TEST(Retention, TheLatestStepMayGoWhenExplicitlyAllowed) {
  TempDir tmp;
  CheckpointerOptions options;
  options.preservation_policies = {
      PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 2)};
  options.allow_deleting_latest = true;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{1, 0.9}, {2, 0.1}, {3, 0.2}, {4, 0.8}, {5, 0.7}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2, 3));
  // The next step is still judged against the latest step ever saved: no back-filling.
  EXPECT_FALSE(ckpt->ShouldSave(4));
}

// A run keeping one step, which saved steps 1 and 2 while a reader leased step 1.
class LeasedRetention : public ::testing::Test {
 protected:
  void SetUp() override {
    CheckpointerOptions options;
    options.max_to_keep = 1;
    ckpt_ = OpenCheckpointer(tmp_.path(), options);
    SaveAll(*ckpt_, {{1, 0}});
    lease_ = AcquireLease(ckpt_->StepDir(1));
    ASSERT_TRUE(lease_.ok()) << lease_.status();
    SaveAll(*ckpt_, {{2, 0}});
  }
  TempDir tmp_;
  std::unique_ptr<Checkpointer> ckpt_;
  absl::StatusOr<StepLease> lease_;
};

TEST_F(LeasedRetention, ALeasedStepIsKeptAndRetriedAtTheNextPass) {
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1, 2));
  EXPECT_TRUE(IsStateAt(*ckpt_->Load(1), 1));
  ASSERT_TRUE(lease_->Release().ok());
  SaveAll(*ckpt_, {{3, 0}});
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(3));
  EXPECT_THAT(OnDisk(tmp_.path()), ElementsAre(3));
}

TEST(Retention, DeleteRefusesALeasedStep) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path(), CheckpointerOptions());
  SaveAll(*ckpt, {{1, 0}, {2, 0}});
  absl::StatusOr<StepLease> lease = AcquireLease(ckpt->StepDir(1));
  ASSERT_TRUE(lease.ok());
  absl::Status deleted = ckpt->Delete(1);
  EXPECT_EQ(deleted.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(deleted.message(), ::testing::HasSubstr("leased"));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2));
  // Nor is a leased step overwritten under its reader.
  SaveArgs overwrite;
  overwrite.overwrite = true;
  EXPECT_EQ(ckpt->Save(1, StateAt(9), overwrite).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsStateAt(*ckpt->Load(1), 1));
}

TEST(Retention, RetiredStepsCanBeMovedAside) {
  TempDir tmp;
  CheckpointerOptions options;
  options.max_to_keep = 1;
  options.todelete_subdir = "todelete";
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{1, 0}, {2, 0}, {3, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(3));
  EXPECT_THAT(OnDisk(tmp.Join("todelete")), ElementsAre(1, 2));
  EXPECT_TRUE(IsStateAt(*Load(tmp.Join("todelete/2")), 2));
}

TEST(Retention, AFailedSaveRetiresNothing) {
  TempDir tmp;
  FaultInjectionFilesystem faults(Filesystem::Default());
  CheckpointerOptions options;
  options.max_to_keep = 1;
  options.filesystem = &faults;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{1, 0}});
  faults.FailAll(FaultOp::kRename, NoSpaceError());
  EXPECT_EQ(ckpt->Save(2, StateAt(2)).status().code(), absl::StatusCode::kResourceExhausted);
  faults.Clear();
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(1));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(1), 1));
}

TEST(Retention, AFailedDeletionIsReportedAndRetriedLater) {
  TempDir tmp;
  FaultInjectionFilesystem faults(Filesystem::Default());
  CheckpointerOptions options;
  options.max_to_keep = 1;
  options.filesystem = &faults;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  const int64_t before = faults.Count(FaultOp::kRename);
  SaveAll(*ckpt, {{1, 0}});
  const int64_t renames_per_save = faults.Count(FaultOp::kRename) - before;
  // The save of step 2 makes its renames; the next is retention moving step 1 out of sight,
  // and that one fails.
  faults.FailNth(FaultOp::kRename, static_cast<int>(renames_per_save), IoError());
  ASSERT_EQ(ckpt->Save(2, StateAt(2)).value_or(false), true);
  absl::Status status = ckpt->WaitUntilFinished();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), ::testing::HasSubstr("retiring step 1"));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(1, 2));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(1), 1));
  for (const std::string& name : testing::EntryNames(tmp.Join("1"))) {
    EXPECT_EQ(name.find(kDeletionIntentName), std::string::npos) << "intent not withdrawn";
  }
  SaveAll(*ckpt, {{3, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(3));
}

TEST(Retention, RunsOnStepsFoundAtStartUp) {
  TempDir tmp;
  SaveAll(*OpenCheckpointer(tmp.path(), CheckpointerOptions()), {{1, 0}, {2, 0}, {3, 0}});
  CheckpointerOptions options;
  options.max_to_keep = 2;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveAll(*ckpt, {{4, 0}});
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3, 4));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(3, 4));
}

// Steps saved with no policy, as a run killed after each commit, before its retention pass.
void SaveFiveWithoutRetention(const std::string& root) {
  SaveAll(*OpenCheckpointer(root, CheckpointerOptions()), {{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}});
}

TEST(Retention, RunsWhenACheckpointerOpensWithoutWaitingForACommit) {
  TempDir tmp;
  SaveFiveWithoutRetention(tmp.path());
  CheckpointerOptions options;
  options.max_to_keep = 3;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3, 4, 5));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(3, 4, 5));
}

TEST(Retention, TheStartUpPassKeepsALeasedStep) {
  TempDir tmp;
  SaveFiveWithoutRetention(tmp.path());
  absl::StatusOr<StepLease> lease = AcquireLease(tmp.Join("1"));
  ASSERT_TRUE(lease.ok()) << lease.status();
  CheckpointerOptions options;
  options.max_to_keep = 3;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 3, 4, 5));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(1, 3, 4, 5));
}

TEST(Retention, AReadOnlyCheckpointerRetiresNothing) {
  TempDir tmp;
  SaveFiveWithoutRetention(tmp.path());
  CheckpointerOptions options;
  options.max_to_keep = 3;
  options.read_only = true;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  absl::Status applied = ckpt->ApplyRetention();
  EXPECT_EQ(applied.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(applied.message(), ::testing::HasSubstr("read-only"));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(1, 2, 3, 4, 5));
}

TEST_F(LeasedRetention, ApplyRetentionRetiresAStepOnceItsLeaseIsReleased) {
  ASSERT_TRUE(ckpt_->ApplyRetention().ok());
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1, 2));  // still leased
  ASSERT_TRUE(lease_->Release().ok());
  ASSERT_TRUE(ckpt_->ApplyRetention().ok());
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(2));
  EXPECT_THAT(OnDisk(tmp_.path()), ElementsAre(2));
}

TEST(Retention, ApplyRetentionReportsAFailedDeletion) {
  TempDir tmp;
  FaultInjectionFilesystem faults(Filesystem::Default());
  SaveFiveWithoutRetention(tmp.path());
  faults.FailAll(FaultOp::kRename, IoError());
  CheckpointerOptions options;
  options.max_to_keep = 3;
  options.filesystem = &faults;
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  EXPECT_EQ(ckpt->WaitUntilFinished().code(), absl::StatusCode::kDataLoss);  // the start-up pass
  absl::Status applied = ckpt->ApplyRetention();
  EXPECT_EQ(applied.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(applied.message(), ::testing::HasSubstr("retiring step 1"));
  faults.Clear();
  ASSERT_TRUE(ckpt->ApplyRetention().ok());
  EXPECT_THAT(OnDisk(tmp.path()), ElementsAre(3, 4, 5));
}

}  // namespace
}  // namespace cairn
