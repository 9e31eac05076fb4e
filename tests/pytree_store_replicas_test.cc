// Pieces that several processes hold (ShardPlacement's replica id and count) are written once,
// by a replica that depends on the key path and origin, so that the replicas share the writes;
// replicas that disagree, or pieces that overlap without replica ids, fail the save.
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/save_plan.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/counting_filesystem.h"
#include "cairn/utils/filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_coordinator.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::TempDir;
using testing::ThreadCoordinator;
using testing::ThreadGroupState;

// Rows of 16 float32 (64 bytes) and chunks of three rows: chunks lie back to back in the data
// files, without alignment padding, so that the bytes written add up exactly.
constexpr uint64_t kChunkBytes = 192;
constexpr uint64_t kRowBytes = 64;

// Runs `tree_of(p)` through SaveTree on `n` threads, each with its own counting filesystem.
struct GroupSave {
  std::vector<absl::Status> results;
  std::vector<uint64_t> bytes_written;  // by process, the index included on the primary
};

GroupSave SaveOnThreads(const std::string& dir, int n, const std::function<Tree(int)>& tree_of) {
  GroupSave out;
  out.results.resize(n);
  out.bytes_written.resize(n);
  auto state = std::make_shared<ThreadGroupState>(n);
  std::vector<std::thread> processes;
  for (int p = 0; p < n; ++p) {
    processes.emplace_back([&, p] {
      ThreadCoordinator coordinator(state, p, n);
      CountingFilesystem counting(Filesystem::Default());
      StoreSaveOptions options;
      options.coordinator = &coordinator;
      options.filesystem = &counting;
      options.chunk_bytes = kChunkBytes;
      out.results[p] = SaveTree(dir, tree_of(p), options);
      out.bytes_written[p] = counting.bytes_written();
    });
  }
  for (std::thread& t : processes) t.join();
  return out;
}

uint64_t DataBytesWritten(const std::string& dir, const GroupSave& save) {
  uint64_t total = 0;
  for (uint64_t bytes : save.bytes_written) total += bytes;
  return total - std::filesystem::file_size(dir + "/" + kTreeIndexFileName);
}

Array Placed(Array array, Shape global, Shape origin, int replica_id, int num_replicas) {
  array.set_placement(
      ShardPlacement{std::move(global), std::move(origin), replica_id, num_replicas});
  return array;
}

TEST(ReplicatedSave, APieceEveryProcessHoldsIsWrittenOnce) {
  TempDir tmp;
  const std::string dir = tmp.Join("ckpt");
  const Array bias = Iota<float>({12, 16});
  const Array w = Iota<float>({8, 16});
  GroupSave save = SaveOnThreads(dir, 4, [&](int p) {
    Tree tree = Tree::Dict();
    // Rows [2p, 2p + 2) of w, and all of bias, as replica p of 4.
    Array rows =
        Array::Borrow(DType::kFloat32, {2, 16}, static_cast<const float*>(w.data()) + 2 * p * 16);
    tree.Set("w", Tree::FromArray(Placed(rows, {8, 16}, {2 * p, 0}, 0, 1)));
    tree.Set("bias", Tree::FromArray(Placed(Array::Borrow(DType::kFloat32, {12, 16}, bias.data()),
                                            {12, 16}, {0, 0}, p, 4)));
    return tree;
  });
  for (const absl::Status& result : save.results) ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(DataBytesWritten(dir, save), (8 + 12) * kRowBytes);
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->tree.Find("bias")->spec().storage->num_shards, 1);
  EXPECT_EQ(metadata->tree.Find("w")->spec().storage->num_shards, 4);
  absl::StatusOr<Tree> loaded = LoadTree(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Find("bias")->array().ContentEquals(bias));
  EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(w));
}

TEST(ReplicatedSave, ReplicasShareTheWrites) {
  TempDir tmp;
  const std::string dir = tmp.Join("ckpt");
  constexpr int kArrays = 64;
  const Array values = Iota<float>({3, 16});
  GroupSave save = SaveOnThreads(dir, 4, [&](int p) {
    Tree tree = Tree::Dict();
    for (int i = 0; i < kArrays; ++i) {
      tree.Set(absl::StrCat("layer", i),
               Tree::FromArray(Placed(Array::Borrow(DType::kFloat32, {3, 16}, values.data()),
                                      {3, 16}, {0, 0}, p, 4)));
    }
    return tree;
  });
  for (const absl::Status& result : save.results) ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(DataBytesWritten(dir, save), kArrays * 3 * kRowBytes);
  // Every replica writes some of the arrays (the choice is a fixed function of the key paths),
  // and none writes more than half of them.
  const uint64_t index = std::filesystem::file_size(dir + "/" + kTreeIndexFileName);
  for (int p = 0; p < 4; ++p) {
    const uint64_t data = save.bytes_written[p] - (p == 0 ? index : 0);
    EXPECT_GT(data, 0u) << "process " << p;
    EXPECT_LE(data, kArrays / 2 * 3 * kRowBytes) << "process " << p;
  }
  absl::StatusOr<Tree> loaded = LoadTree(dir);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  for (int i = 0; i < kArrays; ++i) {
    EXPECT_TRUE(loaded->Find(absl::StrCat("layer", i))->array().ContentEquals(values));
  }
}

TEST(ReplicatedSave, TheWriterIsTheSameOnEveryProcessAndSpreadsOverOrigins) {
  EXPECT_EQ(ReplicaWriter("a/b", {0, 4}, 1), 0);
  // Deterministic: the same inputs, the same replica (it is a hash of the text, not a pointer).
  EXPECT_EQ(ReplicaWriter("a/b", {0, 4}, 4), ReplicaWriter("a/b", {0, 4}, 4));
  std::vector<int> count(4, 0);
  for (int64_t origin = 0; origin < 400; origin += 4) ++count[ReplicaWriter("w", {origin, 0}, 4)];
  for (int c : count) EXPECT_GT(c, 10);
}

TEST(ReplicatedSave, ClaimsRoundTripThroughTheirText) {
  std::vector<ReplicaClaim> claims = {{"a/weird key:1", {0, 4}, {2, 2}, 1, 3}, {"", {}, {}, 0, 2}};
  absl::StatusOr<std::vector<ReplicaClaim>> decoded =
      DecodeReplicaClaims(EncodeReplicaClaims(claims));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0].path, "a/weird key:1");
  EXPECT_EQ((*decoded)[0].origin, (Shape{0, 4}));
  EXPECT_EQ((*decoded)[0].shape, (Shape{2, 2}));
  EXPECT_EQ((*decoded)[0].replica_id, 1);
  EXPECT_EQ((*decoded)[0].num_replicas, 3);
  EXPECT_EQ((*decoded)[1].num_replicas, 2);
  EXPECT_TRUE(absl::IsInternal(DecodeReplicaClaims("3:abc2 0 0 ").status()));
  EXPECT_TRUE(absl::IsInternal(DecodeReplicaClaims("1:a0 0 5 2\n").status()));
}

// Saves a (4, 16) array held whole by both of two processes, with `replica(p)` as process p's
// (replica id, count); returns the primary's result.
absl::Status SaveHeldByBoth(const std::string& dir,
                            std::function<std::pair<int, int>(int)> replica) {
  const Array values = Iota<float>({4, 16});
  GroupSave save = SaveOnThreads(dir, 2, [&](int p) {
    auto [id, count] = replica(p);
    return Tree::FromArray(
        Placed(Array::Borrow(DType::kFloat32, {4, 16}, values.data()), {4, 16}, {0, 0}, id, count));
  });
  EXPECT_FALSE(save.results[1].ok());
  EXPECT_FALSE(*HoldsTree(dir));
  return save.results[0];
}

TEST(ReplicatedSave, TwoProcessesClaimingOneReplicaFailTheSave) {
  TempDir tmp;
  absl::Status status = SaveHeldByBoth(tmp.Join("ckpt"), [](int) { return std::pair(0, 2); });
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("is replica 0 on both process 0 and process 1"));
}

TEST(ReplicatedSave, ReplicasDisagreeingOnTheirNumberFailTheSave) {
  TempDir tmp;
  absl::Status status =
      SaveHeldByBoth(tmp.Join("ckpt"), [](int p) { return std::pair(p, p == 0 ? 2 : 3); });
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("has 2 replicas on process 0 but 3"));
}

TEST(ReplicatedSave, AMissingReplicaFailsTheSave) {
  TempDir tmp;
  absl::Status status = SaveHeldByBoth(tmp.Join("ckpt"), [](int p) { return std::pair(p, 3); });
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("no process holds replica 2"));
}

TEST(ReplicatedSave, APieceHeldByTwoWithoutReplicaIdsFailsTheSave) {
  TempDir tmp;
  absl::Status status = SaveHeldByBoth(tmp.Join("ckpt"), [](int) { return std::pair(0, 1); });
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("overlap"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("replica id and count"));
}

TEST(ReplicatedSave, OneProcessAloneCannotBeOneOfTwoReplicas) {
  TempDir tmp;
  Array array = Placed(Iota<float>({4, 16}), {4, 16}, {0, 0}, 0, 2);
  absl::Status status = SaveTree(tmp.Join("ckpt"), Tree::FromArray(array));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("no process holds replica 1"));
  EXPECT_FALSE(*HoldsTree(tmp.Join("ckpt")));
}

TEST(ReplicatedSave, ReplicaIdsOutsideTheirCountAreRefused) {
  TempDir tmp;
  for (auto [id, count] : {std::pair(2, 2), std::pair(-1, 2), std::pair(0, 0)}) {
    Array array = Placed(Iota<float>({4, 16}), {4, 16}, {0, 0}, id, count);
    absl::Status status =
        SaveTree(tmp.Join(absl::StrCat("ckpt", id, count)), Tree::FromArray(array));
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("replica ids run from 0"));
  }
}

}  // namespace
}  // namespace cairn
