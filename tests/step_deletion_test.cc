// Deleting steps against leases: a leased step is kept, an unleased one disappears whole (moved
// aside or uncommitted first), a reader never holds a lease on a step that retention deletes,
// and retention never deletes a step a reader holds, whatever the interleaving.
#include "cairn/steps/step_deletion.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/barrier.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/internal/holder_record.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using testing::EntryNames;
using ::testing::HasSubstr;
using testing::IsStateAt;
using testing::StateAt;
using testing::TempDir;

class StepDeletionTest : public ::testing::TestWithParam<CommitMode> {
 protected:
  void SetUp() override {
    step_ = tmp_.Join("7");
    CheckpointOptions options;
    options.commit_mode = GetParam();
    ASSERT_TRUE(Save(step_, StateAt(7), options).ok());
  }
  StepDeletionOptions Options() {
    StepDeletionOptions options;
    options.commit_mode = GetParam();
    return options;
  }
  TempDir tmp_;
  std::string step_;
};

TEST_P(StepDeletionTest, DeletesAnUnleasedStepWithoutLeftovers) {
  EXPECT_EQ(*DeleteStepUnlessLeased(step_, Options()), StepDeletion::kDeleted);
  EXPECT_TRUE(std::filesystem::is_empty(tmp_.path()));
  EXPECT_EQ(*DeleteStepUnlessLeased(step_, Options()), StepDeletion::kAbsent);
}

TEST_P(StepDeletionTest, KeepsALeasedStepUntouched) {
  absl::StatusOr<StepLease> lease = AcquireLease(step_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(*DeleteStepUnlessLeased(step_, Options()), StepDeletion::kLeased);
  EXPECT_TRUE(IsStateAt(*Load(step_), 7));
  for (const std::string& name : EntryNames(step_)) {
    EXPECT_EQ(name.find("_DELETING"), std::string::npos) << "intent not withdrawn: " << name;
  }
  ASSERT_TRUE(lease->Release().ok());
  EXPECT_EQ(*DeleteStepUnlessLeased(step_, Options()), StepDeletion::kDeleted);
}

TEST_P(StepDeletionTest, MovesTheStepWhenAskedTo) {
  StepDeletionOptions options = Options();
  options.move_to = tmp_.Join("todelete");
  EXPECT_EQ(*DeleteStepUnlessLeased(step_, options), StepDeletion::kMoved);
  EXPECT_THAT(EntryNames(tmp_.path()), ElementsAre("todelete"));
  EXPECT_THAT(EntryNames(tmp_.Join("todelete")), ElementsAre("7"));
  EXPECT_FALSE(std::filesystem::exists(tmp_.Join("todelete/7/LOCKED")));
}

TEST_P(StepDeletionTest, AStepThatIsAFileIsRefused) {
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp_.Join("8"), "x", false).ok());
  absl::StatusOr<StepDeletion> outcome = DeleteStepUnlessLeased(tmp_.Join("8"), Options());
  EXPECT_EQ(outcome.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::exists(tmp_.Join("8")));
}

// A reader that leases while retention is deciding waits for the decision: here the intent
// belongs to this (live) process and is never withdrawn, so the reader gives the step up.
TEST_P(StepDeletionTest, ALeaseWaitsForADeletionBeingDecided) {
  const std::string intent =
      internal::MakeHolderRecordName(kDeletionIntentName, absl::Now(), absl::Minutes(1));
  ASSERT_TRUE(internal::CreateHolderRecord(*Filesystem::Default(), JoinPath(step_, intent)).ok());
  LeaseOptions options;
  options.deletion_wait = absl::Milliseconds(20);
  absl::StatusOr<StepLease> lease = AcquireLease(step_, options);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(lease.status().message(), HasSubstr("retention pass"));
  // The reader took its lease back: only the intent is left.
  EXPECT_FALSE(std::filesystem::exists(step_ + "/LOCKED"));
  EXPECT_TRUE(std::filesystem::exists(JoinPath(step_, intent)));
}

// A root shared with an earlier version: its intent, LOCKED/_DELETING holding JSON, still holds
// readers off while it decides.
TEST_P(StepDeletionTest, AnEarlierVersionsIntentIsHonoured) {
  std::filesystem::create_directories(step_ + "/LOCKED");
  const std::string record =
      absl::StrCat(R"({"host":")", HostName(), R"(","pid":)", getpid(), R"(,"expires_nsecs":)",
                   absl::ToUnixNanos(absl::Now() + absl::Minutes(1)), "}");
  ASSERT_TRUE(
      WriteStringToFile(*Filesystem::Default(), step_ + "/LOCKED/_DELETING", record, false).ok());
  LeaseOptions options;
  options.deletion_wait = absl::Milliseconds(20);
  EXPECT_EQ(AcquireLease(step_, options).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(EntryNames(step_ + "/LOCKED"), ElementsAre("_DELETING"));
}

TEST_P(StepDeletionTest, TheIntentOfADeadProcessIsIgnored) {
  const pid_t child = fork();
  if (child == 0) {
    const std::string intent =
        internal::MakeHolderRecordName(kDeletionIntentName, absl::Now(), absl::Minutes(1));
    _exit(internal::CreateHolderRecord(*Filesystem::Default(), JoinPath(step_, intent)).ok() ? 0
                                                                                             : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  absl::StatusOr<StepLease> lease = AcquireLease(step_);
  EXPECT_TRUE(lease.ok()) << lease.status();
}

// Readers and retention on one step at once, many times over. A reader holding a lease must
// always be able to read the whole step; retention must report kLeased whenever it kept it.
TEST_P(StepDeletionTest, ReadersAndRetentionNeverOverlap) {
  constexpr int kRounds = 150;
  for (int round = 0; round < kRounds; ++round) {
    const std::string step = tmp_.Join(absl::StrCat(100 + round));
    CheckpointOptions save;
    save.commit_mode = GetParam();
    save.store_save.sync = false;  // the race is the point here, not durability
    ASSERT_TRUE(Save(step, StateAt(round % 3), save).ok());
    absl::Barrier start(2);
    absl::StatusOr<StepDeletion> outcome = absl::UnknownError("not run");
    bool read_ok = true, leased = false;
    std::string read_error;
    std::thread reader([&] {
      start.Block();
      LeaseOptions options;
      options.commit_mode = GetParam();
      absl::StatusOr<StepLease> lease = AcquireLease(step, options);
      if (!lease.ok()) {
        EXPECT_EQ(lease.status().code(), absl::StatusCode::kNotFound) << lease.status();
        return;
      }
      leased = true;
      CheckpointOptions load;
      load.commit_mode = GetParam();
      absl::StatusOr<Tree> tree = Load(step, Tree::AsSaved(), CheckpointableName::Auto(), load);
      read_ok = tree.ok() && IsStateAt(*tree, round % 3);
      if (!tree.ok()) read_error = tree.status().ToString();
    });
    start.Block();
    outcome = DeleteStepUnlessLeased(step, Options());
    reader.join();
    ASSERT_TRUE(outcome.ok()) << outcome.status();
    EXPECT_TRUE(read_ok) << "round " << round
                         << ": a leased step could not be read: " << read_error;
    if (*outcome == StepDeletion::kDeleted) {
      EXPECT_FALSE(std::filesystem::exists(step));
    } else {
      // Only this round's reader leases: retention kept the step because it saw that lease.
      EXPECT_EQ(*outcome, StepDeletion::kLeased);
      EXPECT_TRUE(leased) << "round " << round;
      EXPECT_TRUE(std::filesystem::exists(step));
    }
  }
  // No temporary directory survives any round.
  for (const std::string& name : EntryNames(tmp_.path())) {
    EXPECT_EQ(name.find(".cairn-"), std::string::npos) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Modes, StepDeletionTest,
                         ::testing::Values(CommitMode::kRename, CommitMode::kCommitFile),
                         [](const auto& info) {
                           return info.param == CommitMode::kRename ? "Rename" : "CommitFile";
                         });

}  // namespace
}  // namespace cairn
