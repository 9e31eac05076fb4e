// The layout compatibility matrix of Orbax's migration guide, one test per case: a root of
// steps, a step holding checkpointables, and a flat single pytree, loaded every way.
#include <filesystem>

#include "cairn/steps/checkpoint.h"
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

class CompatibilityMatrix : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_.Join("root_dir");
    step_ = root_ + "/step_1234";
    flat_ = tmp_.Join("my_checkpoint");
    state_tree_ = Tree::Dict();
    state_tree_.Set("w", Tree::FromArray(Iota<float>({4})));
    Checkpointables items;
    items.emplace("state", state_tree_);
    items.emplace("pytree", SampleTree());
    items.emplace("my_json_data", nlohmann::json{{"a", 1}});
    ASSERT_TRUE(SaveCheckpointables(step_, items).ok());
    ASSERT_TRUE(SaveTree(flat_, SampleTree()).ok());
  }

  TempDir tmp_;
  std::string root_, step_, flat_;
  Tree state_tree_;
};

// Loading a pytree, succeeding.
TEST_F(CompatibilityMatrix, StepLoadsThePyTreeSubdirectory) {
  absl::StatusOr<Tree> loaded = Load(step_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, SampleTree()));
}

TEST_F(CompatibilityMatrix, StepWithNamePyTree) {
  absl::StatusOr<Tree> loaded = Load(step_, Tree::AsSaved(), CheckpointableName::Named("pytree"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, SampleTree()));
}

TEST_F(CompatibilityMatrix, StepWithNameState) {
  absl::StatusOr<Tree> loaded = Load(step_, Tree::AsSaved(), CheckpointableName::Named("state"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, state_tree_));
}

TEST_F(CompatibilityMatrix, FlatWithNameNone) {
  absl::StatusOr<Tree> loaded = Load(flat_, Tree::AsSaved(), CheckpointableName::None());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, SampleTree()));
}

TEST_F(CompatibilityMatrix, FlatWithAutoFallsBackToTheFlatLayout) {
  absl::StatusOr<Tree> loaded = Load(flat_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, SampleTree()));
}

TEST_F(CompatibilityMatrix, AutoTakesTheAlphabeticallyFirstPyTreeWithoutAPyTreeName) {
  Checkpointables items;
  items.emplace("zeta", SampleTree());
  items.emplace("alpha", state_tree_);
  items.emplace("aaa_json", nlohmann::json(1));
  ASSERT_TRUE(SaveCheckpointables(tmp_.Join("other"), items).ok());
  absl::StatusOr<Tree> loaded = Load(tmp_.Join("other"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, state_tree_));
}

// Loading a pytree, failing.
TEST_F(CompatibilityMatrix, RootExpectsASubdirectoryNamedPyTree) {
  absl::Status status = Load(root_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(status.message(), HasSubstr("expecting a subdirectory named 'pytree'"));
  EXPECT_THAT(status.message(), HasSubstr("try a subdirectory, such as"));
}

TEST_F(CompatibilityMatrix, RootWithNamePyTree) {
  absl::Status status = Load(root_, Tree::AsSaved(), CheckpointableName::Named("pytree")).status();
  EXPECT_THAT(status.message(), HasSubstr("expecting a subdirectory named 'pytree'"));
}

TEST_F(CompatibilityMatrix, RootWithNameNone) {
  absl::Status status = Load(root_, Tree::AsSaved(), CheckpointableName::None()).status();
  EXPECT_THAT(status.message(), HasSubstr("expecting pytree metadata file"));
}

TEST_F(CompatibilityMatrix, StepWithNameNone) {
  absl::Status status = Load(step_, Tree::AsSaved(), CheckpointableName::None()).status();
  EXPECT_THAT(status.message(), HasSubstr("expecting pytree metadata file"));
  EXPECT_THAT(status.message(), HasSubstr("holds checkpointables in subdirectories"));
}

TEST_F(CompatibilityMatrix, FlatWithNamePyTree) {
  absl::Status status = Load(flat_, Tree::AsSaved(), CheckpointableName::Named("pytree")).status();
  EXPECT_THAT(status.message(), HasSubstr("expecting a subdirectory named 'pytree'"));
  EXPECT_THAT(status.message(), HasSubstr("CheckpointableName::None()"));
}

TEST_F(CompatibilityMatrix, NamedCheckpointableThatIsNotAPyTree) {
  absl::Status status =
      Load(step_, Tree::AsSaved(), CheckpointableName::Named("my_json_data")).status();
  EXPECT_THAT(status.message(), HasSubstr("no pytree metadata file"));
  EXPECT_THAT(status.message(), HasSubstr("use LoadCheckpointables"));
}

// Loading checkpointables, succeeding.
TEST_F(CompatibilityMatrix, StepLoadsAllCheckpointables) {
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(step_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 3u);
}

TEST_F(CompatibilityMatrix, StepLoadsTheNamedCheckpointables) {
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::TypeOnly(LeafType::kArray));
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(
      step_, {{"state", Checkpointable(abstract)}, {"my_json_data", std::nullopt}});
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->size(), 2u);
  EXPECT_TRUE(TreesEqual(std::get<Tree>(loaded->at("state")), state_tree_));
}

// Loading checkpointables, failing.
TEST_F(CompatibilityMatrix, RootSuggestsASubdirectory) {
  absl::Status status = LoadCheckpointables(root_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("try a subdirectory, such as"));
  EXPECT_THAT(status.message(), HasSubstr("step_1234"));
}

TEST_F(CompatibilityMatrix, FlatSuggestsLoad) {
  absl::Status status = LoadCheckpointables(flat_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("this is a single pytree, use Load instead"));
}

TEST_F(CompatibilityMatrix, RootWithNamesSuggestsASubdirectory) {
  absl::Status status =
      LoadCheckpointables(root_, {{"state", std::nullopt}, {"pytree", std::nullopt}}).status();
  EXPECT_THAT(status.message(), HasSubstr("try a subdirectory"));
}

TEST_F(CompatibilityMatrix, FlatWithNamesSuggestsLoad) {
  absl::Status status =
      LoadCheckpointables(flat_, {{"state", std::nullopt}, {"pytree", std::nullopt}}).status();
  EXPECT_THAT(status.message(), HasSubstr("use Load instead"));
}

TEST_F(CompatibilityMatrix, MetadataResolvesLikeLoad) {
  absl::StatusOr<StoreMetadata> step = Metadata(step_);
  ASSERT_TRUE(step.ok()) << step.status();
  EXPECT_EQ(step->tree.Find("step")->type_only(), LeafType::kInt);
  absl::StatusOr<StoreMetadata> state = Metadata(step_, CheckpointableName::Named("state"));
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state->tree.Find("w")->spec().shape, (Shape{4}));
  EXPECT_THAT(Metadata(root_).status().message(), HasSubstr("expecting a subdirectory"));
}

}  // namespace
}  // namespace cairn
