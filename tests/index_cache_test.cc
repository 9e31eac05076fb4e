// Loads reuse the parsed index of a large tree loaded before (storage/internal/index_file.h),
// but only for an index equal byte for byte, read and checked anew on every load.
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::ReadAll;
using testing::TempDir;
using testing::Values;
using testing::WriteAll;

// Enough leaves for an index of more than 64 KiB, the smallest the cache keeps; each leaf's
// values start at `first`.
Tree ManyLeaves(int32_t first) {
  std::vector<std::string> keys;
  std::vector<Tree> values;
  for (int i = 0; i < 4000; ++i) {
    Array array = Iota<int32_t>({4});
    for (int32_t& v : array.mutable_values<int32_t>()) v += first + i;
    keys.push_back(absl::StrCat("leaf", i));
    values.push_back(Tree::FromArray(std::move(array)));
  }
  return Tree::DictFrom(std::move(keys), std::move(values)).value();
}

absl::StatusOr<Tree> LoadOne(const std::string& dir, const std::string& key) {
  Tree abstract = Tree::Dict();
  abstract.Set(key, Tree::AsSaved());
  StoreLoadOptions options;
  options.partial = true;
  return LoadTree(dir, abstract, options);
}

class IndexCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("tree");
    ASSERT_TRUE(SaveTree(dir_, ManyLeaves(0)).ok());
    ASSERT_GT(std::filesystem::file_size(dir_ + "/" + kTreeIndexFileName), 64u << 10);
    absl::StatusOr<Tree> first = LoadOne(dir_, "leaf7");
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_THAT(Values<int32_t>(*first->Find("leaf7")), ::testing::ElementsAre(7, 8, 9, 10));
  }

  TempDir tmp_;
  std::string dir_;
};

TEST_F(IndexCacheTest, TreeReplacedAtTheSamePathIsReadAfresh) {
  std::filesystem::remove_all(dir_);
  ASSERT_TRUE(SaveTree(dir_, ManyLeaves(1000)).ok());
  absl::StatusOr<Tree> second = LoadOne(dir_, "leaf7");
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_THAT(Values<int32_t>(*second->Find("leaf7")),
              ::testing::ElementsAre(1007, 1008, 1009, 1010));
}

TEST_F(IndexCacheTest, DamagedIndexIsReportedAfterItWasCached) {
  const std::string index = dir_ + "/" + kTreeIndexFileName;
  std::string bytes = ReadAll(index);
  bytes[bytes.size() / 2] ^= 0x01;
  WriteAll(index, bytes);
  absl::StatusOr<Tree> loaded = LoadOne(dir_, "leaf7");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("payload checksum mismatch"));
}

TEST_F(IndexCacheTest, RepeatedLoadsOfOneTreeAgree) {
  for (const char* key : {"leaf0", "leaf3999", "leaf7"}) {
    absl::StatusOr<Tree> loaded = LoadOne(dir_, key);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(loaded->Find(key)->array().ContentEquals(ManyLeaves(0).Find(key)->array()));
  }
}

}  // namespace
}  // namespace cairn
