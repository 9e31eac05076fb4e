// Hostile OCDBT databases, built with the test encoder and then bent: sizes past the
// configuration's limits, counts the bytes cannot hold, paths that leave the database, unknown
// kinds. Each is DataLoss naming the file, with nothing allocated for the claimed sizes.
#include <map>
#include <string>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_encoder.h"

namespace cairn {
namespace {

using ocdbt_test::DatabaseBuilder;
using ocdbt_test::FrameObject;
using ocdbt_test::Varint;
using ::testing::HasSubstr;

constexpr char kDir[] = "/db";
constexpr uint32_t kBtreeMagic = 0x0cdb20de;
constexpr uint32_t kManifestMagic = 0x0cdb3a2a;

OcdbtConfig Config(bool zstd) {
  OcdbtConfig config;
  config.max_inline_value_bytes = 1000;
  config.max_decoded_node_bytes = 256;
  config.version_tree_arity_log2 = 4;
  config.compression = zstd ? OcdbtConfig::Compression::kZstd : OcdbtConfig::Compression::kNone;
  return config;
}

class OcdbtBadInputTest : public ::testing::TestWithParam<bool> {
 protected:
  // A database whose only generation's root is the B+tree node with body `body`.
  void WriteRoot(const std::string& body, uint8_t height = 0) {
    DatabaseBuilder db(kDir, Config(GetParam()));
    ocdbt_test::VersionEntry v;
    v.generation = 1;
    v.root_height = height;
    v.root = db.Append("d/nodes", FrameObject(kBtreeMagic, body, db.config()));
    v.stats.num_keys = 1;
    db.WriteManifest({v});
    ASSERT_TRUE(db.Flush(fs_).ok());
  }

  absl::Status ReadKey(const std::string& key) {
    OcdbtReaderOptions options;
    options.filesystem = &fs_;
    auto reader = OcdbtReader::Open(kDir, options);
    if (!reader.ok()) return reader.status();
    return (*reader)->Read(key).status();
  }

  MemoryFilesystem fs_;
};

TEST_P(OcdbtBadInputTest, NodeLargerThanMaxDecodedNodeBytes) {
  ocdbt_test::LeafEntry entry;
  entry.key = "k";
  entry.value = std::string(300, 'v');  // compresses far below the limit, decodes above it
  WriteRoot(ocdbt_test::EncodeLeafBody({entry}));
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("/db/d/nodes"));
  EXPECT_THAT(status.message(), HasSubstr("256"));
}

TEST_P(OcdbtBadInputTest, EntryCountLargerThanTheBytesCanHold) {
  WriteRoot(std::string(1, '\0') + Varint(0) + Varint(1000) + "xy");
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("entry count 1000"));
}

TEST_P(OcdbtBadInputTest, DataFileCountLargerThanTheBytesCanHold) {
  WriteRoot(std::string(1, '\0') + Varint(uint64_t{1} << 40) + "abc");
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("data file count"));
}

TEST_P(OcdbtBadInputTest, HugeKeyLengthsAreRefusedBeforeBuildingKeys) {
  WriteRoot(std::string(1, '\0') + Varint(0) + Varint(2) + Varint(0) + Varint(60000) +
            Varint(60000) + "short");
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
}

TEST_P(OcdbtBadInputTest, ValueKindIsOneByteOfZeroOrOne) {
  // height, no files, 1 entry, key "k", value length 1, value kind 2.
  WriteRoot(std::string(1, '\0') + Varint(0) + Varint(1) + Varint(1) + "k" + Varint(1) + "\x02" +
            "v");
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("value kind 2"));
}

TEST_P(OcdbtBadInputTest, DataFilePathsCannotLeaveTheDatabase) {
  for (const char* path : {"../outside", "/etc/passwd", "d//x", "d/./x"}) {
    ocdbt_test::LeafEntry entry;
    entry.key = "k";
    entry.out_of_line = true;
    entry.location = {{"", path}, 0, 4};
    WriteRoot(ocdbt_test::EncodeLeafBody({entry}));
    absl::Status status = ReadKey("k");
    EXPECT_TRUE(absl::IsDataLoss(status)) << path << ": " << status;
    EXPECT_THAT(status.message(), HasSubstr(path));
  }
}

TEST_P(OcdbtBadInputTest, UnknownManifestKindIsDataLoss) {
  OcdbtConfig config = Config(GetParam());
  std::string body = ocdbt_test::EncodeConfig(config);
  body[16] = 2;  // the kind byte follows the 16-byte uuid
  DatabaseBuilder db(kDir, config);
  db.Put("manifest.ocdbt", FrameObject(kManifestMagic, body, config));
  ASSERT_TRUE(db.Flush(fs_).ok());
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("/db/manifest.ocdbt"));
  EXPECT_THAT(status.message(), HasSubstr("manifest kind 2"));
}

TEST_P(OcdbtBadInputTest, RootOfTheWrongHeightIsDataLoss) {
  ocdbt_test::LeafEntry entry;
  entry.key = "k";
  entry.value = "v";
  WriteRoot(ocdbt_test::EncodeLeafBody({entry}), /*height=*/1);
  absl::Status status = ReadKey("k");
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("height"));
}

INSTANTIATE_TEST_SUITE_P(Compression, OcdbtBadInputTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Zstd" : "Uncompressed"; });

}  // namespace
}  // namespace cairn
