// The test encoder (tests/support/ocdbt_encoder.h) is held to Orbax's real files: given what a
// golden manifest and B+tree node contain, it writes the same bytes, so the databases it builds
// for the reader's tests are encoded as TensorStore encodes them.
#include "tests/support/ocdbt_encoder.h"

#include <string>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"

namespace cairn {
namespace {

// The body of a framed object: after magic, length, version and compression, before the CRC.
std::string GoldenBody(const std::string& encoded) {
  auto body = ocdbt_test::ZstdDecompress(encoded.substr(14, encoded.size() - 18));
  EXPECT_TRUE(body.ok()) << body.status();
  return body.ok() ? *body : "";
}

class OcdbtEncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
    dir_ = ocdbt_test::PristineState("v0_checkpoints/composite_checkpoint");
    Filesystem& fs = *Filesystem::Default();
    manifest_ = *ReadFileToString(fs, dir_ + "/manifest.ocdbt", 1 << 20);
    auto names = fs.ListDir(dir_ + "/d");
    ASSERT_TRUE(names.ok() && names->size() == 1);
    node_path_ = "d/" + names->front();
    node_ = *ReadFileToString(fs, dir_ + "/" + node_path_, 1 << 20);
    auto reader = OcdbtReader::Open(dir_);
    ASSERT_TRUE(reader.ok()) << reader.status();
    reader_ = *std::move(reader);
  }

  std::string dir_;
  std::string manifest_;
  std::string node_;
  std::string node_path_;
  std::unique_ptr<OcdbtReader> reader_;
};

TEST_F(OcdbtEncoderTest, ReproducesTheGoldenManifest) {
  const OcdbtVersion& v = reader_->version();
  ocdbt_test::VersionEntry entry;
  entry.generation = v.generation;
  entry.root_height = v.root_height;
  entry.root = {{"", node_path_}, 0, node_.size()};
  entry.stats = {v.num_keys, v.num_tree_bytes, v.num_indirect_value_bytes};
  entry.commit_time_nanos = v.commit_time_nanos;
  const std::string body = ocdbt_test::EncodeManifestBody(reader_->config(), {entry}, {});
  EXPECT_EQ(body, GoldenBody(manifest_));
  EXPECT_EQ(ocdbt_test::FrameObject(0x0cdb3a2a, body, reader_->config()), manifest_);
}

TEST_F(OcdbtEncoderTest, ReproducesTheGoldenLeafNode) {
  std::vector<ocdbt_test::LeafEntry> entries;
  auto keys = reader_->ListKeys();
  ASSERT_TRUE(keys.ok());
  for (const std::string& key : *keys) {
    ocdbt_test::LeafEntry entry;
    entry.key = key;
    entry.value = *reader_->Read(key);
    entries.push_back(entry);
  }
  const std::string body = ocdbt_test::EncodeLeafBody(entries);
  EXPECT_EQ(body, GoldenBody(node_));
  EXPECT_EQ(ocdbt_test::FrameObject(0x0cdb20de, body, reader_->config()), node_);
}

}  // namespace
}  // namespace cairn
