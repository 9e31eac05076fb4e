// ReadTreeMetadata: the tree's description from its index alone.
#include <cstdio>
#include <filesystem>

#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::SampleTree;
using testing::TempDir;

TEST(TreeMetadata, DescribesEveryLeaf) {
  TempDir tmp;
  StoreSaveOptions options;
  options.chunk_bytes = 64;
  options.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions storage;
    if (path.ToString() == "opt_state[1]") {
      storage.dtype = DType::kFloat32;
      storage.compress = true;
    }
    return storage;
  };
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SampleTree(), options).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const Tree& tree = metadata->tree;
  const ArraySpec& kernel = tree.Find("params")->Find("layer1")->Find("kernel")->spec();
  EXPECT_EQ(*kernel.dtype, DType::kFloat32);
  EXPECT_EQ(*kernel.shape, (Shape{8, 4}));
  EXPECT_EQ(kernel.storage->stored_dtype, DType::kFloat32);
  EXPECT_EQ(kernel.storage->chunk_shape, (Shape{4, 4}));  // 64 bytes = 4 rows of 4 floats
  EXPECT_FALSE(kernel.storage->compressed);
  EXPECT_EQ(kernel.storage->stored_bytes, 8u * 4 * 4);
  EXPECT_EQ(kernel.storage->num_shards, 1);
  const ArraySpec& opt1 = (*tree.Find("opt_state"))[1].spec();
  EXPECT_EQ(*opt1.dtype, DType::kFloat64);
  EXPECT_EQ(opt1.storage->stored_dtype, DType::kFloat32);
  EXPECT_TRUE(opt1.storage->compressed);
  EXPECT_TRUE(opt1.storage->byte_shuffled);
  EXPECT_EQ(tree.Find("step")->type_only(), LeafType::kInt);
  EXPECT_EQ(tree.Find("lr")->type_only(), LeafType::kDouble);
  EXPECT_EQ(tree.Find("name")->type_only(), LeafType::kString);
  EXPECT_EQ(tree.Find("blob")->type_only(), LeafType::kBytes);
  EXPECT_EQ((*tree.Find("pair"))[1].kind(), Tree::Kind::kNone);
  EXPECT_EQ(metadata->format_version, 2u);  // its compressed arrays are byte-shuffled
  EXPECT_EQ(metadata->layout, StoreLayout::kAggregated);
  EXPECT_GT(metadata->data_bytes, 0u);
}

TEST(TreeMetadata, NeedsNoArrayBytes) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SampleTree()).ok());
  std::filesystem::remove_all(tmp.Join("ckpt/_cairn_data"));
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->tree.Find("opt_state")->size(), 2u);
}

TEST(TreeMetadata, CustomMetadataRoundTrips) {
  TempDir tmp;
  StoreSaveOptions options;
  options.custom_metadata = {{"model", "tiny"}, {"layers", 2}, {"tags", {"a", "b"}}};
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SampleTree(), options).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->custom_metadata, options.custom_metadata);
}

TEST(TreeMetadata, PerLeafLayoutIsReported) {
  TempDir tmp;
  StoreSaveOptions options;
  options.layout = StoreLayout::kPerLeaf;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SampleTree(), options).ok());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(tmp.Join("ckpt"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->layout, StoreLayout::kPerLeaf);
}

TEST(TreeMetadata, HoldsTreeOnlyAfterASave) {
  TempDir tmp;
  EXPECT_FALSE(*HoldsTree(tmp.path()));
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), Tree::Int(1)).ok());
  EXPECT_TRUE(*HoldsTree(tmp.Join("ckpt")));
}

}  // namespace
}  // namespace cairn
