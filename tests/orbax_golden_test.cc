// Every checkpoint of Orbax's own compatibility suite (../shared/orbax-golden), loaded through
// cairn's checkpoint API with the outcome Orbax gives it: the pytree and the JSON item load, the
// damaged cases fail with errors that say what is wrong, and metadata reads without array data.
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Values;

enum class Outcome {
  kLoads,                        // the tree, the JSON item and the checkpoint metadata all read
  kNoPyTreeMetadata,             // the pytree's _METADATA was removed
  kV0WithoutCheckpointMetadata,  // v0 loads a pytree without _CHECKPOINT_METADATA
  kV1WithoutCheckpointMetadata,  // v1 refuses a marked checkpoint without it
  kNothingLeft,                  // both metadata files removed
  kMissingArrayData,             // the OCDBT manifest or d/ removed: the load fails, metadata reads
  kDummyAdded,                   // a directory the metadata does not list, holding junk
  kPyTreeDeleted,                // the whole pytree directory removed
};

struct GoldenCase {
  std::string layout;  // "v0_checkpoints/composite_checkpoint"
  std::string name;    // "checkpoint_metadata_present/pytree_checkpointable_has_metadata"
  Outcome outcome;
  std::string missing_field;  // of _CHECKPOINT_METADATA, for the non-critical cases
};

void PrintTo(const GoldenCase& c, std::ostream* os) { *os << c.layout << "/" << c.name; }

std::vector<GoldenCase> Cases() {
  std::vector<GoldenCase> cases;
  for (const char* layout :
       {"v0_checkpoints/composite_checkpoint", "v0_checkpoints/direct_checkpoint",
        "v1_checkpoints/composite_checkpoint"}) {
    const bool v1 = absl::StartsWith(layout, "v1");
    cases.push_back({layout, "checkpoint_metadata_present/pytree_checkpointable_has_metadata",
                     Outcome::kLoads, ""});
    cases.push_back({layout, "checkpoint_metadata_present/pytree_checkpointable_missing_metadata",
                     Outcome::kNoPyTreeMetadata, ""});
    cases.push_back(
        {layout, "checkpoint_metadata_missing/pytree_checkpointable_has_metadata",
         v1 ? Outcome::kV1WithoutCheckpointMetadata : Outcome::kV0WithoutCheckpointMetadata, ""});
    cases.push_back({layout, "checkpoint_metadata_missing/pytree_checkpointable_missing_metadata",
                     Outcome::kNothingLeft, ""});
    cases.push_back({layout, "critical_metadata_alterations/missing_pytree_data_dir_d",
                     Outcome::kMissingArrayData, ""});
    cases.push_back({layout,
                     "critical_metadata_alterations/missing_pytree_data_file_manifest.ocdbt",
                     Outcome::kMissingArrayData, ""});
    for (const char* field : {"commit_timestamp_nsecs", "custom_metadata", "init_timestamp_nsecs",
                              "item_handlers", "metrics", "performance_metrics"}) {
      cases.push_back(
          {layout, absl::StrCat("non_critical_metadata_alterations/missing_", field, "_metadata"),
           Outcome::kLoads, field});
    }
    cases.push_back({layout,
                     "non_critical_metadata_alterations/missing_pytree_data_dir_array_metadatas",
                     Outcome::kLoads, ""});
    cases.push_back({layout, "non_critical_metadata_alterations/missing_pytree_data_file__sharding",
                     Outcome::kLoads, ""});
    if (v1) {
      cases.push_back({layout, "critical_general_alterations/dummy_checkpointable_added",
                       Outcome::kDummyAdded, ""});
      cases.push_back({layout, "non_critical_general_alterations/deleted_checkpointable",
                       Outcome::kPyTreeDeleted, ""});
    }
  }
  return cases;
}

bool Direct(const GoldenCase& c) { return absl::StrContains(c.layout, "direct"); }

// The tree every case holds: {'a': int32[8] 0..7, 'b': {'c': int32[3] 1, 2, 3}}.
void ExpectGoldenTree(const Tree& tree) {
  ASSERT_EQ(tree.kind(), Tree::Kind::kDict);
  ASSERT_THAT(tree.keys(), ElementsAre("a", "b"));
  const Tree& a = *tree.Find("a");
  ASSERT_EQ(a.kind(), Tree::Kind::kArray);
  EXPECT_EQ(a.array().dtype(), DType::kInt32);
  EXPECT_THAT(Values<int32_t>(a), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));
  const Tree& c = *tree.Find("b")->Find("c");
  ASSERT_EQ(c.kind(), Tree::Kind::kArray);
  EXPECT_THAT(Values<int32_t>(c), ElementsAre(1, 2, 3));
}

class OrbaxGoldenTest : public ::testing::TestWithParam<GoldenCase> {
 protected:
  void SetUp() override {
    if (ocdbt_test::GoldenRoot().empty()) {
      GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout: golden files absent";
    }
    dir_ = absl::StrCat(ocdbt_test::GoldenRoot(), "/", GetParam().layout, "/", GetParam().name);
  }
  std::string dir_;
};

TEST_P(OrbaxGoldenTest, LoadsWithOrbaxsOutcome) {
  const GoldenCase& c = GetParam();
  absl::StatusOr<Tree> loaded = Load(dir_);
  switch (c.outcome) {
    case Outcome::kLoads:
    case Outcome::kV0WithoutCheckpointMetadata: {
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      ExpectGoldenTree(*loaded);
      // Named explicitly too, as Orbax's compatibility matrix does.
      absl::StatusOr<Tree> named =
          Load(dir_, Tree::AsSaved(),
               Direct(c) ? CheckpointableName::None() : CheckpointableName::Named("state"));
      ASSERT_TRUE(named.ok()) << named.status();
      ExpectGoldenTree(*named);
      break;
    }
    case Outcome::kNoPyTreeMetadata:
      ASSERT_FALSE(loaded.ok());
      EXPECT_THAT(loaded.status().message(), HasSubstr("pytree metadata file"));
      break;
    case Outcome::kV1WithoutCheckpointMetadata:
      ASSERT_FALSE(loaded.ok());
      EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(loaded.status().message(), HasSubstr("not a valid Orbax checkpoint"));
      break;
    case Outcome::kNothingLeft:
      ASSERT_FALSE(loaded.ok());
      EXPECT_THAT(loaded.status().message(), HasSubstr("pytree"));
      break;
    case Outcome::kMissingArrayData:
      ASSERT_FALSE(loaded.ok());
      EXPECT_THAT(loaded.status().message(),
                  HasSubstr(absl::StrContains(c.name, "manifest") ? "manifest.ocdbt" : "/d/"));
      break;
    case Outcome::kDummyAdded: {
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      ExpectGoldenTree(*loaded);
      absl::StatusOr<Checkpointables> dummy = LoadCheckpointables(dir_, {{"dummy", std::nullopt}});
      ASSERT_FALSE(dummy.ok());
      EXPECT_EQ(dummy.status().code(), absl::StatusCode::kDataLoss);
      EXPECT_THAT(dummy.status().message(), HasSubstr("dummy/_METADATA"));
      break;
    }
    case Outcome::kPyTreeDeleted: {
      ASSERT_FALSE(loaded.ok());
      EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
      absl::StatusOr<Checkpointables> state = LoadCheckpointables(dir_, {{"state", std::nullopt}});
      EXPECT_EQ(state.status().code(), absl::StatusCode::kNotFound);
      break;
    }
  }
}

// The cases whose checkpointables load.
class OrbaxGoldenItemsTest : public OrbaxGoldenTest {};

std::vector<GoldenCase> CasesWithItems() {
  std::vector<GoldenCase> cases;
  for (const GoldenCase& c : Cases()) {
    if (c.outcome == Outcome::kLoads || c.outcome == Outcome::kDummyAdded ||
        c.outcome == Outcome::kPyTreeDeleted) {
      cases.push_back(c);
    }
  }
  return cases;
}

TEST_P(OrbaxGoldenItemsTest, LoadsItsCheckpointables) {
  const GoldenCase& c = GetParam();
  if (Direct(c)) {
    absl::StatusOr<Checkpointables> all = LoadCheckpointables(dir_);
    ASSERT_FALSE(all.ok());
    EXPECT_THAT(all.status().message(), HasSubstr("single pytree"));
    return;
  }
  std::map<std::string, LoadRequest> requests;
  if (c.outcome == Outcome::kPyTreeDeleted) requests.emplace("metadata", std::nullopt);
  absl::StatusOr<Checkpointables> items = LoadCheckpointables(dir_, requests);
  ASSERT_TRUE(items.ok()) << items.status();
  const auto json = items->find("metadata");
  ASSERT_NE(json, items->end());
  EXPECT_EQ(std::get<nlohmann::json>(json->second), nlohmann::json({{"metadata", "json_data"}}));
  if (c.outcome == Outcome::kPyTreeDeleted) return;
  const auto state = items->find("state");
  ASSERT_NE(state, items->end());
  ExpectGoldenTree(std::get<Tree>(state->second));
  EXPECT_EQ(items->count("dummy"), 0u);
}

TEST_P(OrbaxGoldenTest, ReadsMetadataWithoutArrayData) {
  const GoldenCase& c = GetParam();
  if (c.outcome == Outcome::kLoads || c.outcome == Outcome::kMissingArrayData) {
    absl::StatusOr<CheckpointMetadata> checkpoint = CheckpointMetadataOf(dir_);
    ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
    if (c.missing_field == "custom_metadata") {
      EXPECT_EQ(checkpoint->custom_metadata, nlohmann::json::object());
    } else {
      EXPECT_EQ(checkpoint->custom_metadata, nlohmann::json({{"custom", "meta"}}));
    }
    EXPECT_EQ(checkpoint->init_timestamp_nsecs.has_value(),
              c.missing_field != "init_timestamp_nsecs");
    EXPECT_EQ(checkpoint->commit_timestamp_nsecs.has_value(),
              c.missing_field != "commit_timestamp_nsecs");
    EXPECT_EQ(checkpoint->item_handlers.empty() && !checkpoint->direct_item_handler,
              c.missing_field == "item_handlers");
  }
  if (c.outcome != Outcome::kLoads) return;
  absl::StatusOr<StoreMetadata> metadata = Metadata(dir_);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const Tree& a = *metadata->tree.Find("a");
  ASSERT_EQ(a.kind(), Tree::Kind::kArraySpec);
  EXPECT_EQ(a.spec().dtype, DType::kInt32);
  EXPECT_EQ(a.spec().shape, Shape({8}));
  ASSERT_TRUE(a.spec().storage.has_value());
  EXPECT_EQ(a.spec().storage->chunk_shape, Shape({8}));
  const Tree& bc = *metadata->tree.Find("b")->Find("c");
  ASSERT_EQ(bc.kind(), Tree::Kind::kArraySpec);
  EXPECT_EQ(bc.spec().shape, Shape({3}));
  EXPECT_EQ(bc.spec().storage->chunk_shape, Shape({3}));
  EXPECT_EQ(metadata->layout, StoreLayout::kAggregated);
}

TEST(OrbaxGoldenCatalogueTest, CoversEveryCaseOnDisk) {
  if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
  EXPECT_EQ(Cases().size(), 44u);
  for (const GoldenCase& c : Cases()) {
    EXPECT_TRUE(PathExists(*Filesystem::Default(),
                           absl::StrCat(ocdbt_test::GoldenRoot(), "/", c.layout, "/", c.name))
                    .value_or(false))
        << c.layout << "/" << c.name;
  }
}

std::string CaseName(const ::testing::TestParamInfo<GoldenCase>& info) {
  std::string name = absl::StrCat(info.param.layout, "_", info.param.name);
  for (char& ch : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

INSTANTIATE_TEST_SUITE_P(Cases, OrbaxGoldenTest, ::testing::ValuesIn(Cases()), CaseName);
INSTANTIATE_TEST_SUITE_P(Cases, OrbaxGoldenItemsTest, ::testing::ValuesIn(CasesWithItems()),
                         CaseName);

}  // namespace
}  // namespace cairn
