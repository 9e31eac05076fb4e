// Comparing trees: keys only on one side, kind changes, common leaves, and array differences.
#include "cairn/storage/tree_comparison.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace cairn {
namespace {

std::vector<std::string> Paths(const std::vector<KeyPath>& paths) {
  std::vector<std::string> out;
  for (const KeyPath& path : paths) out.push_back(path.ToString());
  return out;
}

TEST(CompareStructureTest, FindsKeysOnlyOnEachSide) {
  Tree a = Tree::Dict();
  a.Set("w", Tree::Int(1));
  a.Set("old", Tree::Int(2));
  Tree b = Tree::Dict();
  b.Set("w", Tree::Int(1));
  b.Set("new", Tree::Dict());
  const StructureDifference diff = CompareStructure(a, b);
  EXPECT_EQ(Paths(diff.only_in_a), std::vector<std::string>{"old"});
  EXPECT_EQ(Paths(diff.only_in_b), std::vector<std::string>{"new"});
  ASSERT_EQ(diff.common_leaves.size(), 1u);
  EXPECT_EQ(diff.common_leaves[0].path.ToString(), "w");
  EXPECT_FALSE(diff.same());
}

TEST(CompareStructureTest, ReportsAKindChangeWithoutDescending) {
  Tree a = Tree::Dict();
  a.Set("x", Tree::List()).Append(Tree::Int(1));
  Tree b = Tree::Dict();
  b.Set("x", Tree::FromArray(Array::FromValues<float>({1})));
  const StructureDifference diff = CompareStructure(a, b);
  ASSERT_EQ(diff.kind_changes.size(), 1u);
  EXPECT_EQ(diff.kind_changes[0].kind_a, "list");
  EXPECT_EQ(diff.kind_changes[0].kind_b, "array");
  EXPECT_TRUE(diff.common_leaves.empty());
}

TEST(CompareStructureTest, ListsOfDifferentLengthsDifferAtTheEnd) {
  Tree a = Tree::List();
  a.Append(Tree::Int(1));
  a.Append(Tree::Int(2));
  Tree b = Tree::List();
  b.Append(Tree::Int(1));
  const StructureDifference diff = CompareStructure(a, b);
  EXPECT_EQ(Paths(diff.only_in_a), std::vector<std::string>{"[1]"});
}

TEST(CompareArraysTest, EqualArraysAreEqual) {
  const Array a = Array::FromValues<float>({1, 2, 3});
  absl::StatusOr<ArrayDifference> diff = CompareArrays(a, a);
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_TRUE(diff->equal);
  EXPECT_EQ(diff->differing, 0u);
}

TEST(CompareArraysTest, GivesMaxAbsoluteAndRelativeDifference) {
  const Array a = Array::FromValues<float>({1, 2, 4, 10});
  const Array b = Array::FromValues<float>({1, 2.5f, 4, 8});
  absl::StatusOr<ArrayDifference> diff = CompareArrays(a, b);
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_FALSE(diff->equal);
  EXPECT_EQ(diff->differing, 2u);
  EXPECT_EQ(diff->first_differing, 1u);
  EXPECT_DOUBLE_EQ(diff->max_abs, 2.0);
  EXPECT_DOUBLE_EQ(diff->max_rel, 0.25);
}

TEST(CompareArraysTest, NaNsInTheSamePlacesAreEqual) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  absl::StatusOr<ArrayDifference> diff =
      CompareArrays(Array::FromValues<float>({nan, 1}), Array::FromValues<float>({nan, 1}));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_TRUE(diff->equal);
}

TEST(CompareArraysTest, LargeIntegersThatCastAlikeStillDiffer) {
  const int64_t big = int64_t{1} << 60;
  absl::StatusOr<ArrayDifference> diff =
      CompareArrays(Array::FromValues<int64_t>({big}), Array::FromValues<int64_t>({big + 1}));
  ASSERT_TRUE(diff.ok()) << diff.status();
  EXPECT_FALSE(diff->equal);
}

TEST(CompareArraysTest, DifferentShapesAreAnError) {
  absl::StatusOr<ArrayDifference> diff =
      CompareArrays(Array::FromValues<float>({1, 2}), Array::FromValues<float>({1, 2, 3}));
  EXPECT_TRUE(absl::IsInvalidArgument(diff.status()));
}

}  // namespace
}  // namespace cairn
