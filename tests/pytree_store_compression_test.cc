// Compressed arrays: zstd, with multi-byte elements byte-shuffled into planes first; what each
// choice writes (format version, sizes) and that every way of loading reads it back exactly.
#include <cmath>
#include <cstring>

#include "cairn/storage/float_formats.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

StoreSaveOptions Compressed(bool shuffle) {
  StoreSaveOptions options;
  options.compress = true;
  options.byte_shuffle = shuffle;
  options.chunk_bytes = 1 << 12;  // several chunks per array
  return options;
}

// bfloat16 weights of a trained layer: normal around zero, so sign and exponent bytes repeat
// while the low mantissa bytes look random.
Array Weights(int64_t rows, int64_t cols) {
  Array array = Array::Allocate(DType::kBFloat16, {rows, cols}).value();
  uint16_t* out = static_cast<uint16_t*>(array.mutable_data());
  uint64_t state = 88172645463325252ull;
  for (int64_t i = 0; i < rows * cols; ++i) {
    double sum = 0;
    for (int k = 0; k < 4; ++k) {
      state ^= state << 13;
      state ^= state >> 7;
      state ^= state << 17;
      sum += static_cast<double>(state >> 11) / 9007199254740992.0;
    }
    out[i] = FloatToBFloat16Bits(static_cast<float>((sum - 2) * 0.035));
  }
  return array;
}

uint64_t StoredBytes(const std::string& dir, const char* key) {
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir);
  EXPECT_TRUE(metadata.ok()) << metadata.status();
  return metadata.ok() ? metadata->tree.Find(key)->spec().storage->stored_bytes : 0;
}

TEST(PyTreeStoreCompression, EveryElementWidthRoundTripsShuffled) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  uint64_t seed = 1;
  for (DType dtype : {DType::kBool, DType::kInt8, DType::kBFloat16, DType::kFloat32, DType::kInt64,
                      DType::kComplex128}) {
    tree.Set(std::string(DTypeName(dtype)), Tree::FromArray(RandomBytes(dtype, {37, 29}, seed++)));
  }
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, Compressed(true)).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(PyTreeStoreCompression, OnlyMultiByteElementsAreShuffled) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("bytes", Tree::FromArray(RandomBytes(DType::kUInt8, {64}, 1)));
  tree.Set("floats", Tree::FromArray(RandomBytes(DType::kFloat32, {64}, 2)));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, Compressed(true)).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_FALSE(metadata->tree.Find("bytes")->spec().storage->byte_shuffled);
  EXPECT_TRUE(metadata->tree.Find("floats")->spec().storage->byte_shuffled);
  EXPECT_TRUE(metadata->tree.Find("floats")->spec().storage->compressed);
}

TEST(PyTreeStoreCompression, ShufflingShrinksFloatWeights) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Weights(512, 512)));
  // zstd entropy-codes each block of up to 128 KiB with one table: the gain comes when a chunk
  // holds planes of that size or more, as the default chunks of 8 MiB do.
  StoreSaveOptions plain_options = Compressed(false), shuffled_options = Compressed(true);
  plain_options.chunk_bytes = shuffled_options.chunk_bytes = StoreSaveOptions().chunk_bytes;
  ASSERT_TRUE(SaveTree(tmp.Join("plain"), tree, plain_options).ok());
  ASSERT_TRUE(SaveTree(tmp.Join("shuffled"), tree, shuffled_options).ok());
  const uint64_t plain = StoredBytes(tmp.Join("plain"), "w");
  const uint64_t shuffled = StoredBytes(tmp.Join("shuffled"), "w");
  // 2 bytes an element raw; sign and exponent carry about 3 bits, the mantissa 7.
  EXPECT_LT(shuffled, plain * 95 / 100) << plain << " vs " << shuffled;
  EXPECT_LT(shuffled, 512u * 512u * 2u * 3u / 4u);
}

TEST(PyTreeStoreCompression, SavesWithoutShufflingStayFormatVersion1) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {16, 16}, 3)));
  ASSERT_TRUE(SaveTree(tmp.Join("plain"), tree, Compressed(false)).ok());
  ASSERT_TRUE(SaveTree(tmp.Join("uncompressed"), tree).ok());
  ASSERT_TRUE(SaveTree(tmp.Join("shuffled"), tree, Compressed(true)).ok());
  EXPECT_EQ(ReadTreeMetadata(tmp.Join("plain"))->format_version, 1u);
  EXPECT_EQ(ReadTreeMetadata(tmp.Join("uncompressed"))->format_version, 1u);
  EXPECT_EQ(ReadTreeMetadata(tmp.Join("shuffled"))->format_version, 2u);
}

TEST(PyTreeStoreCompression, PerArrayOptionTurnsShufflingOff) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::FromArray(RandomBytes(DType::kFloat32, {16, 16}, 4)));
  tree.Set("b", Tree::FromArray(RandomBytes(DType::kFloat32, {16, 16}, 5)));
  StoreSaveOptions options = Compressed(true);
  options.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions custom;
    if (path.ToString() == "b") custom.byte_shuffle = false;
    return custom;
  };
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_TRUE(metadata->tree.Find("a")->spec().storage->byte_shuffled);
  EXPECT_FALSE(metadata->tree.Find("b")->spec().storage->byte_shuffled);
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(PyTreeStoreCompression, RegionOfAShuffledArrayLoadsExactly) {
  TempDir tmp;
  const Array w = RandomBytes(DType::kFloat32, {100, 30}, 6);
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(w));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, Compressed(true)).ok());
  ArraySpec spec;
  spec.origin = Shape{33, 7};
  spec.shape = Shape{50, 11};
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::Spec(spec));
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), abstract);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const float* got = static_cast<const float*>(loaded->Find("w")->array().data());
  const float* want = static_cast<const float*>(w.data());
  for (int r = 0; r < 50; ++r) {
    for (int c = 0; c < 11; ++c) {
      ASSERT_EQ(std::memcmp(&got[r * 11 + c], &want[(33 + r) * 30 + 7 + c], 4), 0) << r << "," << c;
    }
  }
}

TEST(PyTreeStoreCompression, ShuffledArrayCastsOnLoad) {
  TempDir tmp;
  const Array w = Weights(64, 48);
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(w));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, Compressed(true)).ok());
  ArraySpec spec;
  spec.dtype = DType::kFloat32;
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::Spec(spec));
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), abstract);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const float* got = static_cast<const float*>(loaded->Find("w")->array().data());
  const uint16_t* want = static_cast<const uint16_t*>(w.data());
  for (int i = 0; i < 64 * 48; ++i) ASSERT_EQ(got[i], BFloat16BitsToFloat(want[i])) << i;
}

}  // namespace
}  // namespace cairn
