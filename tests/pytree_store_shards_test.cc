// Arrays that are pieces of a global array: shard records, multi-process saves through the
// Coordinator seam, and loading any region of the global array.
#include <thread>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_coordinator.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::TempDir;
using testing::ThreadCoordinator;
using testing::ThreadGroupState;

// Rows [4p, 4p + 4) of the 8x3 global array whose element (r, c) is 3r + c.
Array RowsOfGlobal(int p) {
  Array piece = Array::Allocate(DType::kFloat32, {4, 3}).value();
  float* out = static_cast<float*>(piece.mutable_data());
  for (int i = 0; i < 12; ++i) out[i] = static_cast<float>(p * 12 + i);
  piece.set_placement(ShardPlacement{{8, 3}, {4 * p, 0}});
  return piece;
}

TEST(ShardedSave, TwoProcessesWriteOneTree) {
  TempDir tmp;
  auto state = std::make_shared<ThreadGroupState>(2);
  std::vector<absl::Status> results(2);
  std::vector<std::thread> processes;
  for (int p = 0; p < 2; ++p) {
    processes.emplace_back([&, p] {
      ThreadCoordinator coordinator(state, p, 2);
      Tree tree = Tree::Dict();
      tree.Set("w", Tree::FromArray(RowsOfGlobal(p)));
      tree.Set("step", Tree::Int(3));
      StoreSaveOptions options;
      options.coordinator = &coordinator;
      options.chunk_bytes = 24;  // two rows per chunk
      results[p] = SaveTree(tmp.Join("ckpt"), tree, options);
    });
  }
  for (std::thread& t : processes) t.join();
  ASSERT_TRUE(results[0].ok()) << results[0];
  ASSERT_TRUE(results[1].ok()) << results[1];

  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->tree.Find("w")->spec().storage->num_shards, 2);
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(Iota<float>({8, 3})));
}

TEST(ShardedSave, AFailingProcessFailsTheWholeSave) {
  TempDir tmp;
  auto state = std::make_shared<ThreadGroupState>(2);
  std::vector<absl::Status> results(2);
  std::vector<std::thread> processes;
  for (int p = 0; p < 2; ++p) {
    processes.emplace_back([&, p] {
      ThreadCoordinator coordinator(state, p, 2);
      Tree tree = Tree::Dict();
      // Process 1 saves a different structure: the merge must refuse it.
      tree.Set(p == 0 ? "w" : "v", Tree::FromArray(RowsOfGlobal(p)));
      StoreSaveOptions options;
      options.coordinator = &coordinator;
      results[p] = SaveTree(tmp.Join("ckpt"), tree, options);
    });
  }
  for (std::thread& t : processes) t.join();
  EXPECT_FALSE(results[0].ok());
  EXPECT_FALSE(results[1].ok());
  EXPECT_THAT(std::string(results[0].message()), ::testing::HasSubstr("different trees"));
  EXPECT_FALSE(*HoldsTree(tmp.Join("ckpt")));
}

TEST(ShardedLoad, RegionSpanningTwoShards) {
  TempDir tmp;
  auto state = std::make_shared<ThreadGroupState>(2);
  std::vector<std::thread> processes;
  for (int p = 0; p < 2; ++p) {
    processes.emplace_back([&, p] {
      ThreadCoordinator coordinator(state, p, 2);
      StoreSaveOptions options;
      options.coordinator = &coordinator;
      EXPECT_TRUE(SaveTree(tmp.Join("ckpt"), Tree::FromArray(RowsOfGlobal(p)), options).ok());
    });
  }
  for (std::thread& t : processes) t.join();
  ArraySpec spec;
  spec.shape = Shape{2, 2};
  spec.origin = Shape{3, 1};
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), Tree::Spec(spec));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto values = loaded->array().values<float>();
  EXPECT_EQ(std::vector<float>(values.begin(), values.end()), (std::vector<float>{10, 11, 13, 14}));
}

TEST(ShardedLoad, PlacedTargetLoadsItsOwnPiece) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), Tree::FromArray(Iota<float>({8, 3}))).ok());
  // A process that holds rows 4..7 loads just those, into a target that says where it sits.
  Array target = Array::Allocate(DType::kFloat32, {4, 3}).value();
  target.set_placement(ShardPlacement{{8, 3}, {4, 0}});
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), Tree::FromArray(target));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(target.values<float>()[0], 12.0f);
  EXPECT_EQ(target.values<float>()[11], 23.0f);
}

TEST(ShardedLoad, UnwrittenPartsOfTheGlobalArrayAreZero) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), Tree::FromArray(RowsOfGlobal(1))).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  auto values = loaded->array().values<float>();
  EXPECT_EQ(values[0], 0.0f);
  EXPECT_EQ(values[12], 12.0f);
}

}  // namespace
}  // namespace cairn
