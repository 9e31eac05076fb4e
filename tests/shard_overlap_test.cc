// The disjointness check of an array's shards: grids, rows, columns and edges that touch are
// disjoint; any shared element is found, whichever dimension the sweep runs along.
#include "cairn/storage/internal/shard_overlap.h"

#include <cstdint>
#include <vector>

#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::cairn::internal::FindOverlappingShards;

// An array of `shape` with no shards yet.
format::ArrayLeaf Leaf(const std::vector<uint64_t>& shape) {
  format::ArrayLeaf leaf;
  for (uint64_t d : shape) leaf.add_global_shape(d);
  return leaf;
}

void AddShard(format::ArrayLeaf* leaf, const std::vector<uint64_t>& origin,
              const std::vector<uint64_t>& shape) {
  format::Shard* shard = leaf->add_shards();
  for (uint64_t o : origin) shard->add_origin(o);
  for (uint64_t s : shape) shard->add_shape(s);
}

std::optional<std::pair<int, int>> Find(const format::ArrayLeaf& leaf) {
  absl::StatusOr<std::optional<std::pair<int, int>>> found = FindOverlappingShards(leaf);
  EXPECT_TRUE(found.ok()) << found.status();
  return found.ok() ? *found : std::nullopt;
}

TEST(ShardOverlapTest, GridOfPiecesIsDisjoint) {
  format::ArrayLeaf leaf = Leaf({9, 6});
  for (uint64_t r = 0; r < 3; ++r) {
    for (uint64_t c = 0; c < 3; ++c) AddShard(&leaf, {r * 3, c * 2}, {3, 2});
  }
  EXPECT_EQ(Find(leaf), std::nullopt);
}

TEST(ShardOverlapTest, ColumnsSpanningEveryRowAreDisjoint) {
  format::ArrayLeaf leaf = Leaf({100, 1000});
  for (uint64_t c = 0; c < 1000; ++c) AddShard(&leaf, {0, c}, {100, 1});
  EXPECT_EQ(Find(leaf), std::nullopt);
}

TEST(ShardOverlapTest, OneSharedElementIsFound) {
  format::ArrayLeaf leaf = Leaf({10, 10});
  AddShard(&leaf, {0, 0}, {5, 5});
  AddShard(&leaf, {5, 5}, {5, 5});
  AddShard(&leaf, {4, 4}, {1, 1});
  EXPECT_EQ(Find(leaf), std::make_pair(0, 2));
}

TEST(ShardOverlapTest, OverlapAlongTheSecondDimensionOnlyIsFound) {
  format::ArrayLeaf leaf = Leaf({4, 10});
  AddShard(&leaf, {0, 0}, {4, 6});
  AddShard(&leaf, {0, 5}, {4, 5});
  EXPECT_EQ(Find(leaf), std::make_pair(0, 1));
}

TEST(ShardOverlapTest, EmptyShardsOverlapNothing) {
  format::ArrayLeaf leaf = Leaf({4, 4});
  AddShard(&leaf, {0, 0}, {4, 4});
  AddShard(&leaf, {1, 1}, {0, 2});
  EXPECT_EQ(Find(leaf), std::nullopt);
}

TEST(ShardOverlapTest, TwoShardsOfAScalarOverlap) {
  format::ArrayLeaf leaf = Leaf({});
  AddShard(&leaf, {}, {});
  AddShard(&leaf, {}, {});
  EXPECT_EQ(Find(leaf), std::make_pair(0, 1));
}

TEST(ShardOverlapTest, ThinShardsAlongAnyDimensionAreCheckedQuickly) {
  // 6,000 columns, each meeting all others along dimension 0: the sweep runs along 1.
  format::ArrayLeaf leaf = Leaf({1 << 20, 1 << 20});
  for (uint64_t i = 0; i < 6000; ++i) AddShard(&leaf, {i, 6000 - 1 - i}, {6000, 1});
  EXPECT_EQ(Find(leaf), std::nullopt);
}

TEST(ShardOverlapTest, LayoutsTooTangledToCheckAreRefusedNotAccepted) {
  // Columns on the left, rows on the right, 6,000 of each: disjoint, yet along either dimension
  // one family all meet, which takes more comparisons than the check makes.
  constexpr uint64_t n = 6000;
  format::ArrayLeaf leaf = Leaf({2 * n, 2 * n});
  for (uint64_t i = 0; i < n; ++i) AddShard(&leaf, {0, i}, {n, 1});
  for (uint64_t i = 0; i < n; ++i) AddShard(&leaf, {n + i, n}, {1, n});
  absl::StatusOr<std::optional<std::pair<int, int>>> found = FindOverlappingShards(leaf);
  EXPECT_EQ(found.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace cairn
