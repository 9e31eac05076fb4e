// The Checkpointer's async saves: the caller pays for one host copy and may then change its
// state, one save is in flight at a time, only committed steps are listed, and an error in a
// background save is never lost. A gate on the filesystem holds a save midway, deterministically.
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/cord.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/gated_filesystem.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using testing::DataIterator;
using ::testing::ElementsAre;
using testing::GatedFilesystem;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsStateAt;
using testing::OpenCheckpointer;
using testing::StateAt;
using testing::TempDir;

class AsyncSaveTest : public ::testing::Test {
 protected:
  CheckpointerOptions Options() {
    CheckpointerOptions options;
    options.filesystem = &gate_;
    return options;
  }
  TempDir tmp_;
  GatedFilesystem gate_{Filesystem::Default()};
};

TEST_F(AsyncSaveTest, TheCallerMayChangeItsStateOnceSaveAsyncReturns) {
  auto ckpt = OpenCheckpointer(tmp_.path(), Options());
  std::vector<float> weights(4096);
  for (size_t i = 0; i < weights.size(); ++i) weights[i] = static_cast<float>(i);
  Tree state = Tree::Dict();
  state.Set("w", Tree::FromArray(Array::Borrow(DType::kFloat32, {64, 64}, weights.data())));

  gate_.Close();
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, state);
  ASSERT_TRUE(future.ok()) << future.status();
  ASSERT_TRUE(gate_.AwaitBlocked(1));
  EXPECT_FALSE(future->Ready());
  std::fill(weights.begin(), weights.end(), -1.0f);  // the next training step
  gate_.Open();
  ASSERT_TRUE(future->Wait().ok());

  absl::StatusOr<Tree> loaded = ckpt->Load(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::Span<const float> saved = loaded->Find("w")->array().values<float>();
  for (size_t i = 0; i < saved.size(); ++i) ASSERT_EQ(saved[i], static_cast<float>(i));
  EXPECT_EQ(future->report().bytes_copied, weights.size() * sizeof(float));
}

TEST_F(AsyncSaveTest, NoCopyModeSavesTheCallersBuffersInPlace) {
  CheckpointerOptions options = Options();
  options.async_copy = AsyncCopy::kNoCopy;
  auto ckpt = OpenCheckpointer(tmp_.path(), options);
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, StateAt(1));
  ASSERT_TRUE(future.ok()) << future.status();
  ASSERT_TRUE(future->Wait().ok());
  EXPECT_EQ(future->report().bytes_copied, 0u);
  EXPECT_TRUE(IsStateAt(*ckpt->Load(1), 1));
}

TEST_F(AsyncSaveTest, StatefulObjectsAreCapturedWhenSaveAsyncIsCalled) {
  auto ckpt = OpenCheckpointer(tmp_.path(), Options());
  auto iterator = std::make_shared<DataIterator>(100);
  Checkpointables items;
  items.emplace("state", StateAt(1));
  items.emplace("dataset", std::shared_ptr<StatefulObject>(iterator));
  gate_.Close();
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, items);
  ASSERT_TRUE(future.ok()) << future.status();
  iterator->set_position(101);
  gate_.Open();
  ASSERT_TRUE(future->Wait().ok());
  auto restored = std::make_shared<DataIterator>();
  std::map<std::string, LoadRequest> request;
  request.emplace("dataset", Checkpointable(std::shared_ptr<StatefulObject>(restored)));
  ASSERT_TRUE(ckpt->LoadCheckpointables(1, request).ok());
  EXPECT_EQ(restored->position(), 100);
  absl::StatusOr<CheckpointMetadata> metadata = ckpt->Metadata(1);
  EXPECT_EQ(metadata->item_handlers.at("dataset"),
            "cairn.StatefulObjectHandler/test.data_iterator.v1");
}

TEST_F(AsyncSaveTest, OnlyCommittedStepsAreListed) {
  auto ckpt = OpenCheckpointer(tmp_.path(), Options());
  gate_.Close();
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, StateAt(1));
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(gate_.AwaitBlocked(1));
  EXPECT_TRUE(ckpt->IsSavingInProgress());
  EXPECT_EQ(ckpt->LatestStep(), std::nullopt);
  EXPECT_THAT(ckpt->AllSteps(), IsEmpty());
  EXPECT_EQ(ckpt->Load(1).status().code(), absl::StatusCode::kNotFound);
  // The step in flight counts for decisions, though: no second save of it, no back-filling.
  EXPECT_FALSE(ckpt->ShouldSave(1));
  gate_.Open();
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_FALSE(ckpt->IsSavingInProgress());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
}

TEST_F(AsyncSaveTest, ANewSaveWaitsForTheOneInFlight) {
  absl::Mutex mu;
  std::vector<int64_t> finished;
  CheckpointerOptions options = Options();
  options.on_save_finished = [&](const SaveReport& report) {
    absl::MutexLock lock(&mu);
    finished.push_back(report.step);
  };
  auto ckpt = OpenCheckpointer(tmp_.path(), options);
  gate_.Close();
  absl::StatusOr<SaveFuture> first = ckpt->SaveAsync(1, StateAt(1));
  ASSERT_TRUE(first.ok());
  ASSERT_TRUE(gate_.AwaitBlocked(1));
  absl::StatusOr<SaveFuture> second = absl::UnknownError("not run");
  std::thread trainer([&] { second = ckpt->SaveAsync(2, StateAt(2)); });
  gate_.Open();
  trainer.join();
  ASSERT_TRUE(second.ok()) << second.status();
  ASSERT_TRUE(second->Wait().ok());
  EXPECT_TRUE(first->Ready());
  // The listener runs after the future is ready; WaitUntilFinished waits for it too.
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  // The second save started writing only once the first had committed.
  const CheckpointMetadata one = *ckpt->Metadata(1);
  const CheckpointMetadata two = *ckpt->Metadata(2);
  EXPECT_GE(*two.init_timestamp_nsecs, *one.commit_timestamp_nsecs);
  absl::MutexLock lock(&mu);
  EXPECT_THAT(finished, ElementsAre(1, 2));
}

TEST_F(AsyncSaveTest, SeveralSavesInFlightWhenAllowed) {
  CheckpointerOptions options = Options();
  options.max_saves_in_flight = 2;
  auto ckpt = OpenCheckpointer(tmp_.path(), options);
  gate_.Close();
  absl::StatusOr<SaveFuture> first = ckpt->SaveAsync(1, StateAt(1));
  absl::StatusOr<SaveFuture> second = ckpt->SaveAsync(2, StateAt(2));  // does not wait
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_FALSE(second->Ready());
  gate_.Open();
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(2), 2));
}

TEST_F(AsyncSaveTest, FutureWaitForTimesOutWhileTheSaveRuns) {
  auto ckpt = OpenCheckpointer(tmp_.path(), Options());
  gate_.Close();
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, StateAt(1));
  ASSERT_TRUE(future.ok());
  EXPECT_EQ(future->WaitFor(absl::Milliseconds(1)).code(), absl::StatusCode::kDeadlineExceeded);
  gate_.Open();
  EXPECT_TRUE(future->WaitFor(absl::Seconds(60)).ok());
}

TEST_F(AsyncSaveTest, SkippedStepGivesAFutureThatDidNotStart) {
  CheckpointerOptions options = Options();
  options.save_policies = {SavePolicy::EveryNSteps(10)};
  auto ckpt = OpenCheckpointer(tmp_.path(), options);
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(3, StateAt(3));
  ASSERT_TRUE(future.ok());
  EXPECT_FALSE(future->started());
  EXPECT_TRUE(future->Ready());
  EXPECT_TRUE(future->Wait().ok());
}

TEST_F(AsyncSaveTest, ReportGivesTheTimingsAndSizes) {
  absl::Mutex mu;
  std::optional<SaveReport> heard;
  CheckpointerOptions options = Options();
  options.on_save_finished = [&](const SaveReport& report) {
    absl::MutexLock lock(&mu);
    heard = report;
  };
  auto ckpt = OpenCheckpointer(tmp_.path(), options);
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(1, StateAt(1));
  ASSERT_TRUE(future.ok());
  ASSERT_TRUE(future->Wait().ok());
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  const SaveReport report = future->report();
  EXPECT_TRUE(report.status.ok());
  EXPECT_EQ(report.step, 1);
  EXPECT_GE(report.bytes_written, report.bytes_copied);
  EXPECT_EQ(report.bytes_copied, (64 * 32 * 2 + 32 * 8 + 8) * sizeof(float));
  EXPECT_LE(report.blocking, report.total);
  EXPECT_LE(report.write + report.commit, report.total);
  EXPECT_GT(report.throughput(), 0);
  absl::MutexLock lock(&mu);
  ASSERT_TRUE(heard.has_value());
  EXPECT_EQ(heard->bytes_written, report.bytes_written);
}

TEST_F(AsyncSaveTest, DestroyingTheCheckpointerFinishesTheSave) {
  {
    auto ckpt = OpenCheckpointer(tmp_.path(), Options());
    ASSERT_TRUE(ckpt->SaveAsync(1, StateAt(1)).ok());
  }
  CheckpointerOptions options;
  EXPECT_THAT(OpenCheckpointer(tmp_.path(), options)->AllSteps(), ElementsAre(1));
}

// Errors of background saves, injected through the filesystem.
class AsyncErrorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    CheckpointerOptions options;
    options.filesystem = &faults_;
    ckpt_ = OpenCheckpointer("/run", options);
    ASSERT_TRUE(*ckpt_->Save(1, StateAt(1)));
  }
  // Starts a save of `step` that fails in the background, and waits until it has.
  SaveFuture FailingSave(int64_t step) {
    faults_.FailAll(FaultOp::kSync, IoError());
    absl::StatusOr<SaveFuture> future = ckpt_->SaveAsync(step, StateAt(step));
    EXPECT_TRUE(future.ok()) << future.status();
    // AwaitReady does not collect the error: it is still there for the Checkpointer to report.
    EXPECT_TRUE(future->AwaitReady(absl::Seconds(60)));
    faults_.Clear();
    return *future;
  }
  MemoryFilesystem memory_;
  FaultInjectionFilesystem faults_{&memory_};
  std::unique_ptr<Checkpointer> ckpt_;
};

TEST_F(AsyncErrorTest, TheNextSaveReportsTheErrorAndTheFailedStepIsNotListed) {
  FailingSave(2);
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1));
  absl::StatusOr<SaveFuture> next = ckpt_->SaveAsync(3, StateAt(3));
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(next.status().message(), HasSubstr("step 2"));
  EXPECT_THAT(next.status().message(), HasSubstr("step 3 was not attempted"));
  // Reported once: the next attempt saves.
  EXPECT_TRUE(*ckpt_->Save(3, StateAt(3)));
  EXPECT_THAT(ckpt_->AllSteps(), ElementsAre(1, 3));
  EXPECT_TRUE(ckpt_->ShouldSave(4));
}

TEST_F(AsyncErrorTest, WaitUntilFinishedReportsTheErrorOnce) {
  FailingSave(2);
  absl::Status status = ckpt_->WaitUntilFinished();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("step 2"));
  EXPECT_TRUE(ckpt_->WaitUntilFinished().ok());
  EXPECT_TRUE(ckpt_->Close().ok());
}

TEST_F(AsyncErrorTest, CloseReportsTheError) {
  FailingSave(2);
  EXPECT_EQ(ckpt_->Close().code(), absl::StatusCode::kDataLoss);
}

TEST_F(AsyncErrorTest, AnErrorTheFutureReportedIsNotReportedAgain) {
  SaveFuture future = FailingSave(2);
  EXPECT_EQ(future.Wait().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(future.Wait().code(), absl::StatusCode::kDataLoss);  // the future keeps its outcome
  EXPECT_TRUE(ckpt_->WaitUntilFinished().ok());
  EXPECT_TRUE(*ckpt_->Save(2, StateAt(2)));  // the failed step can be saved again
}

TEST_F(AsyncErrorTest, ASaveStoppedByAnEarlierFailureSaysSoDistinctly) {
  SaveFuture failed = FailingSave(2);
  absl::StatusOr<SaveFuture> next = ckpt_->SaveAsync(3, StateAt(3));
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(ReportsEarlierSaveFailure(next.status()));
  EXPECT_EQ(next.status().GetPayload(kEarlierSaveFailurePayload), absl::Cord("2"));
  EXPECT_THAT(
      next.status().message(),
      HasSubstr("step 3 was not attempted: the earlier failure of step 2 is reported here"));
  // The failed save's own outcome is its own failure, not a report of another's.
  const absl::Status own = failed.Wait();
  EXPECT_EQ(own.code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(ReportsEarlierSaveFailure(own));
}

// A thread that waits on a save's future owns its failure: the training thread's next save,
// which was waiting for room meanwhile, neither reports it again nor skips its own step.
TEST(AsyncErrorOwnership, AFailureAWaitingThreadCollectsIsNotReportedAgain) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem faults(&memory);
  GatedFilesystem gate(&faults);
  CheckpointerOptions options;
  options.filesystem = &gate;
  options.cleanup_temporaries = false;
  auto ckpt = OpenCheckpointer("/run", options);
  ASSERT_TRUE(*ckpt->Save(1, StateAt(1)));

  gate.Close();
  absl::StatusOr<SaveFuture> failing = ckpt->SaveAsync(2, StateAt(2));
  ASSERT_TRUE(failing.ok()) << failing.status();
  ASSERT_TRUE(gate.AwaitBlocked(1));
  absl::Status waited;
  std::thread waiter([&] { waited = failing->Wait(); });
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!failing->Collected() && absl::Now() < deadline) std::this_thread::yield();
  ASSERT_TRUE(failing->Collected());
  faults.FailNth(FaultOp::kSync, 0, IoError());  // the held save's first sync
  gate.Open();

  absl::StatusOr<SaveFuture> next = ckpt->SaveAsync(3, StateAt(3));
  waiter.join();
  EXPECT_EQ(waited.code(), absl::StatusCode::kDataLoss);
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_TRUE(next->Wait().ok());
  EXPECT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 3));
}

TEST(Preemption, ForcesTheNextSaveAndWaitsForIt) {
  TempDir tmp;
  CheckpointerOptions options;
  options.save_policies = {SavePolicy::EveryNSteps(1000)};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  EXPECT_FALSE(ckpt->ShouldSave(7));
  EXPECT_FALSE(ckpt->Preempted());
  ckpt->NotifyPreemption();
  EXPECT_TRUE(ckpt->Preempted());
  EXPECT_TRUE(ckpt->ShouldSave(7));
  absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(7, StateAt(7));
  ASSERT_TRUE(future.ok()) << future.status();
  EXPECT_TRUE(future->started());
  EXPECT_TRUE(future->Ready());  // waited for before SaveAsync returned
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(7));
}

// In a process of its own: the child starts a Checkpointer and its threads, which a child forked
// from a test process that already runs threads (earlier tests' pools) may not do.
[[noreturn]] void SaveAfterSigterm(const std::string& dir) {
  CheckpointerOptions options;
  options.handle_sigterm = true;
  options.save_policies = {SavePolicy::EveryNSteps(1000)};
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt = Checkpointer::Create(dir, options);
  if (!ckpt.ok() || (*ckpt)->Preempted()) _exit(2);
  ::raise(SIGTERM);
  if (!(*ckpt)->Preempted() || !(*ckpt)->ShouldSave(5)) _exit(3);
  absl::StatusOr<bool> saved = (*ckpt)->Save(5, StateAt(5));
  _exit(saved.ok() && *saved ? 0 : 4);
}

TEST(Preemption, SigtermIsRecordedInsteadOfEndingTheProcess) {
  // The threadsafe style runs the child by exec; the child runs this body again from the top,
  // so it takes the parent's directory from the environment instead of making its own.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  constexpr char kDirVariable[] = "CAIRN_TEST_PREEMPTION_DIR";
  std::optional<TempDir> tmp;
  const char* inherited = std::getenv(kDirVariable);
  if (inherited == nullptr) tmp.emplace();
  const std::string dir = inherited != nullptr ? inherited : tmp->path();
  ASSERT_EQ(::setenv(kDirVariable, dir.c_str(), 1), 0);
  EXPECT_EXIT(SaveAfterSigterm(dir), ::testing::ExitedWithCode(0), "");
  ::unsetenv(kDirVariable);
  CheckpointerOptions options;
  EXPECT_THAT(OpenCheckpointer(dir, options)->AllSteps(), ElementsAre(5));
}

}  // namespace
}  // namespace cairn
