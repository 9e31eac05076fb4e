// Saving and loading trees as saved: every dtype, every structure, both layouts, compression,
// storage dtypes and chunking.
#include <cstring>

#include "absl/strings/str_cat.h"
#include "cairn/storage/float_formats.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::RandomBytes;
using testing::SampleTree;
using testing::TempDir;
using testing::TreesEqual;

constexpr DType kAllDTypes[] = {
    DType::kBool,         DType::kInt8,      DType::kInt16,   DType::kInt32,     DType::kInt64,
    DType::kUInt8,        DType::kUInt16,    DType::kUInt32,  DType::kUInt64,    DType::kFloat16,
    DType::kBFloat16,     DType::kFloat32,   DType::kFloat64, DType::kComplex64, DType::kComplex128,
    DType::kFloat8E4M3FN, DType::kFloat8E5M2};

TEST(PyTreeStoreRoundTrip, EveryDTypeLoadsBitExact) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  uint64_t seed = 1;
  for (DType dtype : kAllDTypes) {
    tree.Set(std::string(DTypeName(dtype)), Tree::FromArray(RandomBytes(dtype, {3, 5}, seed++)));
  }
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(PyTreeStoreRoundTrip, StructureAndScalarsSurvive) {
  TempDir tmp;
  const Tree tree = SampleTree();
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
  EXPECT_EQ(loaded->DebugString(), tree.DebugString());
}

TEST(PyTreeStoreRoundTrip, DictKeepsInsertionOrder) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  for (const char* key : {"zeta", "alpha", "mid", "0", "with space"}) tree.Set(key, Tree::Int(1));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->keys(), tree.keys());
}

TEST(PyTreeStoreRoundTrip, EmptyAndScalarArrays) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("empty", Tree::FromArray(Array::Allocate(DType::kFloat32, {0}).value()));
  tree.Set("empty2d", Tree::FromArray(Array::Allocate(DType::kInt8, {3, 0}).value()));
  tree.Set("scalar", Tree::FromArray(Array::FromValues<double>({2.5}, {})));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
  EXPECT_EQ(loaded->Find("scalar")->array().rank(), 0);
}

TEST(PyTreeStoreRoundTrip, EmptyTreeAndBareLeafRoots) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("a"), Tree::Dict()).ok());
  ASSERT_TRUE(SaveTree(tmp.Join("b"), Tree::Int(5)).ok());
  EXPECT_EQ(LoadTree(tmp.Join("a"))->kind(), Tree::Kind::kDict);
  EXPECT_EQ(LoadTree(tmp.Join("b"))->int_value(), 5);
}

TEST(PyTreeStoreRoundTrip, BorrowedArrayIsSavedWithoutCopy) {
  TempDir tmp;
  std::vector<float> values = {1, 2, 3, 4, 5, 6};
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Array::Borrow(DType::kFloat32, {2, 3}, values.data())));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Array& w = loaded->Find("w")->array();
  EXPECT_TRUE(w.owns_memory());
  EXPECT_EQ(std::vector<float>(w.values<float>().begin(), w.values<float>().end()), values);
}

struct LayoutCase {
  StoreLayout layout;
  bool compress;
  uint64_t chunk_bytes;
};

class PyTreeStoreLayoutTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(PyTreeStoreLayoutTest, ManyChunksRoundTrip) {
  TempDir tmp;
  StoreSaveOptions options;
  options.layout = GetParam().layout;
  options.compress = GetParam().compress;
  options.chunk_bytes = GetParam().chunk_bytes;
  Tree tree = SampleTree();
  tree.Set("big", Tree::FromArray(RandomBytes(DType::kFloat32, {1000, 37}, 9)));
  tree.Set("zeros", Tree::FromArray(Array::Allocate(DType::kInt64, {4096}).value()));
  for (int i = 0; i < 50; ++i) {
    tree.Set(absl::StrCat("small", i), Tree::FromArray(Iota<int16_t>({i + 1})));
  }
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

INSTANTIATE_TEST_SUITE_P(Layouts, PyTreeStoreLayoutTest,
                         ::testing::Values(LayoutCase{StoreLayout::kAggregated, false, 8 << 20},
                                           LayoutCase{StoreLayout::kAggregated, false, 1000},
                                           LayoutCase{StoreLayout::kAggregated, true, 8 << 20},
                                           LayoutCase{StoreLayout::kAggregated, true, 1000},
                                           LayoutCase{StoreLayout::kPerLeaf, false, 8 << 20},
                                           LayoutCase{StoreLayout::kPerLeaf, true, 1000}),
                         [](const ::testing::TestParamInfo<LayoutCase>& info) {
                           return absl::StrCat(
                               info.param.layout == StoreLayout::kPerLeaf ? "PerLeaf"
                                                                          : "Aggregated",
                               info.param.compress ? "Zstd" : "Raw", info.param.chunk_bytes);
                         });

TEST(PyTreeStoreRoundTrip, StorageDTypeIsChosenPerKeyPath) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::FromArray(Array::FromValues<float>({1.0f, 1.00390625f, 3.3f})));
  tree.Set("b", Tree::FromArray(Array::FromValues<float>({1.0f, 1.00390625f, 3.3f})));
  StoreSaveOptions options;
  options.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions storage;
    if (path.ToString() == "a") storage.dtype = DType::kBFloat16;
    return storage;
  };
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  // Loaded as the dtype it had in memory, with bfloat16's precision.
  const Array& a = loaded->Find("a")->array();
  ASSERT_EQ(a.dtype(), DType::kFloat32);
  EXPECT_EQ(a.values<float>()[0], 1.0f);
  EXPECT_EQ(a.values<float>()[1], 1.0f);  // 1 + 2^-8 rounds to even in bfloat16
  EXPECT_EQ(a.values<float>()[2], BFloat16BitsToFloat(FloatToBFloat16Bits(3.3f)));
  EXPECT_TRUE(loaded->Find("b")->array().ContentEquals(tree.Find("b")->array()));
}

TEST(PyTreeStoreRoundTrip, CompressionShrinksCompressibleData) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("zeros", Tree::FromArray(Array::Allocate(DType::kFloat32, {1 << 16}).value()));
  StoreSaveOptions options;
  options.compress = true;
  options.compression_level = 3;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const ArrayStorageInfo& info = *metadata->tree.Find("zeros")->spec().storage;
  EXPECT_TRUE(info.compressed);
  EXPECT_EQ(info.compression_level, 3);
  EXPECT_LT(info.stored_bytes, 4096u);
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(PyTreeStoreRoundTrip, SavesAreReproducible) {
  TempDir tmp;
  const Tree tree = SampleTree();
  ASSERT_TRUE(SaveTree(tmp.Join("one"), tree).ok());
  ASSERT_TRUE(SaveTree(tmp.Join("two"), tree).ok());
  auto slurp = [](const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rb");
    std::string out;
    char buf[4096];
    size_t n;
    while (f && (n = std::fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
    if (f) std::fclose(f);
    return out;
  };
  EXPECT_EQ(slurp(tmp.Join("one/_cairn_data/p0.dat")), slurp(tmp.Join("two/_cairn_data/p0.dat")));
  EXPECT_EQ(slurp(tmp.Join("one/_CAIRN_INDEX")), slurp(tmp.Join("two/_CAIRN_INDEX")));
}

}  // namespace
}  // namespace cairn
