// Loads into memory of the caller's choosing (StoreLoadOptions::memory): a caller's allocator
// serves every fresh array, and an ArrayArena gives the memory of destroyed arrays to the next
// load.
#include "cairn/storage/array_memory.h"

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

Tree State() {
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {512, 300}, 3)));
  tree.Set("b", Tree::FromArray(Iota<int32_t>({300})));
  tree.Set("empty", Tree::FromArray(Iota<float>({0})));
  tree.Set("step", Tree::Int(9));
  return tree;
}

// The data pointers of the tree's arrays that have bytes.
std::set<const void*> ArrayData(const Tree& tree) {
  std::set<const void*> data;
  tree.ForEachLeaf([&](const KeyPath&, const Tree& leaf) {
    if (leaf.kind() == Tree::Kind::kArray && leaf.array().byte_size() > 0) {
      data.insert(leaf.array().data());
    }
  });
  return data;
}

// Hands out heap blocks and remembers them; or fails every request.
class RecordingMemory final : public ArrayMemory {
 public:
  absl::StatusOr<std::shared_ptr<void>> Allocate(uint64_t bytes) override {
    if (fail_) return absl::ResourceExhaustedError("no memory left in the device pool");
    void* block = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    blocks_.insert(block);
    return std::shared_ptr<void>(block, [](void* p) { std::free(p); });
  }
  const std::set<const void*>& blocks() const { return blocks_; }
  void set_fail(bool fail) { fail_ = fail; }

 private:
  std::set<const void*> blocks_;
  bool fail_ = false;
};

class ArrayMemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("tree");
    ASSERT_TRUE(SaveTree(dir_, State()).ok());
  }

  absl::StatusOr<Tree> LoadWith(ArrayMemory* memory) {
    StoreLoadOptions options;
    options.memory = memory;
    return LoadTree(dir_, Tree::AsSaved(), options);
  }

  TempDir tmp_;
  std::string dir_;
};

TEST_F(ArrayMemoryTest, CallersMemoryHoldsEveryFreshArray) {
  RecordingMemory memory;
  absl::StatusOr<Tree> loaded = LoadWith(&memory);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, State()));
  EXPECT_EQ(ArrayData(*loaded), memory.blocks());
  EXPECT_EQ(memory.blocks().size(), 2u);
}

TEST_F(ArrayMemoryTest, CallersFailureFailsTheLoad) {
  RecordingMemory memory;
  memory.set_fail(true);
  absl::StatusOr<Tree> loaded = LoadWith(&memory);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), ::testing::HasSubstr("device pool"));
}

TEST_F(ArrayMemoryTest, ArenaGivesDestroyedArraysMemoryToTheNextLoad) {
  ArrayArena arena;
  std::set<const void*> first_data;
  {
    absl::StatusOr<Tree> first = LoadWith(&arena);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_TRUE(TreesEqual(*first, State()));
    first_data = ArrayData(*first);
    EXPECT_EQ(arena.kept_bytes(), 0u);
  }
  EXPECT_GT(arena.kept_bytes(), 512u * 300 * 4);
  absl::StatusOr<Tree> second = LoadWith(&arena);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_TRUE(TreesEqual(*second, State()));
  EXPECT_EQ(ArrayData(*second), first_data);
  EXPECT_EQ(arena.kept_bytes(), 0u);
}

TEST_F(ArrayMemoryTest, ArraysOutliveTheirArena) {
  absl::StatusOr<Tree> loaded;
  {
    ArrayArena arena(ArrayArenaOptions{/*huge_pages=*/true});
    loaded = LoadWith(&arena);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
  }
  EXPECT_TRUE(TreesEqual(*loaded, State()));
}

TEST_F(ArrayMemoryTest, ArenaKeepsNoMoreThanItsLimit) {
  ArrayArenaOptions options;
  options.max_kept_bytes = 64 << 10;  // room for b, not for w
  ArrayArena arena(options);
  ASSERT_TRUE(LoadWith(&arena).ok());
  EXPECT_EQ(arena.kept_bytes(), 4096u);
  arena.Release();
  EXPECT_EQ(arena.kept_bytes(), 0u);
}

}  // namespace
}  // namespace cairn
