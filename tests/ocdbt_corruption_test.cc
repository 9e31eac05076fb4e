// Damage to a real OCDBT database (../shared/orbax-golden): every flipped byte of the manifest
// or of a B+tree node, and every truncation, is reported as an error; nothing crashes. Every
// byte of both is covered by its CRC-32C, so no flip can go unnoticed.
#include <string>
#include <vector>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"

namespace cairn {
namespace {

constexpr char kDir[] = "/db";

class OcdbtCorruptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
    const std::string source = ocdbt_test::PristineState("v0_checkpoints/composite_checkpoint");
    Filesystem& posix = *Filesystem::Default();
    manifest_ = *ReadFileToString(posix, source + "/manifest.ocdbt", 1 << 20);
    auto names = posix.ListDir(source + "/d");
    ASSERT_TRUE(names.ok());
    ASSERT_EQ(names->size(), 1u);
    node_name_ = "/db/d/" + names->front();
    node_ = *ReadFileToString(posix, source + "/d/" + names->front(), 1 << 20);
    ASSERT_TRUE(CreateDirs(fs_, "/db/d").ok());
  }

  void Write(const std::string& manifest, const std::string& node) {
    ASSERT_TRUE(WriteStringToFile(fs_, "/db/manifest.ocdbt", manifest, false).ok());
    ASSERT_TRUE(WriteStringToFile(fs_, node_name_, node, false).ok());
  }

  // Opens and reads everything; the first error, or OK.
  absl::Status ReadAll() {
    OcdbtReaderOptions options;
    options.filesystem = &fs_;
    auto reader = OcdbtReader::Open(kDir, options);
    if (!reader.ok()) return reader.status();
    auto keys = (*reader)->ListKeys();
    if (!keys.ok()) return keys.status();
    for (const std::string& key : *keys) {
      auto value = (*reader)->Read(key);
      if (!value.ok()) return value.status();
    }
    return absl::OkStatus();
  }

  // Flips bits of each byte of the manifest or of the node in turn.
  void ExpectEveryFlipIsDataLoss(bool in_manifest) {
    const std::string& original = in_manifest ? manifest_ : node_;
    for (size_t i = 0; i < original.size(); ++i) {
      for (unsigned char mask : {0x01, 0x80, 0xFF}) {
        std::string damaged = original;
        damaged[i] = static_cast<char>(damaged[i] ^ mask);
        Write(in_manifest ? damaged : manifest_, in_manifest ? node_ : damaged);
        absl::Status status = ReadAll();
        EXPECT_TRUE(absl::IsDataLoss(status)) << (in_manifest ? "manifest" : "node") << " byte "
                                              << i << " mask " << int{mask} << ": " << status;
      }
    }
  }

  MemoryFilesystem fs_;
  std::string manifest_;
  std::string node_;
  std::string node_name_;
};

TEST_F(OcdbtCorruptionTest, PristineReadsCleanly) {
  Write(manifest_, node_);
  EXPECT_TRUE(ReadAll().ok());
}

TEST_F(OcdbtCorruptionTest, EveryFlippedManifestByteIsDataLoss) {
  ExpectEveryFlipIsDataLoss(/*in_manifest=*/true);
}

TEST_F(OcdbtCorruptionTest, EveryFlippedNodeByteIsDataLoss) {
  ExpectEveryFlipIsDataLoss(/*in_manifest=*/false);
}

TEST_F(OcdbtCorruptionTest, EveryTruncationIsDataLoss) {
  for (size_t n = 0; n < manifest_.size(); ++n) {
    Write(manifest_.substr(0, n), node_);
    absl::Status status = ReadAll();
    EXPECT_TRUE(absl::IsDataLoss(status)) << "manifest of " << n << " bytes: " << status;
  }
  for (size_t n = 0; n < node_.size(); ++n) {
    Write(manifest_, node_.substr(0, n));
    absl::Status status = ReadAll();
    EXPECT_TRUE(absl::IsDataLoss(status)) << "node file of " << n << " bytes: " << status;
  }
}

}  // namespace
}  // namespace cairn
