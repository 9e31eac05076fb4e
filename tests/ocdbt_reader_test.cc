// The OCDBT reader on databases built by the test encoder (tests/support/ocdbt_encoder.h):
// B+trees of height >= 2, out-of-line values, version trees with interior nodes, numbered
// manifests, subtrees under per-process directories, and hostile sizes and counts.
#include "cairn/storage/ocdbt/ocdbt_reader.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_encoder.h"
#include "tests/support/read_counting_filesystem.h"

namespace cairn {
namespace {

using ocdbt_test::DatabaseBuilder;
using ocdbt_test::Subtree;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr char kDir[] = "/db";

OcdbtConfig TestConfig(bool zstd, uint8_t arity_log2 = 4) {
  OcdbtConfig config;
  for (int i = 0; i < 16; ++i) config.uuid[i] = static_cast<uint8_t>(i * 17);
  config.max_inline_value_bytes = 32;
  config.max_decoded_node_bytes = 1 << 20;
  config.version_tree_arity_log2 = arity_log2;
  config.compression = zstd ? OcdbtConfig::Compression::kZstd : OcdbtConfig::Compression::kNone;
  config.zstd_level = zstd ? 3 : 0;
  return config;
}

// Keys shaped like Orbax's: parameter names, zarr keys, many sharing prefixes.
std::map<std::string, std::string> ManyKeys(int params, int chunks) {
  std::map<std::string, std::string> kvs;
  for (int p = 0; p < params; ++p) {
    const std::string name = absl::StrFormat("layer%03d.kernel", p);
    kvs[name + "/.zarray"] = absl::StrCat("{\"param\":", p, "}");
    for (int c = 0; c < chunks; ++c) {
      // Some values inline, some past max_inline_value_bytes.
      kvs[absl::StrCat(name, "/", c)] = std::string(c % 3 == 0 ? 100 + p : 8, 'a' + (p + c) % 26);
    }
  }
  return kvs;
}

class OcdbtReaderTest : public ::testing::TestWithParam<bool> {
 protected:
  std::unique_ptr<OcdbtReader> Open(uint64_t generation = 0, Filesystem* fs = nullptr) {
    OcdbtReaderOptions options;
    options.filesystem = fs != nullptr ? fs : &fs_;
    options.generation = generation;
    auto reader = OcdbtReader::Open(kDir, options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? *std::move(reader) : nullptr;
  }

  // A database of one generation holding `kvs` in a tree of the given fanout.
  Subtree WriteTree(const std::map<std::string, std::string>& kvs, size_t fanout) {
    DatabaseBuilder db(kDir, TestConfig(GetParam()));
    Subtree tree = db.BuildTree(kvs, fanout);
    db.WriteManifest({DatabaseBuilder::Version(1, tree, 1'700'000'000'000'000'000)});
    EXPECT_TRUE(db.Flush(fs_).ok());
    return tree;
  }

  MemoryFilesystem fs_;
};

TEST_P(OcdbtReaderTest, DeepTreeReadsEveryKeyAndNoOther) {
  const auto kvs = ManyKeys(60, 20);
  Subtree tree = WriteTree(kvs, 6);
  ASSERT_GE(tree.height, 2);

  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().root_height, tree.height);
  EXPECT_EQ(reader->version().num_keys, kvs.size());
  for (const auto& [key, value] : kvs) {
    auto got = reader->Read(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status();
    EXPECT_EQ(*got, value) << key;
  }
  for (const char* absent : {"", "a", "layer", "layer000.kernel", "layer000.kernel/00",
                             "layer030.kernel/.zarra", "layer059.kernel/99", "zzz"}) {
    auto got = reader->Read(absent);
    EXPECT_TRUE(absl::IsNotFound(got.status())) << absent << ": " << got.status();
  }
}

TEST_P(OcdbtReaderTest, ListsByPrefixSorted) {
  const auto kvs = ManyKeys(40, 12);
  WriteTree(kvs, 5);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  for (const char* prefix : {"", "l", "layer01", "layer017.kernel/", "layer017.kernel/1",
                             "layer039.kernel/.zarray", "layer04", "nothing"}) {
    std::vector<std::string> expected;
    for (const auto& kv : kvs) {
      if (kv.first.rfind(prefix, 0) == 0) expected.push_back(kv.first);
    }
    auto keys = reader->ListKeys(prefix);
    ASSERT_TRUE(keys.ok()) << keys.status();
    EXPECT_EQ(*keys, expected) << prefix;
  }
}

TEST_P(OcdbtReaderTest, LookupReadsOnlyTheNodesOnItsPath) {
  const auto kvs = ManyKeys(80, 20);
  Subtree tree = WriteTree(kvs, 8);
  testing::ReadCountingFilesystem counting(&fs_);
  // A fresh reader for each count, so that no node is cached yet.
  auto reader = Open(0, &counting);
  ASSERT_NE(reader, nullptr);
  // One read per node from the root to the leaf, and one for an out-of-line value.
  counting.Reset();
  ASSERT_TRUE(reader->Read("layer041.kernel/.zarray").ok());
  EXPECT_EQ(counting.reads(), tree.height + 1);
  // The same lookup again finds every node in the cache.
  counting.Reset();
  ASSERT_TRUE(reader->Read("layer041.kernel/.zarray").ok());
  EXPECT_EQ(counting.reads(), 0);
  reader = Open(0, &counting);
  counting.Reset();
  ASSERT_TRUE(reader->Read("layer042.kernel/3").ok());
  EXPECT_EQ(counting.reads(), tree.height + 2);
  // Listing one parameter's keys visits a few leaves, not the 200 the tree has.
  reader = Open(0, &counting);
  counting.Reset();
  auto keys = reader->ListKeys("layer050.kernel/");
  ASSERT_TRUE(keys.ok());
  EXPECT_EQ(keys->size(), 21u);
  EXPECT_LE(counting.reads(), 8);
}

TEST_P(OcdbtReaderTest, OutOfLineValuesComeFromTheirDataFile) {
  DatabaseBuilder db(kDir, TestConfig(GetParam()));
  std::map<std::string, std::string> kvs = {
      {"big", std::string(100000, 'x')}, {"mid", std::string(33, 'm')}, {"small", "s"}};
  Subtree tree = db.BuildTree(kvs, 4);
  db.WriteManifest({DatabaseBuilder::Version(1, tree, 1)});
  ASSERT_TRUE(db.Flush(fs_).ok());
  ASSERT_EQ(db.files().at("d/values").size(), 100033u);
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().num_indirect_value_bytes, 100033u);
  for (const auto& [key, value] : kvs) {
    auto got = reader->Read(key);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(*got, value);
  }
  // Truncated: the value's range lies past the end.
  ASSERT_TRUE(WriteStringToFile(fs_, "/db/d/values", std::string(1000, 'x'), false).ok());
  auto truncated = Open();
  ASSERT_NE(truncated, nullptr);
  auto got = truncated->Read("big");
  EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("/db/d/values"));
  // Missing.
  ASSERT_TRUE(fs_.DeleteFile("/db/d/values").ok());
  got = Open()->Read("mid");
  EXPECT_TRUE(absl::IsDataLoss(got.status())) << got.status();
  EXPECT_THAT(got.status().message(), HasSubstr("/db/d/values"));
  EXPECT_EQ(*Open()->Read("small"), "s");
}

TEST_P(OcdbtReaderTest, VersionTreeInteriorNodesHoldOlderGenerations) {
  // Arity 2: 17 generations need version nodes of heights 1, 2 and 3 below the manifest.
  DatabaseBuilder db(kDir, TestConfig(GetParam(), 1));
  std::vector<ocdbt_test::VersionEntry> versions;
  for (uint64_t g = 1; g <= 17; ++g) {
    std::map<std::string, std::string> kvs = {{"gen", std::to_string(g)},
                                              {absl::StrCat("only", g), "x"}};
    versions.push_back(DatabaseBuilder::Version(g, db.BuildTree(kvs, 4), 1000 + g));
  }
  db.WriteManifest(versions);
  ASSERT_TRUE(db.Flush(fs_).ok());
  ASSERT_TRUE(db.files().count("d/versions"));

  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->version().generation, 17u);
  EXPECT_EQ(*reader->Read("gen"), "17");
  auto listed = reader->ListVersions();
  ASSERT_TRUE(listed.ok()) << listed.status();
  ASSERT_EQ(listed->size(), 17u);
  for (uint64_t g = 1; g <= 17; ++g) {
    EXPECT_EQ((*listed)[g - 1].generation, g);
    EXPECT_EQ((*listed)[g - 1].commit_time_nanos, 1000 + g);
  }
  for (uint64_t g : {1, 2, 3, 4, 5, 8, 9, 12, 13, 16}) {
    auto old = Open(g);
    ASSERT_NE(old, nullptr) << g;
    EXPECT_EQ(*old->Read("gen"), std::to_string(g));
    EXPECT_THAT(*old->ListKeys("only"), ElementsAre(absl::StrCat("only", g)));
  }
  OcdbtReaderOptions options;
  options.filesystem = &fs_;
  options.generation = 18;
  EXPECT_TRUE(absl::IsNotFound(OcdbtReader::Open(kDir, options).status()));
}

TEST_P(OcdbtReaderTest, NumberedManifestsReadTheNewest) {
  DatabaseBuilder db(kDir, TestConfig(GetParam(), 2));
  std::vector<ocdbt_test::VersionEntry> versions;
  for (uint64_t g = 1; g <= 6; ++g) {
    versions.push_back(
        DatabaseBuilder::Version(g, db.BuildTree({{"gen", std::to_string(g)}}, 4), g));
    db.WriteManifest(versions, /*numbered=*/true);
  }
  ASSERT_TRUE(db.files().count("manifest.0000000000000003"));
  ASSERT_TRUE(db.Flush(fs_).ok());
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->config().manifest_kind, OcdbtConfig::ManifestKind::kNumbered);
  EXPECT_EQ(reader->version().generation, 6u);
  EXPECT_EQ(*reader->Read("gen"), "6");
  EXPECT_EQ(*Open(2)->Read("gen"), "2");

  // A numbered manifest whose content disagrees with its name.
  ASSERT_TRUE(WriteStringToFile(fs_, "/db/manifest.0000000000000009",
                                db.files().at("manifest.0000000000000006"), false)
                  .ok());
  auto wrong = OcdbtReader::Open(kDir, OcdbtReaderOptions{&fs_});
  EXPECT_TRUE(absl::IsDataLoss(wrong.status())) << wrong.status();
  EXPECT_THAT(wrong.status().message(), HasSubstr("manifest.0000000000000009"));
  // None at all.
  for (const auto& [name, bytes] : db.files()) {
    if (name.rfind("manifest.0", 0) == 0) ASSERT_TRUE(fs_.DeleteFile("/db/" + name).ok());
  }
  ASSERT_TRUE(fs_.DeleteFile("/db/manifest.0000000000000009").ok());
  auto none = OcdbtReader::Open(kDir, OcdbtReaderOptions{&fs_});
  EXPECT_TRUE(absl::IsDataLoss(none.status())) << none.status();
  EXPECT_THAT(none.status().message(), HasSubstr("/db/manifest.ocdbt"));
}

TEST_P(OcdbtReaderTest, MergedRootReachesPerProcessDirectoriesThroughBasePaths) {
  DatabaseBuilder db(kDir, TestConfig(GetParam()));
  std::map<std::string, std::string> p0;
  std::map<std::string, std::string> p1;
  for (int i = 0; i < 30; ++i) {
    p0[absl::StrFormat("a%02d/0", i)] = std::string(i * 3, 'p');
    p1[absl::StrFormat("b%02d/0", i)] = std::string(i * 5, 'q');
  }
  Subtree t0 = db.BuildTree(p0, 4, "ocdbt.process_0/");
  Subtree t1 = db.BuildTree(p1, 4, "ocdbt.process_1/");
  ASSERT_EQ(t0.height, t1.height);
  Subtree root =
      db.BuildInterior({{t0, "ocdbt.process_0/"}, {t1, "ocdbt.process_1/"}}, "", /*root=*/true);
  db.WriteManifest({DatabaseBuilder::Version(1, root, 1)});
  ASSERT_TRUE(db.Flush(fs_).ok());
  ASSERT_TRUE(db.files().count("ocdbt.process_1/d/values"));
  ASSERT_TRUE(db.files().count("ocdbt.process_1/d/nodes"));

  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  for (const auto* kvs : {&p0, &p1}) {
    for (const auto& [key, value] : *kvs) {
      auto got = reader->Read(key);
      ASSERT_TRUE(got.ok()) << key << ": " << got.status();
      EXPECT_EQ(*got, value);
    }
  }
  EXPECT_EQ(reader->ListKeys()->size(), 60u);
  ASSERT_TRUE(fs_.DeleteFile("/db/ocdbt.process_1/d/values").ok());
  auto got = Open()->Read("b29/0");
  EXPECT_TRUE(absl::IsDataLoss(got.status()));
  EXPECT_THAT(got.status().message(), HasSubstr("/db/ocdbt.process_1/d/values"));
}

TEST_P(OcdbtReaderTest, EmptyGenerationHasNoKeys) {
  DatabaseBuilder db(kDir, TestConfig(GetParam()));
  Subtree tree = db.BuildTree({{"k", "v"}}, 4);
  db.WriteManifest({DatabaseBuilder::Version(1, tree, 1), DatabaseBuilder::EmptyVersion(2, 2)});
  ASSERT_TRUE(db.Flush(fs_).ok());
  auto reader = Open();
  ASSERT_NE(reader, nullptr);
  EXPECT_TRUE(reader->version().empty);
  EXPECT_TRUE(absl::IsNotFound(reader->Read("k").status()));
  EXPECT_TRUE(reader->ListKeys()->empty());
  EXPECT_EQ(*Open(1)->Read("k"), "v");
}

INSTANTIATE_TEST_SUITE_P(Compression, OcdbtReaderTest, ::testing::Bool(),
                         [](const auto& info) { return info.param ? "Zstd" : "Uncompressed"; });

}  // namespace
}  // namespace cairn
