// A directory named like a step that holds neither _CHECKPOINT_METADATA nor a commit marker is
// not a step: no listing, Checkpointer or follower counts it, and saving that step replaces it
// when it is empty and refuses to when it holds someone's files.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "cairn/manager/checkpointer.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/manager/wait_for_checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsStateAt;
using testing::StateAt;
using testing::TempDir;

// A root holding step 1 and an empty directory named 2.
class EmptyStepDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Save(tmp_.Join("1"), StateAt(1)).ok());
    std::filesystem::create_directory(tmp_.Join("2"));
  }
  TempDir tmp_;
};

TEST_F(EmptyStepDirTest, ListingSkipsItAndSaysWhy) {
  std::vector<SkippedStepName> skipped;
  StepListingOptions options;
  options.skipped = &skipped;
  EXPECT_THAT(*ListSteps(tmp_.path(), options), ElementsAre(1));
  ASSERT_EQ(skipped.size(), 1u);
  EXPECT_EQ(skipped[0].name, "2");
  EXPECT_THAT(skipped[0].reason, HasSubstr("holds neither _CHECKPOINT_METADATA nor"));
}

TEST_F(EmptyStepDirTest, ADirectoryWithOnlyACommitMarkerIsStillAStep) {
  std::filesystem::create_directory(tmp_.Join("3"));
  std::ofstream(tmp_.Join("3/commit_success.txt")) << "committed";
  EXPECT_THAT(*ListSteps(tmp_.path()), ElementsAre(1, 3));
}

TEST_F(EmptyStepDirTest, ADirectoryHoldingFilesButNoCheckpointIsRefusedNotReplaced) {
  std::ofstream(tmp_.Join("2/notes.txt")) << "someone's";
  auto ckpt = testing::OpenCheckpointer(tmp_.path());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
  absl::StatusOr<bool> saved = ckpt->Save(2, StateAt(2));
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kFailedPrecondition) << saved.status();
  EXPECT_THAT(saved.status().message(), HasSubstr("will not replace it"));
  std::ifstream kept(tmp_.Join("2/notes.txt"));
  std::string contents((std::istreambuf_iterator<char>(kept)), {});
  EXPECT_EQ(contents, "someone's");
}

TEST_F(EmptyStepDirTest, TheCheckpointerNeitherListsItNorRefusesToSaveIt) {
  auto ckpt = testing::OpenCheckpointer(tmp_.path());
  EXPECT_EQ(ckpt->LatestStep(), 1);
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
  EXPECT_EQ(ckpt->Load(2).status().code(), absl::StatusCode::kNotFound);
  absl::StatusOr<bool> saved = ckpt->Save(2, StateAt(2));
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(*saved);
  EXPECT_TRUE(IsStateAt(*ckpt->Load(2), 2));
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  // The leftover was replaced, not kept beside the step.
  EXPECT_THAT(testing::EntryNames(tmp_.path()), ElementsAre("1", "2"));
}

TEST_F(EmptyStepDirTest, ACheckpointerReloadingDoesNotPickItUp) {
  std::filesystem::remove(tmp_.Join("2"));
  auto ckpt = testing::OpenCheckpointer(tmp_.path());
  std::filesystem::create_directory(tmp_.Join("2"));
  ASSERT_TRUE(ckpt->Reload().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
}

TEST_F(EmptyStepDirTest, FollowersDoNotHandItOut) {
  WaitForCheckpointOptions wait;
  wait.timeout = absl::Milliseconds(50);
  absl::StatusOr<LeasedStep> newest = WaitForNewCheckpoint(tmp_.path(), wait);
  ASSERT_TRUE(newest.ok()) << newest.status();
  EXPECT_EQ(newest->step(), 1);

  CheckpointsIteratorOptions every;
  every.mode = FollowMode::kEveryStep;
  every.timeout = absl::Milliseconds(50);
  absl::StatusOr<CheckpointsIterator> it = CheckpointsIterator::Create(tmp_.path(), every);
  ASSERT_TRUE(it.ok()) << it.status();
  std::vector<int64_t> handed_out;
  for (;;) {
    absl::StatusOr<LeasedStep> step = it->Next();
    ASSERT_TRUE(step.ok()) << step.status();
    if (!step->found()) break;
    handed_out.push_back(step->step());
  }
  EXPECT_THAT(handed_out, ElementsAre(1));
}

TEST_F(EmptyStepDirTest, InCommitFileModeItIsASaveInProgressAndNotReplaced) {
  CheckpointOptions options;
  options.commit_mode = CommitMode::kCommitFile;
  EXPECT_EQ(Save(tmp_.Join("2"), StateAt(2), options).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(testing::EntryNames(tmp_.Join("2")), IsEmpty());
}

}  // namespace
}  // namespace cairn
