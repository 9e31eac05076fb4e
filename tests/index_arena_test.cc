// The blocks an index is built in are kept for the next index, within a bound.
#include "cairn/storage/internal/index_arena.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

Tree ManyScalars(int n) {
  std::vector<std::string> keys;
  std::vector<Tree> values;
  for (int i = 0; i < n; ++i) {
    keys.push_back(absl::StrCat("k", i));
    values.push_back(Tree::FromArray(Array::FromValues<int32_t>({i})));
  }
  return Tree::DictFrom(std::move(keys), std::move(values)).value();
}

TEST(IndexArena, KeepsTheBlocksOfAnIndexWithinItsBound) {
  testing::TempDir tmp;
  const Tree tree = ManyScalars(20000);
  ASSERT_TRUE(SaveTree(tmp.Join("a"), tree).ok());
  const size_t kept = RetainedIndexArenaBytes();
  EXPECT_GT(kept, size_t{1} << 20);
  EXPECT_LE(kept, kRetainedIndexArenaBytes);
  // A second save of the same size takes its blocks from those kept and gives them back.
  ASSERT_TRUE(SaveTree(tmp.Join("b"), tree).ok());
  EXPECT_GE(RetainedIndexArenaBytes(), kept / 2);
  EXPECT_LE(RetainedIndexArenaBytes(), kRetainedIndexArenaBytes);
  // A load's parsed index (kept by the index cache while it lives) takes blocks too.
  ASSERT_TRUE(LoadTree(tmp.Join("b")).ok());
  EXPECT_LE(RetainedIndexArenaBytes(), kRetainedIndexArenaBytes);
}

}  // namespace
}  // namespace cairn
