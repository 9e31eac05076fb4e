// Regressions for what the fuzz targets (fuzz/) found: hostile files that crashed a load,
// escaped the checkpoint or sized an allocation by an unchecked number. Each now returns a
// DataLoss error naming the file.
#include <cstdint>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class FuzzRegressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(Array::FromValues<float>(std::vector<float>(12, 1.5f), {4, 3})));
    tree.Set("b", Tree::FromArray(Array::FromValues<float>({1, 2, 3, 4})));
    StoreSaveOptions options;
    options.filesystem = &fs_;
    options.storage_options = [](const KeyPath& path, const Array&) {
      ArrayStorageOptions storage;
      if (path.ToString() == "w") storage.compress = true;
      if (path.ToString() == "b") storage.dtype = DType::kBFloat16;
      return storage;
    };
    ASSERT_TRUE(SaveTree("/tree", tree, options).ok());
    load_.filesystem = &fs_;
    checkpoint_.filesystem = &fs_;
  }

  format::TreeIndex Index() {
    absl::StatusOr<std::unique_ptr<ParsedIndex>> parsed = ReadIndexFile(fs_, "/tree", 1 << 20);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return *(*parsed)->index;
  }
  void Rewrite(const format::TreeIndex& index) {
    ASSERT_TRUE(WriteIndexFile(fs_, "/tree", index, false).ok());
  }
  format::ArrayLeaf* Leaf(format::TreeIndex* index, int i) {
    return index->mutable_root()->mutable_dict()->mutable_values(i)->mutable_array();
  }
  // A checkpoint whose _CHECKPOINT_METADATA is `metadata`.
  void WriteCheckpoint(const std::string& metadata) {
    ASSERT_TRUE(CreateDirs(fs_, "/ckpt").ok());
    ASSERT_TRUE(
        WriteStringToFile(fs_, JoinPath("/ckpt", kCheckpointMetadataFileName), metadata, false)
            .ok());
  }

  MemoryFilesystem fs_;
  StoreLoadOptions load_;
  CheckpointOptions checkpoint_;
};

TEST_F(FuzzRegressionTest, DeeplyNestedCheckpointMetadataIsDataLoss) {
  WriteCheckpoint("{\"metrics\": " + Nested(100000) + "}");
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf("/ckpt", checkpoint_);
  EXPECT_EQ(metadata.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(metadata.status().message(), HasSubstr("_CHECKPOINT_METADATA"));
  EXPECT_THAT(metadata.status().message(), HasSubstr("levels deep"));
}

TEST_F(FuzzRegressionTest, JsonNestedToTheLimitStillReads) {
  EXPECT_TRUE(ParseJsonFromDisk(Nested(kMaxJsonDepth), "f").ok());
  EXPECT_TRUE(
      ParseJsonFromDisk(
          std::string(kMaxJsonDepth, '[') + "1, \"x\"" + std::string(kMaxJsonDepth, ']'), "f")
          .ok());
  EXPECT_EQ(ParseJsonFromDisk(Nested(kMaxJsonDepth + 1), "f").status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(ParseJsonFromDisk("{\"a\": ", "f").status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(FuzzRegressionTest, DeeplyNestedJsonCheckpointableIsDataLoss) {
  Checkpointables items;
  items.emplace("config", nlohmann::json{{"lr", 0.1}});
  ASSERT_TRUE(SaveCheckpointables("/ckpt", items, checkpoint_).ok());
  ASSERT_TRUE(WriteStringToFile(fs_, "/ckpt/config/data.json", Nested(100000), false).ok());
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables("/ckpt", {}, checkpoint_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("data.json"));
}

TEST_F(FuzzRegressionTest, DeeplyNestedCustomMetadataInTheIndexIsDataLoss) {
  format::TreeIndex index = Index();
  index.set_custom_metadata_json(Nested(100000));
  Rewrite(index);
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata("/tree", load_);
  EXPECT_EQ(metadata.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(metadata.status().message(), HasSubstr("_CAIRN_INDEX"));
}

TEST_F(FuzzRegressionTest, CheckpointableNameLeavingTheCheckpointIsDataLoss) {
  for (const char* name : {"..", "", "a/../.."}) {
    WriteCheckpoint(nlohmann::json{{"item_handlers", {{name, kPyTreeHandlerName}}}}.dump());
    absl::StatusOr<std::map<std::string, CheckpointableInfo>> infos =
        CheckpointablesMetadata("/ckpt", checkpoint_);
    EXPECT_EQ(infos.status().code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_THAT(infos.status().message(), HasSubstr("_CHECKPOINT_METADATA"));
    EXPECT_EQ(LoadCheckpointables("/ckpt", {}, checkpoint_).status().code(),
              absl::StatusCode::kDataLoss);
  }
}

TEST_F(FuzzRegressionTest, HugeChunkRowsDoNotWrapTheChunkCount) {
  format::TreeIndex index = Index();
  Leaf(&index, 1)->set_chunk_rows(~uint64_t{0});
  Leaf(&index, 1)->mutable_shards(0)->clear_chunks();  // (4 + 2^64 - 2) / (2^64 - 1) == 0
  Rewrite(index);
  absl::Status status = LoadTree("/tree", Tree::AsSaved(), load_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("chunks, expected 1"));
}

TEST_F(FuzzRegressionTest, CompressedChunkTooSmallForItsSizeIsDataLoss) {
  format::TreeIndex index = Index();
  format::ArrayLeaf* w = Leaf(&index, 0);
  ASSERT_NE(w->compression(), format::COMPRESSION_NONE);
  w->set_global_shape(0, uint64_t{1} << 40);  // 12 TiB of floats from a few stored bytes
  w->mutable_shards(0)->set_shape(0, uint64_t{1} << 40);
  w->set_chunk_rows(uint64_t{1} << 40);
  Rewrite(index);
  absl::Status status = LoadTree("/tree", Tree::AsSaved(), load_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("bytes of data"));
}

TEST_F(FuzzRegressionTest, DataFileSizesAreCheckedBeforeAllocating) {
  // The index claims a data file of 2^62 bytes holding 2^60 bytes of bfloat16s, which load as
  // 2^61 bytes of float32: the real file is checked, and found short, before any allocation.
  format::TreeIndex index = Index();
  index.mutable_data_files(0)->set_size(uint64_t{1} << 62);
  format::ArrayLeaf* b = Leaf(&index, 1);
  ASSERT_EQ(b->stored_dtype(), static_cast<uint32_t>(DType::kBFloat16));
  b->set_global_shape(0, uint64_t{1} << 59);
  b->mutable_shards(0)->set_shape(0, uint64_t{1} << 59);
  b->set_chunk_rows(uint64_t{1} << 59);
  b->mutable_shards(0)->mutable_chunks(0)->set_stored_size(uint64_t{1} << 60);
  Rewrite(index);
  absl::Status status = LoadTree("/tree", Tree::AsSaved(), load_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("truncated"));
}

}  // namespace
}  // namespace cairn
