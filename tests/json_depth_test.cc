// JSON that cairn would refuse to read back (nested deeper than kMaxJsonDepth) is refused when
// saved, before anything is written, so no save produces a step that cannot be loaded.
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

nlohmann::json Nested(int depth) {
  return nlohmann::json::parse(std::string(depth, '[') + std::string(depth, ']'));
}

class JsonDepthTest : public ::testing::Test {
 protected:
  CheckpointOptions Options() {
    CheckpointOptions options;
    options.filesystem = &fs_;
    return options;
  }
  void ExpectRefusedAndNothingWritten(const absl::Status& status, const std::string& what) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(status.message(), HasSubstr(what));
    EXPECT_THAT(status.message(), HasSubstr("levels deep"));
    EXPECT_FALSE(PathExists(fs_, "/run/1").value_or(true));
    EXPECT_TRUE(fs_.ListDir("/run").value_or(std::vector<std::string>{}).empty());
  }
  MemoryFilesystem fs_;
};

TEST_F(JsonDepthTest, ADocumentAtTheLimitRoundTrips) {
  Checkpointables items;
  items.emplace("config", Nested(kMaxJsonDepth));
  ASSERT_TRUE(SaveCheckpointables("/run/1", items, Options()).ok());
  absl::StatusOr<Checkpointables> loaded = LoadCheckpointables("/run/1", {}, Options());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config")), Nested(kMaxJsonDepth));
}

TEST_F(JsonDepthTest, ADocumentTooDeepToReadBackIsRefused) {
  Checkpointables items;
  items.emplace("config", Nested(kMaxJsonDepth + 1));
  ExpectRefusedAndNothingWritten(SaveCheckpointables("/run/1", items, Options()), "JSON document");
}

TEST_F(JsonDepthTest, CustomMetadataTooDeepIsRefused) {
  CheckpointOptions options = Options();
  options.custom_metadata = {{"deep", Nested(kMaxJsonDepth)}};
  ExpectRefusedAndNothingWritten(Save("/run/1", Tree::Int(1), options), "custom metadata");
}

TEST_F(JsonDepthTest, MetricsTooDeepAreRefused) {
  CheckpointOptions options = Options();
  options.metrics = {{"deep", Nested(kMaxJsonDepth)}};
  ExpectRefusedAndNothingWritten(Save("/run/1", Tree::Int(1), options), "metrics");
}

TEST_F(JsonDepthTest, TreeCustomMetadataTooDeepIsRefused) {
  StoreSaveOptions options;
  options.filesystem = &fs_;
  options.custom_metadata = Nested(kMaxJsonDepth + 1);
  ExpectRefusedAndNothingWritten(SaveTree("/run/1", Tree::Int(1), options), "custom metadata");
}

}  // namespace
}  // namespace cairn
