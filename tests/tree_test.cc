#include "cairn/storage/tree.h"

#include <string>
#include <utility>

#include "cairn/storage/key_path.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(KeyPath, RendersDictKeysAndIndices) {
  EXPECT_EQ(KeyPath().Child("params").Child("layer1").Child("kernel").ToString(),
            "params.layer1.kernel");
  EXPECT_EQ(KeyPath().Child("opt_state").Child(size_t{0}).ToString(), "opt_state[0]");
  EXPECT_EQ(KeyPath().ToString(), "<root>");
}

TEST(KeyPath, QuotesKeysThatWouldReadAmbiguously) {
  EXPECT_EQ(KeyPath().Child("a.b").Child("0").ToString(), "[\"a.b\"][\"0\"]");
  EXPECT_EQ(KeyPath().Child("x").Child("say \"hi\"").ToString(), "x[\"say \\\"hi\\\"\"]");
}

TEST(Tree, SetReplacesInPlaceAndKeepsOrder) {
  Tree tree = Tree::Dict();
  tree.Set("b", Tree::Int(1));
  tree.Set("a", Tree::Int(2));
  tree.Set("b", Tree::Int(3));
  EXPECT_EQ(tree.keys(), (std::vector<std::string>{"b", "a"}));
  EXPECT_EQ(tree.Find("b")->int_value(), 3);
  EXPECT_EQ(tree.Find("missing"), nullptr);
}

TEST(Tree, AChildReferenceStaysValidWhileSiblingsAreAdded) {
  Tree state = Tree::Dict();
  Tree& params = state.Set("params", Tree::Dict());
  Tree& items = state.Set("items", Tree::List());
  for (int i = 0; i < 10000; ++i) {
    state.Set("sibling" + std::to_string(i), Tree::Int(i));
    items.Append(Tree::Int(i));
  }
  Tree& first = items.Append(Tree::Int(-1));
  for (int i = 0; i < 1000; ++i) items.Append(Tree::Int(i));
  params.Set("w", Tree::Int(7));
  ASSERT_EQ(state.Find("params"), &params);
  ASSERT_NE(state.Find("params")->Find("w"), nullptr);
  EXPECT_EQ(state.Find("params")->Find("w")->int_value(), 7);
  EXPECT_EQ(first.int_value(), -1);
  EXPECT_EQ(&state.Find("items")->children()[10000], &first);
  // Replacing a key's value keeps its node: the reference sees the new value.
  state.Set("params", Tree::Int(3));
  EXPECT_EQ(params.int_value(), 3);
  EXPECT_EQ(state.keys()[0], "params");
}

TEST(Tree, CopiesAreDeepAndMovesKeepTheNodes) {
  Tree tree = Tree::Dict();
  Tree& child = tree.Set("a", Tree::Dict());
  child.Set("x", Tree::Int(1));
  Tree copy = tree;
  child.Set("x", Tree::Int(2));
  EXPECT_EQ(copy.Find("a")->Find("x")->int_value(), 1);
  Tree moved = std::move(tree);
  EXPECT_EQ(moved.Find("a"), &child);
  copy = moved;
  EXPECT_EQ(copy.Find("a")->Find("x")->int_value(), 2);
  EXPECT_NE(copy.Find("a"), &child);
}

TEST(Tree, ForEachLeafVisitsInOrderWithPaths) {
  Tree tree = Tree::Dict();
  Tree& list = tree.Set("l", Tree::List());
  list.Append(Tree::Int(1));
  list.Append(Tree::None());
  tree.Set("s", Tree::String("x"));
  std::vector<std::string> paths;
  tree.ForEachLeaf([&](const KeyPath& path, const Tree&) { paths.push_back(path.ToString()); });
  EXPECT_EQ(paths, (std::vector<std::string>{"l[0]", "l[1]", "s"}));
}

TEST(Array, AllocateZeroFillsAndBorrowDoesNotCopy) {
  Array zeros = Array::Allocate(DType::kInt32, {3, 2}).value();
  for (int32_t v : zeros.values<int32_t>()) EXPECT_EQ(v, 0);
  float data[2] = {1, 2};
  Array view = Array::Borrow(DType::kFloat32, {2}, data);
  EXPECT_EQ(view.data(), data);
  EXPECT_FALSE(view.is_writable());
  EXPECT_EQ(view.mutable_data(), nullptr);
}

TEST(Array, AllocateRefusesOverflowingShapes) {
  EXPECT_FALSE(Array::Allocate(DType::kFloat64, {int64_t{1} << 40, int64_t{1} << 40}).ok());
  EXPECT_FALSE(Array::Allocate(DType::kFloat64, {-3}).ok());
}

}  // namespace
}  // namespace cairn
