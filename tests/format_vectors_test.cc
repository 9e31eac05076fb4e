// The checkpoint under tests/data/format_vectors, written once by cairn and annotated in
// docs/FORMAT.md ("Worked example", "Test vectors"): it loads with every value as saved, and a
// save of the same tree today writes the same data bytes and the same index, so that a change
// of the format on either side cannot pass unnoticed.
#include <cmath>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::TreesEqual;

constexpr char kVectors[] = CAIRN_TEST_DATA_DIR "/format_vectors";
constexpr size_t kIndexHeaderBytes = 40;

float FloatFromBits(uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof(value));
  return value;
}

// The uncompressed pytree as it was saved; "h" is stored as bfloat16.
Tree SavedPlain() {
  Tree plain = Tree::Dict();
  plain.Set("step", Tree::Int(7));
  plain.Set("w", Tree::FromArray(Array::FromValues<float>({1.0f, -2.0f, 0.5f, 3.0f}, {2, 2})));
  plain.Set("h", Tree::FromArray(Array::FromValues<float>({1.0f, 0.1f, -448.0f}, {3})));
  plain.Set("mask", Tree::FromArray(Array::FromValues<bool>({true, false, true}, {3})));
  plain.Set("name", Tree::String("demo"));
  Tree extra = Tree::Tuple();
  extra.Append(Tree::None());
  extra.Append(Tree::Double(0.25));
  plain.Set("extra", std::move(extra));
  return plain;
}

StoreSaveOptions PlainSaveOptions() {
  StoreSaveOptions options;
  options.storage_options = [](const KeyPath& path, const Array&) {
    ArrayStorageOptions storage;
    if (path.ToString() == "h") storage.dtype = DType::kBFloat16;
    return storage;
  };
  return options;
}

// The uncompressed pytree as it loads: 0.1 comes back as bfloat16 0x3dcd, 0.10009765625.
Tree LoadedPlain() {
  Tree plain = SavedPlain();
  plain.Set("h", Tree::FromArray(
                     Array::FromValues<float>({1.0f, FloatFromBits(0x3dcd0000u), -448.0f}, {3})));
  return plain;
}

// The compressed pytree as it loads. "e" was float32 {0.5, 448, 1000, -0.001} stored as
// float8_e4m3fn: 1000 is past its range and became NaN, -0.001 rounded to -2^-9.
Tree LoadedPacked() {
  Tree packed = Tree::Dict();
  packed.Set("x", Tree::FromArray(Iota<float>({64})));
  packed.Set("y", Tree::FromArray(Iota<int16_t>({4, 8})));
  packed.Set("z", Tree::FromArray(Iota<uint8_t>({16})));
  packed.Set("e", Tree::FromArray(Array::FromValues<float>(
                      {0.5f, 448.0f, FloatFromBits(0x7fc00000u), -0.001953125f}, {4})));
  return packed;
}

std::string ReadReal(const std::string& path) {
  return ReadFileToString(*Filesystem::Default(), path, 1 << 20).value();
}

// The index's payload with the writer's name (which carries cairn's version) cleared.
std::string PayloadWithoutWriter(const std::string& index) {
  format::TreeIndex parsed;
  EXPECT_TRUE(parsed.ParseFromString(index.substr(kIndexHeaderBytes)));
  parsed.clear_writer();
  return parsed.SerializeAsString();
}

TEST(FormatVectors, EveryCheckpointableLoadsAsSaved) {
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(kVectors);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 4u);
  EXPECT_TRUE(TreesEqual(std::get<Tree>(loaded->at("plain")), LoadedPlain()));
  EXPECT_TRUE(TreesEqual(std::get<Tree>(loaded->at("packed")), LoadedPacked()));
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config")), (nlohmann::json{{"lr", 0.5}}));
  EXPECT_EQ(std::get<RawBytes>(loaded->at("blob")).data, std::string("\x01\x02\xff", 3));
}

TEST(FormatVectors, CheckpointMetadataReadsAsSaved) {
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(kVectors);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->init_timestamp_nsecs, 1796280418959941224);
  EXPECT_EQ(metadata->commit_timestamp_nsecs, 1796280419183113016);
  EXPECT_EQ(metadata->custom_metadata, (nlohmann::json{{"run", "vectors"}}));
  EXPECT_EQ(metadata->item_handlers.at("plain"), kPyTreeHandlerName);
  EXPECT_EQ(metadata->item_handlers.at("config"), kJsonHandlerName);
  EXPECT_EQ(metadata->item_handlers.at("blob"), kBytesHandlerName);
}

TEST(FormatVectors, TheCompressedTreeIsFormatVersion2AndThePlainOneVersion1) {
  EXPECT_EQ(ReadReal(JoinPath(kVectors, "plain/_CAIRN_INDEX"))[8], 1);
  EXPECT_EQ(ReadReal(JoinPath(kVectors, "packed/_CAIRN_INDEX"))[8], 2);
}

TEST(FormatVectors, SavingTheUncompressedTreeAgainWritesTheSameBytes) {
  MemoryFilesystem fs;
  StoreSaveOptions options = PlainSaveOptions();
  options.filesystem = &fs;
  ASSERT_TRUE(SaveTree("/plain", SavedPlain(), options).ok());
  const std::string checked_in = JoinPath(kVectors, "plain");
  EXPECT_EQ(ReadFileToString(fs, "/plain/_cairn_data/p0.dat", 1 << 20).value(),
            ReadReal(JoinPath(checked_in, "_cairn_data/p0.dat")));
  const std::string index = ReadFileToString(fs, "/plain/_CAIRN_INDEX", 1 << 20).value();
  const std::string expected = ReadReal(JoinPath(checked_in, "_CAIRN_INDEX"));
  EXPECT_EQ(index.substr(0, 16), expected.substr(0, 16));  // magic, version, flags
  EXPECT_EQ(PayloadWithoutWriter(index), PayloadWithoutWriter(expected));
}

}  // namespace
}  // namespace cairn
