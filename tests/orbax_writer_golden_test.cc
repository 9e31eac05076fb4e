// An Orbax-format checkpoint cairn writes, set beside the one Orbax itself wrote of the same
// state (../shared/orbax-golden, v1 composite, pristine): the same files, the same metadata
// text, the same zarr metadata and OCDBT configuration, the same values.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::ReadAll;

#define SKIP_WITHOUT_GOLDEN()                                                             \
  if (ocdbt_test::GoldenRoot().empty()) {                                                 \
    GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout: golden files absent"; \
  }

std::string GoldenCheckpoint() {
  return JoinPath(ocdbt_test::GoldenRoot(),
                  "v1_checkpoints/composite_checkpoint/checkpoint_metadata_present/"
                  "pytree_checkpointable_has_metadata");
}

// Every file below `dir`, relative, with OCDBT data file names (32 hex digits) as "*".
std::set<std::string> FileSet(const std::string& dir, const std::string& prefix = "") {
  Filesystem& fs = *Filesystem::Default();
  std::set<std::string> files;
  const std::vector<std::string> names = fs.ListDir(JoinPath(dir, prefix)).value();
  for (const std::string& name : names) {
    const std::string relative = prefix.empty() ? name : JoinPath(prefix, name);
    if (fs.Stat(JoinPath(dir, relative))->is_directory()) {
      for (const std::string& file : FileSet(dir, relative)) files.insert(file);
    } else {
      const bool data =
          name.size() == 32 && name.find_first_not_of("0123456789abcdef") == std::string::npos;
      files.insert(data ? JoinPath(prefix, "*") : relative);
    }
  }
  return files;
}

// The golden state, {'a': int32[8] 0..7, 'b': {'c': int32[3] 1, 2, 3}}, and its JSON item,
// saved as Orbax v1 saves it by default: jax.Array leaves, zstd level 3, no chunk checksums.
class OrbaxWriterGoldenTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (ocdbt_test::GoldenRoot().empty()) return;
    Tree state = Tree::Dict();
    state.Set("a", Tree::FromArray(testing::Iota<int32_t>({8})));
    state.Set("b", Tree::Dict()).Set("c", Tree::FromArray(Array::FromValues<int32_t>({1, 2, 3})));
    Checkpointables items;
    items.emplace("state", state);
    items.emplace("metadata", nlohmann::json{{"metadata", "json_data"}});
    CheckpointOptions options;
    options.custom_metadata = {{"custom", "meta"}};
    options.store_save.format = StoreFormat::kOrbax;
    options.store_save.orbax_array_type = OrbaxArrayType::kJax;
    options.store_save.compress = true;
    options.store_save.compression_level = 3;
    options.store_save.orbax_chunk_checksums = false;
    mine_ = temp_.Join("1");
    const absl::Status saved = SaveCheckpointables(mine_, items, options);
    ASSERT_TRUE(saved.ok()) << saved;
  }

  testing::TempDir temp_;
  std::string mine_;
};

TEST_F(OrbaxWriterGoldenTest, SameFilesPlusCairnsCommitMarker) {
  SKIP_WITHOUT_GOLDEN();
  std::set<std::string> expected = FileSet(GoldenCheckpoint());
  expected.insert(kCommitMarkerFileName);
  EXPECT_EQ(FileSet(mine_), expected);
}

TEST_F(OrbaxWriterGoldenTest, PyTreeMetadataFilesAreByteIdentical) {
  SKIP_WITHOUT_GOLDEN();
  for (const char* file :
       {"state/_METADATA", "state/_sharding", "state/array_metadatas/process_0"}) {
    EXPECT_EQ(ReadAll(JoinPath(mine_, file)), ReadAll(JoinPath(GoldenCheckpoint(), file))) << file;
  }
}

TEST_F(OrbaxWriterGoldenTest, CheckpointMetadataHasOrbaxsKeysAndHandlerNames) {
  SKIP_WITHOUT_GOLDEN();
  const nlohmann::json golden =
      nlohmann::json::parse(ReadAll(JoinPath(GoldenCheckpoint(), "_CHECKPOINT_METADATA")));
  const nlohmann::json mine =
      nlohmann::json::parse(ReadAll(JoinPath(mine_, "_CHECKPOINT_METADATA")));
  for (const auto& [key, value] : golden.items()) {
    ASSERT_TRUE(mine.contains(key)) << key;
    EXPECT_EQ(mine[key].type(), value.type()) << key;
  }
  for (const char* item : {"state", "metadata"}) {
    EXPECT_EQ(mine["item_handlers"][item], golden["item_handlers"][item]) << item;
  }
  EXPECT_EQ(mine["custom_metadata"], golden["custom_metadata"]);
  EXPECT_EQ(nlohmann::json::parse(ReadAll(JoinPath(mine_, "metadata/data.json"))),
            nlohmann::json::parse(ReadAll(JoinPath(GoldenCheckpoint(), "metadata/data.json"))));
}

TEST_F(OrbaxWriterGoldenTest, ZarrMetadataAndDatabaseConfigurationMatch) {
  SKIP_WITHOUT_GOLDEN();
  absl::StatusOr<std::unique_ptr<OcdbtReader>> golden =
      OcdbtReader::Open(JoinPath(GoldenCheckpoint(), "state"));
  absl::StatusOr<std::unique_ptr<OcdbtReader>> mine = OcdbtReader::Open(JoinPath(mine_, "state"));
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_EQ((*mine)->ListKeys().value(), (*golden)->ListKeys().value());
  for (const char* key : {"a/zarr.json", "b.c/zarr.json"}) {
    EXPECT_EQ((*mine)->Read(key).value(), (*golden)->Read(key).value()) << key;
  }
  OcdbtConfig config = (*mine)->config();
  config.uuid = (*golden)->config().uuid;
  EXPECT_EQ(config, (*golden)->config());
}

TEST_F(OrbaxWriterGoldenTest, BothLoadToTheSameTree) {
  SKIP_WITHOUT_GOLDEN();
  absl::StatusOr<Tree> golden =
      Load(GoldenCheckpoint(), Tree::AsSaved(), CheckpointableName::Named("state"));
  absl::StatusOr<Tree> mine = Load(mine_, Tree::AsSaved(), CheckpointableName::Named("state"));
  ASSERT_TRUE(golden.ok()) << golden.status();
  ASSERT_TRUE(mine.ok()) << mine.status();
  EXPECT_TRUE(testing::TreesEqual(*mine, *golden));
}

}  // namespace
}  // namespace cairn
