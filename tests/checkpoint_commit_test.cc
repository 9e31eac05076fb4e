// Atomic commit of checkpoints in both modes: nothing is visible before the commit, overwrite
// is explicit, a failure at any filesystem operation leaves the earlier checkpoint and no
// visible partial one, power loss at any point leaves none or a whole one, and a crashed
// writer's leftovers are recognised.
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::SampleTree;
using testing::TempDir;
using testing::TreesEqual;

Checkpointables Items(int version) {
  Checkpointables items;
  Tree tree = SampleTree();
  tree.Set("version", Tree::Int(version));
  items.emplace("state", tree);
  items.emplace("config", nlohmann::json{{"version", version}});
  return items;
}

int64_t VersionAt(const std::string& dir, const CheckpointOptions& options) {
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(dir, {}, options);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return -1;
  const int64_t tree = std::get<Tree>(loaded->at("state")).Find("version")->int_value();
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config"))["version"], tree);
  return tree;
}

class CommitModeTest : public ::testing::TestWithParam<CommitMode> {
 protected:
  CheckpointOptions Options(Filesystem* fs = nullptr) {
    CheckpointOptions options;
    options.commit_mode = GetParam();
    options.filesystem = fs;
    return options;
  }
};

TEST_P(CommitModeTest, SaveLeavesOnlyTheCheckpoint) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("1"), Items(1), Options()).ok());
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
    names.push_back(entry.path().filename());
  }
  EXPECT_THAT(names, ::testing::ElementsAre("1"));
  EXPECT_TRUE(std::filesystem::exists(tmp.Join("1/commit_success.txt")));
  EXPECT_EQ(VersionAt(tmp.Join("1"), Options()), 1);
}

TEST_P(CommitModeTest, SavingOntoAnExistingCheckpointNeedsOverwrite) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("1"), Items(1), Options()).ok());
  absl::Status status = SaveCheckpointables(tmp.Join("1"), Items(2), Options());
  EXPECT_EQ(status.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(status.message(), HasSubstr("pass overwrite"));
  EXPECT_EQ(VersionAt(tmp.Join("1"), Options()), 1);
  CheckpointOptions overwrite = Options();
  overwrite.overwrite = true;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("1"), Items(2), overwrite).ok());
  EXPECT_EQ(VersionAt(tmp.Join("1"), Options()), 2);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(tmp.path()),
                          std::filesystem::directory_iterator()),
            1);
}

TEST_P(CommitModeTest, EveryFailurePointKeepsTheEarlierCheckpointAndShowsNoPartialOne) {
  // Count the mutations of one save next to an existing checkpoint.
  int64_t mutations;
  {
    MemoryFilesystem memory;
    ASSERT_TRUE(SaveCheckpointables("/root/1", Items(1), Options(&memory)).ok());
    FaultInjectionFilesystem faults(&memory);
    ASSERT_TRUE(SaveCheckpointables("/root/2", Items(2), Options(&faults)).ok());
    mutations = faults.MutationCount();
  }
  ASSERT_GT(mutations, 10);
  for (int64_t n = 0; n < mutations; ++n) {
    SCOPED_TRACE(::testing::Message() << "failing mutation " << n << " of " << mutations);
    MemoryFilesystem memory;
    ASSERT_TRUE(SaveCheckpointables("/root/1", Items(1), Options(&memory)).ok());
    FaultInjectionFilesystem faults(&memory);
    faults.FailNthMutation(static_cast<int>(n), NoSpaceError());
    const absl::Status status = SaveCheckpointables("/root/2", Items(2), Options(&faults));
    EXPECT_FALSE(status.ok());
    StepListingOptions listing;
    listing.commit_mode = GetParam();
    listing.filesystem = &memory;
    EXPECT_THAT(*ListSteps("/root", listing), ::testing::ElementsAre(1)) << status;
    EXPECT_EQ(VersionAt("/root/1", Options(&memory)), 1);
    // Nothing is left behind but the earlier checkpoint.
    EXPECT_THAT(*memory.ListDir("/root"), ::testing::ElementsAre("1")) << status;
  }
}

TEST_P(CommitModeTest, OverwriteFailingAnywhereNeverLosesBothVersions) {
  int64_t mutations;
  CheckpointOptions counting = Options();
  {
    MemoryFilesystem memory;
    ASSERT_TRUE(SaveCheckpointables("/root/1", Items(1), Options(&memory)).ok());
    FaultInjectionFilesystem faults(&memory);
    CheckpointOptions overwrite = Options(&faults);
    overwrite.overwrite = true;
    ASSERT_TRUE(SaveCheckpointables("/root/1", Items(2), overwrite).ok());
    mutations = faults.MutationCount();
  }
  for (int64_t n = 0; n < mutations; ++n) {
    SCOPED_TRACE(::testing::Message() << "failing mutation " << n << " of " << mutations);
    MemoryFilesystem memory;
    ASSERT_TRUE(SaveCheckpointables("/root/1", Items(1), Options(&memory)).ok());
    FaultInjectionFilesystem faults(&memory);
    faults.FailNthMutation(static_cast<int>(n), IoError());
    CheckpointOptions overwrite = Options(&faults);
    overwrite.overwrite = true;
    const absl::Status status = SaveCheckpointables("/root/1", Items(2), overwrite);
    // In rename mode the old version survives every failure; in commit-file mode, which
    // cannot replace atomically, a failed overwrite may leave no committed checkpoint, but
    // never a partial one that looks committed.
    absl::StatusOr<bool> committed = IsCommittedCheckpoint("/root/1", GetParam(), &memory);
    ASSERT_TRUE(committed.ok());
    if (GetParam() == CommitMode::kRename) {
      ASSERT_TRUE(*committed) << status;
    }
    if (*committed) {
      const int64_t version = VersionAt("/root/1", Options(&memory));
      EXPECT_TRUE(version == 1 || (status.ok() && version == 2)) << version << " " << status;
    }
  }
}

TEST_P(CommitModeTest, PowerLossAtAnyPointLeavesNoCheckpointOrAWholeOne) {
  int64_t mutations;
  {
    MemoryFilesystem memory;
    ASSERT_TRUE(CreateDirs(memory, "/root").ok());
    FaultInjectionFilesystem faults(&memory);
    ASSERT_TRUE(SaveCheckpointables("/root/7", Items(7), Options(&faults)).ok());
    mutations = faults.MutationCount();
  }
  int whole = 0;
  for (int64_t n = 0; n <= mutations; ++n) {
    SCOPED_TRACE(::testing::Message() << "power lost at mutation " << n << " of " << mutations);
    MemoryFilesystem memory;
    ASSERT_TRUE(CreateDirs(memory, "/root").ok());
    ASSERT_TRUE(memory.SyncDir("/").ok());
    FaultInjectionFilesystem faults(&memory);
    faults.FailAllMutationsFrom(static_cast<int>(n), IoError());
    const absl::Status status = SaveCheckpointables("/root/7", Items(7), Options(&faults));
    memory.SimulatePowerLoss();
    StepListingOptions listing;
    listing.commit_mode = GetParam();
    listing.filesystem = &memory;
    const std::vector<int64_t> steps = *ListSteps("/root", listing);
    if (status.ok()) EXPECT_THAT(steps, ::testing::ElementsAre(7));  // acknowledged = durable
    if (steps.empty()) continue;
    ++whole;
    EXPECT_EQ(VersionAt("/root/7", Options(&memory)), 7);
  }
  EXPECT_GE(whole, 1);
}

INSTANTIATE_TEST_SUITE_P(Modes, CommitModeTest,
                         ::testing::Values(CommitMode::kRename, CommitMode::kCommitFile),
                         [](const ::testing::TestParamInfo<CommitMode>& info) {
                           return info.param == CommitMode::kRename ? "Rename" : "CommitFile";
                         });

TEST(CommitFile, UncommittedDirectoryIsIgnoredByReaders) {
  TempDir tmp;
  CheckpointOptions options;
  options.commit_mode = CommitMode::kCommitFile;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("5"), Items(5), options).ok());
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("6"), Items(6), options).ok());
  std::filesystem::remove(tmp.Join("6/commit_success.txt"));  // as if the writer died
  StepListingOptions listing;
  listing.commit_mode = CommitMode::kCommitFile;
  EXPECT_THAT(*ListSteps(tmp.path(), listing), ::testing::ElementsAre(5));
  absl::Status status = LoadCheckpointables(tmp.Join("6"), {}, options).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("not committed"));
  EXPECT_FALSE(Load(tmp.Join("6"), Tree::AsSaved(), CheckpointableName::Auto(), options).ok());
}

TEST(StaleTemporaries, CrashedWritersLeftoversAreRecognisedAndRemoved) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("3"), Items(3)).ok());
  // A leftover of a dead process on this host, and one of this (live) process.
  const std::string dead = "4.cairn-tmp.999999999.1f." + HostName();
  const std::string live = MakeTemporaryName("5", TemporaryKind::kInProgress);
  std::filesystem::create_directories(tmp.Join(dead + "/state"));
  std::filesystem::create_directories(tmp.Join(live));
  ASSERT_TRUE(ParseTemporaryName(dead).has_value());
  EXPECT_EQ(ParseTemporaryName(dead)->final_name, "4");
  EXPECT_THAT(*ListSteps(tmp.path()), ::testing::ElementsAre(3));
  absl::StatusOr<int> removed = CleanupStaleTemporaries(tmp.path());
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(std::filesystem::exists(tmp.Join(dead)));
  EXPECT_TRUE(std::filesystem::exists(tmp.Join(live)));
  EXPECT_TRUE(std::filesystem::exists(tmp.Join("3")));
}

TEST(StaleTemporaries, AZombieWritersLeftoversAreRemoved) {
  TempDir tmp;
  // A writer that exited and was never reaped (as in a container without an init) keeps its
  // pid, but will never write again.
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  const std::string zombie = absl::StrCat("4.cairn-tmp.", child, ".1f.", HostName());
  std::filesystem::create_directories(tmp.Join(zombie + "/state"));
  // It is a zombie once /proc says so; waitid with WNOWAIT waits for that without reaping it.
  siginfo_t info{};
  ASSERT_EQ(::waitid(P_PID, child, &info, WEXITED | WNOWAIT), 0);
  EXPECT_FALSE(ProcessAlive(child));
  absl::StatusOr<int> removed = CleanupStaleTemporaries(tmp.path());
  ASSERT_TRUE(removed.ok()) << removed.status();
  EXPECT_EQ(*removed, 1);
  EXPECT_FALSE(std::filesystem::exists(tmp.Join(zombie)));
  ::waitpid(child, nullptr, 0);
}

TEST(CheckpointBadInput, StepPathThatIsAFileChangesNothing) {
  TempDir tmp;
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("9"), "not a dir", false).ok());
  CheckpointOptions options;
  options.overwrite = true;
  absl::Status status = SaveCheckpointables(tmp.Join("9"), Items(9), options);
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(*ReadFileToString(*Filesystem::Default(), tmp.Join("9"), 100), "not a dir");
  EXPECT_EQ(LoadCheckpointables(tmp.Join("9")).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(CheckpointBadInput, SymlinkedStepIsNeitherListedNorLoaded) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("outside/1"), Items(1)).ok());
  std::filesystem::create_directories(tmp.Join("root"));
  std::filesystem::create_directory_symlink(tmp.Join("outside/1"), tmp.Join("root/1"));
  EXPECT_TRUE(ListSteps(tmp.Join("root"))->empty());
  absl::Status status = LoadCheckpointables(tmp.Join("root/1")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("symlink"));
}

TEST(CheckpointBadInput, SymlinkedCommitMarkerIsDamaged) {
  TempDir tmp;
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("1"), Items(1)).ok());
  const std::string marker = tmp.Join("1/commit_success.txt");
  std::filesystem::rename(marker, tmp.Join("marker"));
  std::filesystem::create_symlink(tmp.Join("marker"), marker);
  absl::Status status = LoadCheckpointables(tmp.Join("1")).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("symlink"));
}

TEST(CheckpointBadInput, MissingCheckpoint) {
  TempDir tmp;
  EXPECT_EQ(LoadCheckpointables(tmp.Join("nope")).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Load(tmp.Join("nope")).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace cairn
