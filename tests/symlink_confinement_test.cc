// No symlink is followed in any component below a checkpoint or its root: a step whose item
// directories point elsewhere is refused on load and deleted without touching the target, while a
// root that is itself a link, or sits below one, works as the caller named it.
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/checkpoint.h"
#include "gtest/gtest.h"
#include "support/checkpointers.h"
#include "support/temp_dir.h"
#include "support/trees.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using ::cairn::testing::Iota;
using ::cairn::testing::OpenCheckpointer;
using ::cairn::testing::TempDir;
using ::cairn::testing::TreesEqual;

Tree State() {
  Tree state = Tree::Dict();
  state.Set("w", Tree::FromArray(Iota<float>({4, 4})));
  return state;
}

std::string Contents(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

// Moves `inside` (a directory of a saved step) to `outside` and leaves a link to it in its place:
// the step looks whole, but its bytes are outside the checkpoint.
void ReplaceWithLinkToCopy(const std::string& inside, const std::string& outside) {
  fs::rename(inside, outside);
  fs::create_directory_symlink(outside, inside);
}

void ExpectSymlinkRefusal(const absl::Status& status) {
  EXPECT_FALSE(status.ok());
  EXPECT_TRUE(absl::StrContains(status.message(), "symlink")) << status;
}

class SymlinkConfinementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    checkpointer_ = OpenCheckpointer(root_);
    ASSERT_NE(checkpointer_, nullptr);
    Checkpointables items;
    items.emplace("pytree", State());
    items.emplace("meta", nlohmann::json{{"epoch", 3}});
    ASSERT_TRUE(checkpointer_->Save(1, items).ok());
  }

  TempDir tmp_;
  const std::string root_ = tmp_.Join("root");
  const std::string step_ = root_ + "/1";
  const std::string outside_ = tmp_.Join("outside");
  std::unique_ptr<Checkpointer> checkpointer_;
};

TEST_F(SymlinkConfinementTest, StepLoadsWhenNothingIsLinked) {
  absl::StatusOr<Tree> loaded = checkpointer_->Load(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, State()));
}

TEST_F(SymlinkConfinementTest, LinkedPyTreeDirectoryIsRefused) {
  ReplaceWithLinkToCopy(step_ + "/pytree", outside_);
  ExpectSymlinkRefusal(checkpointer_->Load(1).status());
  ExpectSymlinkRefusal(Load(step_).status());
  ExpectSymlinkRefusal(Metadata(step_).status());
}

TEST_F(SymlinkConfinementTest, LinkedDataDirectoryIsRefused) {
  ReplaceWithLinkToCopy(step_ + "/pytree/_cairn_data", outside_);
  ExpectSymlinkRefusal(checkpointer_->Load(1).status());
  ExpectSymlinkRefusal(LoadTree(step_ + "/pytree").status());
}

TEST_F(SymlinkConfinementTest, LinkedJsonItemDirectoryIsRefused) {
  ReplaceWithLinkToCopy(step_ + "/meta", outside_);
  ExpectSymlinkRefusal(LoadCheckpointables(step_, {{"meta", std::nullopt}}).status());
}

TEST_F(SymlinkConfinementTest, DeletingAStepRemovesTheLinkAndLeavesItsTarget) {
  ReplaceWithLinkToCopy(step_ + "/pytree", outside_);
  const std::string index = outside_ + "/" + kTreeIndexFileName;
  const std::string before = Contents(index);
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(checkpointer_->Delete(1).ok());
  EXPECT_FALSE(fs::exists(step_));
  EXPECT_EQ(Contents(index), before);
}

TEST_F(SymlinkConfinementTest, LinkedStepDirectoryIsNeitherListedNorLoaded) {
  checkpointer_.reset();
  ReplaceWithLinkToCopy(step_, outside_);
  std::unique_ptr<Checkpointer> reopened = OpenCheckpointer(root_);
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(reopened->LatestStep().has_value());
  ExpectSymlinkRefusal(Load(step_).status());
}

TEST(SymlinkedRootTest, RootThatIsALinkWorksAsNamed) {
  TempDir tmp;
  fs::create_directory(tmp.Join("real"));
  fs::create_directory_symlink(tmp.Join("real"), tmp.Join("link"));
  {
    std::unique_ptr<Checkpointer> checkpointer = OpenCheckpointer(tmp.Join("link"));
    ASSERT_NE(checkpointer, nullptr);
    ASSERT_TRUE(checkpointer->Save(5, State()).ok());
  }
  EXPECT_TRUE(fs::is_directory(tmp.Join("real/5/pytree")));
  std::unique_ptr<Checkpointer> reopened = OpenCheckpointer(tmp.Join("link"));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->LatestStep(), 5);
  absl::StatusOr<Tree> loaded = reopened->Load(5);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, State()));
}

TEST(SymlinkedRootTest, RootBelowALinkWorksAndIsCreatedWhereTheLinkPoints) {
  TempDir tmp;
  fs::create_directory(tmp.Join("real"));
  fs::create_directory_symlink(tmp.Join("real"), tmp.Join("link"));
  const std::string root = tmp.Join("link/runs/a");
  std::unique_ptr<Checkpointer> checkpointer = OpenCheckpointer(root);
  ASSERT_NE(checkpointer, nullptr);
  ASSERT_TRUE(checkpointer->Save(2, State()).ok());
  EXPECT_TRUE(fs::is_directory(tmp.Join("real/runs/a/2")));
  absl::StatusOr<Tree> loaded = Load(root + "/2");
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, State()));
}

}  // namespace
}  // namespace cairn
