#include "cairn/storage/tree.h"

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
