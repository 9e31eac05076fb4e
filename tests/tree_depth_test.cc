// The tree nesting limit docs/FORMAT.md states: a node's key path has at most 200 components.
// Trees at the limit round-trip; one level deeper is refused at save, before anything is
// written; and the deepest tree's index needs the protobuf nesting budget the format states
// (404 messages), well past protobuf's default of 100, which fails past 48 levels.
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "google/protobuf/io/coded_stream.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

constexpr int kMaxDepth = 200;         // as docs/FORMAT.md states it
constexpr int kIndexHeaderBytes = 40;  // the index's payload follows its header

// Dicts nested so that the array leaf's key path has `depth` components.
Tree Nested(int depth) {
  Tree leaf = Tree::FromArray(testing::Iota<float>({3}));
  for (int level = depth - 1; level >= 0; --level) {
    Tree dict = Tree::Dict();
    dict.Set(absl::StrCat("k", level), std::move(leaf));
    leaf = std::move(dict);
  }
  return leaf;
}

class TreeDepthTest : public ::testing::Test {
 protected:
  StoreSaveOptions SaveOptions() {
    StoreSaveOptions options;
    options.filesystem = &fs_;
    return options;
  }
  StoreLoadOptions LoadOptions() {
    StoreLoadOptions options;
    options.filesystem = &fs_;
    return options;
  }
  // Whether the saved index's payload parses with protobuf nesting budget `limit`.
  bool PayloadParses(const std::string& dir, int limit) {
    const std::string index = ReadFileToString(fs_, JoinPath(dir, "_CAIRN_INDEX"), 1 << 20).value();
    google::protobuf::io::CodedInputStream coded(
        reinterpret_cast<const uint8_t*>(index.data()) + kIndexHeaderBytes,
        static_cast<int>(index.size()) - kIndexHeaderBytes);
    coded.SetRecursionLimit(limit);
    format::TreeIndex parsed;
    return parsed.ParseFromCodedStream(&coded);
  }
  MemoryFilesystem fs_;
};

TEST_F(TreeDepthTest, ATreeAtTheLimitRoundTrips) {
  ASSERT_TRUE(SaveTree("/t", Nested(kMaxDepth), SaveOptions()).ok());
  absl::StatusOr<Tree> loaded = LoadTree("/t", Tree::AsSaved(), LoadOptions());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(testing::TreesEqual(*loaded, Nested(kMaxDepth)));
}

TEST_F(TreeDepthTest, ATreeOneLevelDeeperIsRefusedAtSave) {
  const absl::Status status = SaveTree("/t", Nested(kMaxDepth + 1), SaveOptions());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(status.message(), HasSubstr("nested deeper than 200"));
  EXPECT_FALSE(PathExists(fs_, "/t").value_or(true));
}

TEST_F(TreeDepthTest, TheDeepestTreesIndexNestsExactly404Messages) {
  ASSERT_TRUE(SaveTree("/t", Nested(kMaxDepth), SaveOptions()).ok());
  EXPECT_TRUE(PayloadParses("/t", 404));
  EXPECT_FALSE(PayloadParses("/t", 403));
}

TEST_F(TreeDepthTest, ProtobufsDefaultNestingBudgetFailsPast48Levels) {
  const int default_limit = google::protobuf::io::CodedInputStream::GetDefaultRecursionLimit();
  ASSERT_EQ(default_limit, 100);
  ASSERT_TRUE(SaveTree("/48", Nested(48), SaveOptions()).ok());
  ASSERT_TRUE(SaveTree("/49", Nested(49), SaveOptions()).ok());
  EXPECT_TRUE(PayloadParses("/48", default_limit));
  EXPECT_FALSE(PayloadParses("/49", default_limit));
}

}  // namespace
}  // namespace cairn
