// Where a save places chunks in its data file: chunks of a whole number of huge pages (2 MiB)
// start on huge-page boundaries whatever the tree's order, so that a mapped load can map their
// pages whole; every other chunk keeps its page or cache-line alignment, and nothing is lost.
#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

constexpr uint64_t kHugePage = uint64_t{2} << 20;

// Float32 arrays of `rows` rows of 1 KiB each.
Tree Rows(int64_t rows, uint32_t seed) {
  return Tree::FromArray(RandomBytes(DType::kFloat32, {rows, 256}, seed));
}

// Between arrays that are not whole huge pages, so that tree order alone would misalign them.
Tree MixedTree() {
  Tree tree = Tree::Dict();
  tree.Set("a_small", Rows(3, 1));            // 3 KiB
  tree.Set("b_odd", Rows(3 * 1024 + 5, 2));   // 3 MiB + 5 KiB
  tree.Set("c_two", Rows(2 * 1024, 3));       // 2 MiB
  tree.Set("d_small", Rows(1, 4));            // 1 KiB
  tree.Set("e_sixteen", Rows(16 * 1024, 5));  // 16 MiB: two chunks of 8 MiB
  tree.Set("f_odd", Rows(70, 6));             // 70 KiB
  tree.Set("g_tail", Rows(8 * 1024 + 3, 7));  // chunks of 8 MiB and 3 KiB
  return tree;
}

// Each array's chunk offsets, by key, from the saved index.
std::map<std::string, std::vector<uint64_t>> ChunkOffsets(const std::string& dir) {
  std::map<std::string, std::vector<uint64_t>> offsets;
  absl::StatusOr<std::unique_ptr<ParsedIndex>> parsed =
      ReadIndexFile(*Filesystem::Default(), dir, uint64_t{1} << 30);
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return offsets;
  const format::Dict& root = (*parsed)->index->root().dict();
  for (int i = 0; i < root.keys_size(); ++i) {
    for (const format::Shard& shard : root.values(i).array().shards()) {
      for (const format::Chunk& chunk : shard.chunks()) {
        offsets[root.keys(i)].push_back(chunk.offset());
      }
    }
  }
  return offsets;
}

TEST(ChunkPlacement, WholeHugePageChunksStartOnHugePageBoundaries) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), MixedTree()).ok());
  const auto offsets = ChunkOffsets(tmp.Join("ckpt"));
  ASSERT_EQ(offsets.at("c_two").size(), 1u);
  EXPECT_EQ(offsets.at("c_two")[0] % kHugePage, 0u);
  ASSERT_EQ(offsets.at("e_sixteen").size(), 2u);
  for (uint64_t offset : offsets.at("e_sixteen")) EXPECT_EQ(offset % kHugePage, 0u) << offset;
}

TEST(ChunkPlacement, OtherChunksKeepTheirAlignment) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), MixedTree()).ok());
  const auto offsets = ChunkOffsets(tmp.Join("ckpt"));
  EXPECT_EQ(offsets.at("b_odd")[0] % 4096, 0u);  // 64 KiB or more: on a page
  EXPECT_EQ(offsets.at("f_odd")[0] % 4096, 0u);
  EXPECT_EQ(offsets.at("a_small")[0] % 64, 0u);  // smaller: on a cache line
  EXPECT_EQ(offsets.at("d_small")[0] % 64, 0u);
}

// A piece leads only whole: the 8 MiB chunk of an array whose last chunk is 3 KiB stays beside
// that chunk, where a mapped load can still take the array as one run.
TEST(ChunkPlacement, AnArraysChunksStayTogether) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), MixedTree()).ok());
  const std::vector<uint64_t> tail = ChunkOffsets(tmp.Join("ckpt")).at("g_tail");
  ASSERT_EQ(tail.size(), 2u);
  EXPECT_EQ(tail[1], tail[0] + (uint64_t{8} << 20));
}

TEST(ChunkPlacement, TheFileHoldsNoMoreThanItsChunksAndAlignment) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), MixedTree()).ok());
  const uint64_t chunks =
      (3 + (3 * 1024 + 5) + 2 * 1024 + 1 + 16 * 1024 + 70 + 8 * 1024 + 3) * uint64_t{1024};
  const uint64_t size = std::filesystem::file_size(std::filesystem::path(tmp.Join("ckpt")) /
                                                   kTreeDataDirName / "p0.dat");
  EXPECT_GE(size, chunks);
  EXPECT_LE(size, chunks + 8 * 4096);
}

TEST(ChunkPlacement, TheTreeLoadsBackWholeAndMapped) {
  TempDir tmp;
  const Tree tree = MixedTree();
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
  MapReport report;
  StoreLoadOptions mapped;
  mapped.map_arrays = true;
  mapped.map_report = &report;
  absl::StatusOr<Tree> mapped_tree = LoadTree(tmp.Join("ckpt"), Tree::AsSaved(), mapped);
  ASSERT_TRUE(mapped_tree.ok()) << mapped_tree.status();
  EXPECT_TRUE(TreesEqual(*mapped_tree, tree));
  EXPECT_EQ(report.mapped.size(), 7u);
}

}  // namespace
}  // namespace cairn
