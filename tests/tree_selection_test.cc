// Selecting leaves of an abstract tree: the structure stays, unselected leaves become
// placeholders, and a load of the selection reads only what was kept.
#include "cairn/storage/tree_selection.h"

#include <string>

#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::TempDir;
using testing::Values;

Tree Sample() {
  Tree tree = Tree::Dict();
  Tree& params = tree.Set("params", Tree::Dict());
  params.Set("w", Tree::FromArray(Iota<float>({4})));
  params.Set("b", Tree::FromArray(Iota<int32_t>({2})));
  Tree& list = tree.Set("opt", Tree::List());
  list.Append(Tree::Int(3));
  list.Append(Tree::None());
  return tree;
}

TEST(TreeSelectionTest, KeepsStructureAndReplacesOtherLeaves) {
  const Tree selected = SelectLeaves(
      Sample(), [](const KeyPath& path, const Tree&) { return path.ToString() == "params.b"; });
  EXPECT_EQ(selected.Find("params")->Find("w")->kind(), Tree::Kind::kPlaceholder);
  EXPECT_EQ(selected.Find("params")->Find("b")->kind(), Tree::Kind::kArray);
  EXPECT_EQ((*selected.Find("opt"))[0].kind(), Tree::Kind::kPlaceholder);
  EXPECT_EQ((*selected.Find("opt"))[1].kind(), Tree::Kind::kNone);
}

TEST(TreeSelectionTest, AsksOfLeavesInForEachLeafOrderWithoutNone) {
  std::vector<std::string> asked;
  SelectLeaves(Sample(), [&](const KeyPath& path, const Tree&) {
    asked.push_back(path.ToString());
    return true;
  });
  EXPECT_EQ(asked, (std::vector<std::string>{"params.w", "params.b", "opt[0]"}));
}

TEST(TreeSelectionTest, ALoadOfTheSelectionReadsOnlyTheKeptLeaf) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("t"), Sample()).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("t"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const Tree abstract = SelectLeaves(metadata->tree, [](const KeyPath& path, const Tree&) {
    return path.ToString() == "params.w";
  });
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("t"), abstract);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Values<float>(*loaded->Find("params")->Find("w")), (std::vector<float>{0, 1, 2, 3}));
  EXPECT_EQ(loaded->Find("params")->Find("b")->kind(), Tree::Kind::kPlaceholder);
}

}  // namespace
}  // namespace cairn
