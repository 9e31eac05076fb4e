// Saving in Orbax's format (StoreSaveOptions::format = kOrbax) through the public store API:
// what cairn's own Orbax reader loads back, the files Orbax's loader expects, the trees the
// format cannot hold, multi-process saves and failures that leave nothing behind.
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/temp_dir.h"
#include "tests/support/thread_coordinator.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::RandomBytes;
using testing::TreesEqual;

constexpr char kDir[] = "/ckpt/pytree";

StoreSaveOptions OrbaxOptions(Filesystem* fs, StoreLayout layout = StoreLayout::kAggregated) {
  StoreSaveOptions options;
  options.format = StoreFormat::kOrbax;
  options.layout = layout;
  options.filesystem = fs;
  return options;
}

// Params of several dtypes and shapes, an optimizer list, scalars of each kind, a string,
// empty containers and None.
Tree TrainingTree() {
  // Keys in sorted order: loads give dicts sorted, as JAX flattens them.
  Tree tree = Tree::Dict();
  tree.Set("done", Tree::Bool(true));
  tree.Set("empty_dict", Tree::Dict());
  tree.Set("empty_list", Tree::List());
  tree.Set("lr", Tree::Double(0.25));
  tree.Set("name", Tree::String("run-1"));
  tree.Set("no_rows", Tree::FromArray(Array::Allocate(DType::kInt16, {0, 4}).value()));
  tree.Set("nothing", Tree::None());
  Tree& opt = tree.Set("opt_state", Tree::List());
  opt.Append(Tree::FromArray(Iota<int32_t>({16})));
  opt.Append(Tree::FromArray(RandomBytes(DType::kFloat64, {3, 3, 2}, 3)));
  opt.Append(Tree::FromArray(Array::FromValues<uint8_t>({1, 0, 1}, {3})));
  Tree& params = tree.Set("params", Tree::Dict());
  params.Set("bias", Tree::FromArray(Iota<float>({33})));
  params.Set("embed", Tree::FromArray(RandomBytes(DType::kBFloat16, {17, 8}, 2)));
  params.Set("kernel", Tree::FromArray(RandomBytes(DType::kFloat32, {64, 33}, 1)));
  tree.Set("step", Tree::Int(101));
  tree.Set("zero_d", Tree::FromArray(Array::FromValues<float>({2.5f}, Shape{})));
  return tree;
}

class OrbaxWriterTest : public ::testing::TestWithParam<StoreLayout> {
 protected:
  StoreLoadOptions LoadOptions() {
    StoreLoadOptions options;
    options.filesystem = &fs_;
    return options;
  }
  MemoryFilesystem fs_;
};

TEST_P(OrbaxWriterTest, LoadsBackEveryLeafKind) {
  const Tree tree = TrainingTree();
  ASSERT_TRUE(SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam())).ok());
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST_P(OrbaxWriterTest, CompressedArraysLoadBack) {
  StoreSaveOptions options = OrbaxOptions(&fs_, GetParam());
  options.compress = true;
  options.compression_level = 3;
  options.chunk_bytes = 1024;  // many inner chunks per shard
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Iota<float>({300, 7})));
  ASSERT_TRUE(SaveTree(kDir, tree, options).ok());
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST_P(OrbaxWriterTest, StoredDtypeIsTheCastOne) {
  StoreSaveOptions options = OrbaxOptions(&fs_, GetParam());
  options.storage_options = [](const KeyPath&, const Array&) {
    ArrayStorageOptions custom;
    custom.dtype = DType::kBFloat16;
    return custom;
  };
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Array::FromValues<float>({1.0f, -2.0f, 0.5f})));
  ASSERT_TRUE(SaveTree(kDir, tree, options).ok());
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("w")->array().dtype(), DType::kBFloat16);
}

TEST_P(OrbaxWriterTest, TuplesLoadAsLists) {
  Tree tree = Tree::Dict();
  Tree& pair = tree.Set("pair", Tree::Tuple());
  pair.Append(Tree::Int(-7));
  pair.Append(Tree::Double(1.5));
  ASSERT_TRUE(SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam())).ok());
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->Find("pair")->kind(), Tree::Kind::kList);
  EXPECT_EQ((*loaded->Find("pair"))[0].int_value(), -7);
}

TEST_P(OrbaxWriterTest, RefusesBytesLeaves) {
  Tree tree = Tree::Dict();
  tree.Set("blob", Tree::Bytes("abc"));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam()));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("blob"));
  EXPECT_THAT(status.message(), HasSubstr("uint8 array"));
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

TEST_P(OrbaxWriterTest, RefusesALeafAtTheRoot) {
  const absl::Status status =
      SaveTree(kDir, Tree::FromArray(Iota<float>({3})), OrbaxOptions(&fs_, GetParam()));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("root"));
}

TEST_P(OrbaxWriterTest, RefusesKeysWithASlash) {
  Tree tree = Tree::Dict();
  tree.Set("a/b", Tree::Int(1));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam()));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("'/'"));
}

TEST_P(OrbaxWriterTest, RefusesTwoLeavesStoredUnderOneName) {
  Tree tree = Tree::Dict();
  tree.Set("a.b", Tree::Int(1));
  tree.Set("a", Tree::Dict()).Set("b", Tree::Int(2));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam()));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("\"a.b\""));
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

TEST_P(OrbaxWriterTest, RefusesANonEmptyDirectory) {
  ASSERT_TRUE(CreateDirs(fs_, kDir).ok());
  ASSERT_TRUE(WriteStringToFile(fs_, JoinPath(kDir, "other"), "x", false).ok());
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::Int(1));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam()));
  EXPECT_TRUE(absl::IsFailedPrecondition(status)) << status;
  EXPECT_EQ(fs_.ListDir(kDir).value(), std::vector<std::string>{"other"});
}

TEST_P(OrbaxWriterTest, AFailedWriteLeavesNothing) {
  FaultInjectionFilesystem faulty(&fs_);
  faulty.LimitFreeSpace(8192);
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {64, 64}, 5)));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&faulty, GetParam()));
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_FALSE(PathExists(fs_, kDir).value());
  EXPECT_FALSE(PathExists(fs_, "/ckpt").value());
}

TEST_P(OrbaxWriterTest, AFailedSyncLeavesNothing) {
  FaultInjectionFilesystem faulty(&fs_);
  faulty.FailAll(FaultOp::kSync, IoError());
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {16, 16}, 6)));
  tree.Set("name", Tree::String("x"));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&faulty, GetParam()));
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

// Flips one byte in the middle of the largest file below `dir`: an array's stored bytes.
void DamageLargestFile(MemoryFilesystem& fs, const std::string& dir) {
  std::string largest;
  uint64_t size = 0;
  std::vector<std::string> pending = {dir};
  while (!pending.empty()) {
    const std::string at = pending.back();
    pending.pop_back();
    const std::vector<std::string> names = fs.ListDir(at).value();
    for (const std::string& name : names) {
      const std::string path = JoinPath(at, name);
      const FileInfo info = fs.Stat(path).value();
      if (info.is_directory()) {
        pending.push_back(path);
      } else if (info.size > size) {
        size = info.size;
        largest = path;
      }
    }
  }
  std::string bytes = ReadFileToString(fs, largest, size).value();
  bytes[bytes.size() / 2] ^= 0x40;
  ASSERT_TRUE(WriteStringToFile(fs, largest, bytes, false).ok());
}

TEST_P(OrbaxWriterTest, ADamagedChunkFailsTheLoad) {
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {256, 64}, 7)));
  ASSERT_TRUE(SaveTree(kDir, tree, OrbaxOptions(&fs_, GetParam())).ok());
  DamageLargestFile(fs_, kDir);
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  EXPECT_TRUE(absl::IsDataLoss(loaded.status())) << loaded.status();
  EXPECT_THAT(loaded.status().message(), HasSubstr("crc32c"));
}

TEST_P(OrbaxWriterTest, ProcessesSaveTheirPiecesOfOneArray) {
  const Array whole = RandomBytes(DType::kFloat32, {8, 6}, 9);
  const Array counter = Array::FromValues<int64_t>({5, 6});
  const StoreLayout layout = GetParam();
  testing::RunThreadGroup(4, [&](int process, Coordinator& coordinator) {
    // Rows split four ways; the counter held whole by every process, written by one.
    const int64_t row_bytes = 6 * 4;
    Array piece = Array::Borrow(DType::kFloat32, {2, 6},
                                static_cast<const char*>(whole.data()) + 2 * process * row_bytes);
    piece.set_placement(ShardPlacement{{8, 6}, {2 * process, 0}, 0, 1});
    Array replica = Array::Borrow(DType::kInt64, {2}, counter.data());
    replica.set_placement(ShardPlacement{{2}, {0}, process, 4});
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(piece));
    tree.Set("counter", Tree::FromArray(replica));
    tree.Set("step", Tree::Int(3));
    StoreSaveOptions options = OrbaxOptions(&fs_, layout);
    options.coordinator = &coordinator;
    const absl::Status status = SaveTree(kDir, tree, options);
    EXPECT_TRUE(status.ok()) << status;
  });
  absl::StatusOr<Tree> loaded = LoadTree(kDir, Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(whole));
  EXPECT_TRUE(loaded->Find("counter")->array().ContentEquals(counter));
  EXPECT_EQ(loaded->Find("step")->int_value(), 3);
  if (layout == StoreLayout::kAggregated) {
    for (int p = 0; p < 4; ++p) {
      EXPECT_TRUE(PathExists(fs_, JoinPath(kDir, absl::StrCat("ocdbt.process_", p))).value());
    }
  }
}

TEST_P(OrbaxWriterTest, RefusesPiecesOffTheGrid) {
  const StoreLayout layout = GetParam();
  std::vector<absl::Status> results(2);
  testing::RunThreadGroup(2, [&](int process, Coordinator& coordinator) {
    // Rows 0-2 and 3-7: unequal pieces no chunk grid describes.
    Array piece = Iota<float>({process == 0 ? 3 : 5, 2});
    piece.set_placement(ShardPlacement{{8, 2}, {process == 0 ? 0 : 3, 0}, 0, 1});
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(piece));
    StoreSaveOptions options = OrbaxOptions(&fs_, layout);
    options.coordinator = &coordinator;
    results[process] = SaveTree(kDir, tree, options);
  });
  for (const absl::Status& status : results) {
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("regular grid"));
  }
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

TEST_P(OrbaxWriterTest, RefusesProcessesWhoseTreesDiffer) {
  const StoreLayout layout = GetParam();
  std::vector<absl::Status> results(2);
  testing::RunThreadGroup(2, [&](int process, Coordinator& coordinator) {
    // Process 1 holds an array the primary's tree does not have: no metadata would describe it.
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(Iota<float>({4})));
    if (process == 1) tree.Set("extra", Tree::FromArray(Iota<float>({3})));
    StoreSaveOptions options = OrbaxOptions(&fs_, layout);
    options.coordinator = &coordinator;
    results[process] = SaveTree(kDir, tree, options);
  });
  for (const absl::Status& status : results) {
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("process 1 has extra"));
    EXPECT_THAT(status.message(), HasSubstr("same structure"));
  }
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

TEST_P(OrbaxWriterTest, RefusesProcessesWhoseLeafKindsDiffer) {
  const StoreLayout layout = GetParam();
  std::vector<absl::Status> results(2);
  testing::RunThreadGroup(2, [&](int process, Coordinator& coordinator) {
    Tree tree = Tree::Dict();
    tree.Set("step", process == 0 ? Tree::Int(3) : Tree::String("three"));
    tree.Set("w", Tree::FromArray(Iota<float>({4})));
    StoreSaveOptions options = OrbaxOptions(&fs_, layout);
    options.coordinator = &coordinator;
    results[process] = SaveTree(kDir, tree, options);
  });
  for (const absl::Status& status : results) {
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("step (string) where the primary has step (scalar)"));
  }
  EXPECT_FALSE(PathExists(fs_, kDir).value());
}

INSTANTIATE_TEST_SUITE_P(Layouts, OrbaxWriterTest,
                         ::testing::Values(StoreLayout::kAggregated, StoreLayout::kPerLeaf),
                         [](const auto& info) {
                           return info.param == StoreLayout::kAggregated ? "Ocdbt" : "PerLeaf";
                         });

TEST(OrbaxWriterFilesTest, PerLeafRefusesAnArrayNamedLikeAMetadataFile) {
  MemoryFilesystem fs;
  Tree tree = Tree::Dict();
  tree.Set("_METADATA", Tree::FromArray(Iota<float>({2})));
  const absl::Status status = SaveTree(kDir, tree, OrbaxOptions(&fs, StoreLayout::kPerLeaf));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  // In a database the name is only a key: the same tree saves.
  EXPECT_TRUE(SaveTree(kDir, tree, OrbaxOptions(&fs)).ok());
}

TEST(OrbaxWriterFilesTest, WritesTheFilesOfAnOrbaxPyTree) {
  MemoryFilesystem fs;
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::FromArray(Iota<int32_t>({8})));
  tree.Set("b", Tree::Dict()).Set("c", Tree::FromArray(Array::FromValues<int32_t>({1, 2, 3})));
  StoreSaveOptions options = OrbaxOptions(&fs);
  options.orbax_array_type = OrbaxArrayType::kJax;
  ASSERT_TRUE(SaveTree(kDir, tree, options).ok());
  const std::vector<std::string> names = fs.ListDir(kDir).value();
  const std::set<std::string> top(names.begin(), names.end());
  EXPECT_EQ(top, (std::set<std::string>{"_METADATA", "_sharding", "array_metadatas", "d",
                                        "manifest.ocdbt", "ocdbt.process_0"}));
  EXPECT_EQ(fs.ListDir(JoinPath(kDir, "array_metadatas")).value(),
            std::vector<std::string>{"process_0"});
  const nlohmann::json metadata =
      nlohmann::json::parse(ReadFileToString(fs, JoinPath(kDir, "_METADATA"), 1 << 20).value());
  EXPECT_EQ(metadata["use_ocdbt"], true);
  EXPECT_EQ(metadata["use_zarr3"], true);
  EXPECT_EQ(metadata["store_array_data_equal_to_fill_value"], true);
  EXPECT_EQ(metadata["tree_metadata"]["('b', 'c')"]["value_metadata"]["value_type"], "jax.Array");
}

TEST(OrbaxWriterFilesTest, NumpyArraysNeedNoShardingFile) {
  MemoryFilesystem fs;
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::FromArray(Iota<int32_t>({8})));
  ASSERT_TRUE(SaveTree(kDir, tree, OrbaxOptions(&fs)).ok());
  EXPECT_FALSE(PathExists(fs, JoinPath(kDir, "_sharding")).value());
  const nlohmann::json metadata =
      nlohmann::json::parse(ReadFileToString(fs, JoinPath(kDir, "_METADATA"), 1 << 20).value());
  EXPECT_EQ(metadata["tree_metadata"]["('a',)"]["value_metadata"]["value_type"], "np.ndarray");
}

TEST(OrbaxWriterFilesTest, SavesOnTheRealFilesystemDurably) {
  testing::TempDir temp;
  Tree tree = TrainingTree();
  StoreSaveOptions options;
  options.format = StoreFormat::kOrbax;
  ASSERT_TRUE(SaveTree(temp.Join("pytree"), tree, options).ok());
  absl::StatusOr<Tree> loaded = LoadTree(temp.Join("pytree"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

}  // namespace
}  // namespace cairn
