// One tree saved by every rank of the job, each with its own pieces (row blocks of a global
// array, a replicated array, a column-sharded array held by two replicas each), then loaded on
// 1, 2, ... ranks (sub-communicators of the job) with regions that cut across shards and chunks,
// compared byte for byte with the global arrays.
#include <mpi.h>

#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/counting_filesystem.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/mpi/mpi_coordinator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mpi/mpi_test_support.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// The global arrays. Every row is 64 bytes and every chunk a whole number of rows of 3 * 64
// bytes, so that the data files hold the chunks back to back, with no alignment padding, and
// the bytes written can be counted exactly.
constexpr int64_t kRows = 38;      // "w": float32 (38, 16), a row block per rank
constexpr int64_t kBiasRows = 12;  // "bias": int32 (12, 16), held whole by every rank
constexpr int64_t kTpRows = 10;    // "tp": float64 (10, 8), two column halves, replicated
constexpr uint64_t kChunkBytes = 192;

float W(int64_t r, int64_t c) { return static_cast<float>(r * 1000 + c) + 0.25f; }
int32_t Bias(int64_t r, int64_t c) { return static_cast<int32_t>(r * 16 + c) - 77; }
double Tp(int64_t r, int64_t c) {
  return static_cast<double>(r) * 0.5 + static_cast<double>(c) * 1e-3;
}

// The block [origin, origin + shape) of a global array whose element (r, c) is f(r, c).
template <typename T, typename F>
Array Block(Shape origin, Shape shape, F f) {
  Array array = Array::Allocate(DTypeOf<T>::value, shape).value();
  T* out = static_cast<T*>(array.mutable_data());
  for (int64_t r = 0; r < shape[0]; ++r) {
    for (int64_t c = 0; c < shape[1]; ++c) out[r * shape[1] + c] = f(origin[0] + r, origin[1] + c);
  }
  return array;
}

// Row boundaries of `count` blocks of `rows` rows: block i is [Boundary(i), Boundary(i + 1)).
// With `shift`, inner boundaries move one row down, off the boundaries of the save.
int64_t Boundary(int64_t rows, int i, int count, bool shift) {
  if (i <= 0) return 0;
  if (i >= count) return rows;
  return rows * i / count + (shift ? i : 0);
}

using testing::MakeCoordinator;
using testing::SharedTempDir;
using testing::WorldRank;
using testing::WorldSize;

// What rank `rank` of `ranks` holds of the training state.
Tree StateOfRank(int rank, int ranks) {
  Tree tree = Tree::Dict();
  const int64_t begin = Boundary(kRows, rank, ranks, false);
  const int64_t end = Boundary(kRows, rank + 1, ranks, false);
  Array w = Block<float>({begin, 0}, {end - begin, 16}, W);
  w.set_placement(ShardPlacement{{kRows, 16}, {begin, 0}});
  tree.Set("w", Tree::FromArray(std::move(w)));
  Array bias = Block<int32_t>({0, 0}, {kBiasRows, 16}, Bias);
  bias.set_placement(ShardPlacement{{kBiasRows, 16}, {0, 0}, rank, ranks});
  tree.Set("bias", Tree::FromArray(std::move(bias)));
  // Tensor-parallel halves, each held by half of the ranks (data-parallel replicas).
  const int64_t half = rank % 2;
  const int replicas = ranks / 2;
  Array tp = Block<double>({0, 4 * half}, {kTpRows, 4}, Tp);
  tp.set_placement(ShardPlacement{{kTpRows, 8}, {0, 4 * half}, rank / 2, replicas});
  tree.Set("tp", Tree::FromArray(std::move(tp)));
  tree.Set("step", Tree::Int(1234));
  return tree;
}

// Bytes of an array, for comparing arrays bit for bit.
std::string Bytes(const Array& array) {
  return std::string(static_cast<const char*>(array.data()), array.byte_size());
}

// Loads rank `rank` of `ranks`'s share of the checkpoint in `dir` and checks it against the
// global arrays; returns the row block of "w" it loaded (empty on failure).
std::string LoadShare(const std::string& dir, int rank, int ranks) {
  const int64_t begin = Boundary(kRows, rank, ranks, true);
  const int64_t end = Boundary(kRows, rank + 1, ranks, true);
  Tree abstract = Tree::Dict();
  ArraySpec rows;
  rows.origin = Shape{begin, 0};
  rows.shape = Shape{end - begin, 16};
  abstract.Set("w", Tree::Spec(rows));
  abstract.Set("bias", Tree::AsSaved());
  // The rows of "tp" this rank holds, across both column halves, loaded into a placed target.
  const int64_t tp_begin = Boundary(kTpRows, rank, ranks, true);
  const int64_t tp_end = Boundary(kTpRows, rank + 1, ranks, true);
  Array target = Array::Allocate(DType::kFloat64, {tp_end - tp_begin, 8}).value();
  target.set_placement(ShardPlacement{{kTpRows, 8}, {tp_begin, 0}});
  abstract.Set("tp", Tree::FromArray(target));
  abstract.Set("step", Tree::AsSaved());
  absl::StatusOr<Tree> loaded = LoadTree(dir, abstract);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  if (!loaded.ok()) return "";
  const std::string w = Bytes(loaded->Find("w")->array());
  EXPECT_TRUE(w == Bytes(Block<float>({begin, 0}, {end - begin, 16}, W)))
      << "rows " << begin << " to " << end << " of w on rank " << rank << " of " << ranks;
  EXPECT_TRUE(Bytes(loaded->Find("bias")->array()) ==
              Bytes(Block<int32_t>({0, 0}, {kBiasRows, 16}, Bias)));
  EXPECT_TRUE(Bytes(target) == Bytes(Block<double>({tp_begin, 0}, {tp_end - tp_begin, 8}, Tp)))
      << "rows " << tp_begin << " to " << tp_end << " of tp on rank " << rank;
  EXPECT_EQ(loaded->Find("step")->int_value(), 1234);

  // A region cutting across shards, chunks and columns.
  ArraySpec cut;
  cut.origin = Shape{std::max<int64_t>(0, begin - 2), 3};
  cut.shape = Shape{std::min<int64_t>(kRows, end + 2) - *cut.origin->begin(), 9};
  Tree abstract_cut = Tree::Dict();
  abstract_cut.Set("w", Tree::Spec(cut));
  StoreLoadOptions partial;
  partial.partial = true;
  absl::StatusOr<Tree> region = LoadTree(dir, abstract_cut, partial);
  EXPECT_TRUE(region.ok()) << region.status();
  if (region.ok()) {
    EXPECT_TRUE(Bytes(region->Find("w")->array()) ==
                Bytes(Block<float>(*cut.origin, *cut.shape, W)));
  }
  return w;
}

TEST(MpiShardedStore, SaveOnAllRanksLoadOnEveryFewerNumber) {
  const int rank = WorldRank();
  const int ranks = WorldSize();
  ASSERT_EQ(ranks % 2, 0) << "run on an even number of ranks";
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string dir = tmp.Join("ckpt");

  // The save, counting what each rank writes.
  CountingFilesystem counting(Filesystem::Default());
  StoreSaveOptions options;
  options.coordinator = world.get();
  options.filesystem = &counting;
  options.chunk_bytes = kChunkBytes;
  const Tree state = StateOfRank(rank, ranks);
  absl::Status saved = SaveTree(dir, state, options);
  EXPECT_TRUE(saved.ok()) << saved;

  // Replicated pieces are written once: the ranks' bytes add up to each global array once,
  // plus the index, which the primary alone writes.
  absl::StatusOr<std::vector<std::string>> written =
      world->Gather("bytes", std::to_string(counting.bytes_written()));
  ASSERT_TRUE(written.ok()) << written.status();
  if (rank == 0) {
    uint64_t total = 0;
    for (const std::string& bytes : *written) total += std::stoull(bytes);
    const uint64_t index = std::filesystem::file_size(dir + "/" + kTreeIndexFileName);
    EXPECT_EQ(total - index, uint64_t{kRows * 64 + kBiasRows * 64 + kTpRows * 64})
        << "bytes written by rank: " << ::testing::PrintToString(*written);
    absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir);
    ASSERT_TRUE(metadata.ok()) << metadata.status();
    EXPECT_EQ(metadata->tree.Find("w")->spec().storage->num_shards, ranks);
    EXPECT_EQ(metadata->tree.Find("bias")->spec().storage->num_shards, 1);
    EXPECT_EQ(metadata->tree.Find("tp")->spec().storage->num_shards, 2);
  }
  ASSERT_TRUE(world->Barrier("saved").ok());

  // Loads on 1, 2, ..., all ranks, each in a sub-communicator of its own.
  for (int count = 1; count <= ranks; ++count) {
    MPI_Comm sub = MPI_COMM_NULL;
    MPI_Comm_split(MPI_COMM_WORLD, rank < count ? 0 : MPI_UNDEFINED, rank, &sub);
    if (sub != MPI_COMM_NULL) {
      std::unique_ptr<MpiCoordinator> group = MakeCoordinator(sub);
      ASSERT_NE(group, nullptr);
      EXPECT_EQ(group->process_count(), count);
      const std::string share = LoadShare(dir, group->process_index(), count);
      // The shares together are the global array, bit for bit.
      absl::StatusOr<std::vector<std::string>> shares =
          group->Gather(absl::StrCat("shares of ", count), share);
      ASSERT_TRUE(shares.ok()) << shares.status();
      if (group->is_primary()) {
        std::string whole;
        for (const std::string& piece : *shares) whole += piece;
        EXPECT_TRUE(whole == Bytes(Block<float>({0, 0}, {kRows, 16}, W)))
            << "the loads on " << count << " ranks";
      }
      group.reset();
      MPI_Comm_free(&sub);
    }
    ASSERT_TRUE(world->Barrier(absl::StrCat("loaded on ", count)).ok());
  }
}

TEST(MpiShardedStore, ReplicasThatDisagreeFailTheSaveOnEveryRank) {
  const int rank = WorldRank();
  std::unique_ptr<MpiCoordinator> world = MakeCoordinator(MPI_COMM_WORLD);
  ASSERT_NE(world, nullptr);
  SharedTempDir tmp(*world);
  ASSERT_TRUE(tmp.ok());
  const std::string dir = tmp.Join("ckpt");
  // Every rank says it is replica 0 of the piece.
  Array bias = Block<int32_t>({0, 0}, {kBiasRows, 16}, Bias);
  bias.set_placement(ShardPlacement{{kBiasRows, 16}, {0, 0}, 0, WorldSize()});
  StoreSaveOptions options;
  options.coordinator = world.get();
  absl::Status saved = SaveTree(dir, Tree::FromArray(bias), options);
  EXPECT_FALSE(saved.ok());
  if (rank == 0) {
    EXPECT_TRUE(absl::IsInvalidArgument(saved)) << saved;
    EXPECT_THAT(std::string(saved.message()), HasSubstr("is replica 0 on both process 0"));
    EXPECT_FALSE(*HoldsTree(dir));
  }
  ASSERT_TRUE(world->Barrier("checked").ok());
}

}  // namespace
}  // namespace cairn
