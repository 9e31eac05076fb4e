// The OCDBT reader on real Orbax checkpoints (../shared/orbax-golden): every pytree database
// lists and reads its zarr keys, the per-process database's latest generation wins, damaged or
// missing files are clear errors.
#include "tests/support/ocdbt_golden.h"

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

#define SKIP_WITHOUT_GOLDEN()                                                             \
  if (ocdbt_test::GoldenRoot().empty()) {                                                 \
    GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout: golden files absent"; \
  }

std::vector<std::string> ExpectedKeys(const std::string& dir) {
  if (absl::StrContains(dir, "/v1_checkpoints/")) {
    return {"a/c/0", "a/zarr.json", "b.c/c/0", "b.c/zarr.json"};
  }
  return {"a/.zarray", "a/0", "b.c/.zarray", "b.c/0"};
}

std::unique_ptr<OcdbtReader> OpenOrDie(const std::string& dir, uint64_t generation = 0) {
  OcdbtReaderOptions options;
  options.generation = generation;
  auto reader = OcdbtReader::Open(dir, options);
  EXPECT_TRUE(reader.ok()) << reader.status();
  return reader.ok() ? *std::move(reader) : nullptr;
}

TEST(OcdbtGoldenTest, EveryDatabaseListsItsZarrKeys) {
  SKIP_WITHOUT_GOLDEN();
  std::vector<std::string> dirs = ocdbt_test::GoldenDatabases();
  ASSERT_GE(dirs.size(), 44u);
  for (const std::string& dir : dirs) {
    SCOPED_TRACE(dir);
    // The case without d/ is its own test below.
    if (!PathExists(*Filesystem::Default(), dir + "/d").value_or(false)) continue;
    auto reader = OpenOrDie(dir);
    ASSERT_NE(reader, nullptr);
    auto keys = reader->ListKeys();
    ASSERT_TRUE(keys.ok()) << keys.status();
    EXPECT_EQ(*keys, ExpectedKeys(dir));
    EXPECT_EQ(reader->version().num_keys, 4u);
  }
}

TEST(OcdbtGoldenTest, ZarrV2MetadataAndChunkRead) {
  SKIP_WITHOUT_GOLDEN();
  for (const char* layout :
       {"v0_checkpoints/composite_checkpoint", "v0_checkpoints/direct_checkpoint"}) {
    SCOPED_TRACE(layout);
    auto reader = OpenOrDie(ocdbt_test::PristineState(layout));
    ASSERT_NE(reader, nullptr);
    auto zarray = reader->Read("a/.zarray");
    ASSERT_TRUE(zarray.ok()) << zarray.status();
    nlohmann::json meta = nlohmann::json::parse(*zarray);
    EXPECT_EQ(meta["shape"], nlohmann::json::array({8}));
    EXPECT_EQ(meta["dtype"], "<i4");
    EXPECT_EQ(meta["compressor"]["id"], "zstd");

    auto chunk = reader->Read("a/0");
    ASSERT_TRUE(chunk.ok()) << chunk.status();
    auto raw = ocdbt_test::ZstdDecompress(*chunk);
    ASSERT_TRUE(raw.ok()) << raw.status();
    ASSERT_EQ(raw->size(), 8 * sizeof(int32_t));
    std::vector<int32_t> values(8);
    std::memcpy(values.data(), raw->data(), raw->size());
    EXPECT_THAT(values, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));

    auto b = reader->Read("b.c/0");
    ASSERT_TRUE(b.ok()) << b.status();
    auto b_raw = ocdbt_test::ZstdDecompress(*b);
    ASSERT_TRUE(b_raw.ok());
    std::vector<int32_t> b_values(3);
    ASSERT_EQ(b_raw->size(), 12u);
    std::memcpy(b_values.data(), b_raw->data(), 12);
    EXPECT_THAT(b_values, ElementsAre(1, 2, 3));
  }
}

TEST(OcdbtGoldenTest, ZarrV3MetadataRead) {
  SKIP_WITHOUT_GOLDEN();
  auto reader = OpenOrDie(ocdbt_test::PristineState("v1_checkpoints/composite_checkpoint"));
  ASSERT_NE(reader, nullptr);
  auto zarr_json = reader->Read("a/zarr.json");
  ASSERT_TRUE(zarr_json.ok()) << zarr_json.status();
  nlohmann::json meta = nlohmann::json::parse(*zarr_json);
  EXPECT_EQ(meta["shape"], nlohmann::json::array({8}));
  EXPECT_EQ(meta["data_type"], "int32");
  EXPECT_EQ(meta["zarr_format"], 3);
  auto chunk = reader->Read("a/c/0");
  ASSERT_TRUE(chunk.ok()) << chunk.status();
  EXPECT_FALSE(chunk->empty());
}

TEST(OcdbtGoldenTest, ConfigIsReadFromTheManifest) {
  SKIP_WITHOUT_GOLDEN();
  auto reader = OpenOrDie(ocdbt_test::PristineState("v0_checkpoints/composite_checkpoint"));
  ASSERT_NE(reader, nullptr);
  const OcdbtConfig& config = reader->config();
  EXPECT_EQ(config.manifest_kind, OcdbtConfig::ManifestKind::kSingle);
  EXPECT_EQ(config.max_inline_value_bytes, 1024u);
  EXPECT_EQ(config.max_decoded_node_bytes, 100000000u);
  EXPECT_EQ(config.version_tree_arity_log2, 4);
  EXPECT_EQ(config.compression, OcdbtConfig::Compression::kZstd);
  EXPECT_EQ(config.zstd_level, 0);  // zstd's default
  EXPECT_EQ(reader->version().generation, 1u);
  // Nanoseconds since the epoch: a 2020s date is ~1.7e18.
  EXPECT_GT(reader->version().commit_time_nanos, uint64_t{1'600'000'000} * 1'000'000'000);
  EXPECT_LT(reader->version().commit_time_nanos, uint64_t{2'100'000'000} * 1'000'000'000);
}

TEST(OcdbtGoldenTest, PerProcessDatabaseReadsItsLatestGeneration) {
  SKIP_WITHOUT_GOLDEN();
  const std::string dir =
      ocdbt_test::PristineState("v0_checkpoints/composite_checkpoint") + "/ocdbt.process_0";
  auto reader = OpenOrDie(dir);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().generation, 3u);
  auto keys = reader->ListKeys();
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_EQ(*keys, ExpectedKeys(dir));
  auto versions = reader->ListVersions();
  ASSERT_TRUE(versions.ok()) << versions.status();
  ASSERT_EQ(versions->size(), 3u);
  EXPECT_EQ((*versions)[0].num_keys, 2u);
  EXPECT_EQ((*versions)[2].num_keys, 4u);
  EXPECT_LT((*versions)[0].commit_time_nanos, (*versions)[2].commit_time_nanos);

  // The first generation held the metadata alone.
  auto first = OpenOrDie(dir, 1);
  ASSERT_NE(first, nullptr);
  auto first_keys = first->ListKeys();
  ASSERT_TRUE(first_keys.ok());
  EXPECT_THAT(*first_keys, ElementsAre("a/.zarray", "b.c/.zarray"));
  EXPECT_TRUE(absl::IsNotFound(first->Read("a/0").status()));
}

TEST(OcdbtGoldenTest, MissingManifestIsNotFoundNamingIt) {
  SKIP_WITHOUT_GOLDEN();
  const std::string dir = ocdbt_test::GoldenRoot() +
                          "/v0_checkpoints/composite_checkpoint/critical_metadata_alterations/"
                          "missing_pytree_data_file_manifest.ocdbt/state";
  auto reader = OcdbtReader::Open(dir);
  ASSERT_FALSE(reader.ok());
  EXPECT_TRUE(absl::IsNotFound(reader.status())) << reader.status();
  // Errors name the path as resolved (the golden root is reached through "..").
  EXPECT_THAT(reader.status().message(),
              HasSubstr(*Filesystem::Default()->CanonicalPath(dir + "/manifest.ocdbt")));
}

TEST(OcdbtGoldenTest, MissingDataDirectoryIsDataLossNamingTheFile) {
  SKIP_WITHOUT_GOLDEN();
  const std::string dir = ocdbt_test::GoldenRoot() +
                          "/v0_checkpoints/composite_checkpoint/critical_metadata_alterations/"
                          "missing_pytree_data_dir_d/state";
  auto reader = OcdbtReader::Open(dir);
  ASSERT_TRUE(reader.ok()) << reader.status();  // the manifest alone is there
  auto value = (*reader)->Read("a/.zarray");
  ASSERT_FALSE(value.ok());
  EXPECT_TRUE(absl::IsDataLoss(value.status())) << value.status();
  EXPECT_THAT(value.status().message(),
              HasSubstr(*Filesystem::Default()->CanonicalPath(dir + "/d") + "/"));
  EXPECT_THAT(value.status().message(), HasSubstr("missing"));
}

}  // namespace
}  // namespace cairn
