// A root of steps that Orbax wrote, opened by cairn's Checkpointer and followers: steps listed
// by Orbax's names, Orbax's temporaries ignored, loads of either API version's layout, leases and
// retention by cairn's protocol.
#include <cstdio>
#include <filesystem>
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/manager/wait_for_checkpoint.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using testing::TempDir;
using testing::Values;

namespace fs = std::filesystem;

// Copies a golden case to `to`, writable (the golden files are read-only).
void CopyCase(const std::string& layout, const std::string& to) {
  const fs::path from = fs::path(ocdbt_test::GoldenRoot()) / layout /
                        "checkpoint_metadata_present/pytree_checkpointable_has_metadata";
  fs::copy(from, to, fs::copy_options::recursive);
  fs::permissions(to, fs::perms::owner_all, fs::perm_options::add);
  for (const auto& entry : fs::recursive_directory_iterator(to)) {
    fs::permissions(entry.path(),
                    fs::perms::owner_read | fs::perms::owner_write |
                        (entry.is_directory() ? fs::perms::owner_exec : fs::perms::none),
                    fs::perm_options::add);
  }
}

void ExpectGoldenTree(const Tree& tree) {
  EXPECT_THAT(Values<int32_t>(*tree.Find("a")), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  EXPECT_THAT(Values<int32_t>(*tree.Find("b")->Find("c")), ElementsAre(1, 2, 3));
}

class OrbaxRootTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
    root_ = tmp_.Join("run");
    fs::create_directories(root_);
    CopyCase("v0_checkpoints/composite_checkpoint", root_ + "/1000");
    CopyCase("v1_checkpoints/composite_checkpoint", root_ + "/2000");
    // A save Orbax had not finished: its temporary directory is not a step.
    CopyCase("v1_checkpoints/composite_checkpoint", root_ + "/3000.orbax-checkpoint-tmp-1764");
  }

  TempDir tmp_;
  std::string root_;
};

TEST_F(OrbaxRootTest, CheckpointerListsAndLoadsOrbaxSteps) {
  CheckpointerOptions options;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Checkpointer>> checkpointer = Checkpointer::Create(root_, options);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  EXPECT_THAT((*checkpointer)->AllSteps(), ElementsAre(1000, 2000));
  EXPECT_EQ((*checkpointer)->LatestStep(), 2000);
  for (int64_t step : {1000, 2000}) {
    absl::StatusOr<Tree> tree = (*checkpointer)->Load(step);
    ASSERT_TRUE(tree.ok()) << tree.status();
    ExpectGoldenTree(*tree);
    absl::StatusOr<Checkpointables> items = (*checkpointer)->LoadCheckpointables(step);
    ASSERT_TRUE(items.ok()) << items.status();
    EXPECT_EQ(items->size(), 2u);
  }
}

TEST_F(OrbaxRootTest, FollowerLeasesTheNewestStep) {
  WaitForCheckpointOptions options;
  options.timeout = absl::Seconds(30);
  absl::StatusOr<LeasedStep> leased = WaitForNewCheckpoint(root_, options);
  ASSERT_TRUE(leased.ok()) << leased.status();
  ASSERT_TRUE(leased->found());
  EXPECT_EQ(leased->step(), 2000);
  EXPECT_TRUE(leased->leased());
  absl::StatusOr<Tree> tree = Load(leased->path());
  ASSERT_TRUE(tree.ok()) << tree.status();
  ExpectGoldenTree(*tree);
  EXPECT_TRUE(leased->Release().ok());
}

TEST_F(OrbaxRootTest, RetentionRetiresOrbaxStepsByTheSameProtocol) {
  CheckpointerOptions options;
  options.max_to_keep = 1;
  absl::StatusOr<std::unique_ptr<Checkpointer>> checkpointer = Checkpointer::Create(root_, options);
  ASSERT_TRUE(checkpointer.ok()) << checkpointer.status();
  ASSERT_TRUE((*checkpointer)->WaitUntilFinished().ok());
  EXPECT_THAT((*checkpointer)->AllSteps(), ElementsAre(2000));
  EXPECT_FALSE(fs::exists(root_ + "/1000"));
  absl::StatusOr<Tree> tree = (*checkpointer)->Load(2000);
  ASSERT_TRUE(tree.ok()) << tree.status();
  ExpectGoldenTree(*tree);
}

TEST(OrbaxFlaxTest, MsgpackCheckpointIsNamedWhenLoaded) {
  TempDir tmp;
  fs::create_directories(tmp.Join("7"));
  {
    std::FILE* f = std::fopen(tmp.Join("7/checkpoint").c_str(), "w");
    std::fputs("\x80", f);
    std::fclose(f);
  }
  absl::StatusOr<Tree> tree = Load(tmp.Join("7"));
  ASSERT_FALSE(tree.ok());
  EXPECT_THAT(tree.status().message(), ::testing::HasSubstr("msgpack 'checkpoint' file"));
}

}  // namespace
}  // namespace cairn
