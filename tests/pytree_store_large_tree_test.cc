// Trees of thousands of leaves: planned by several threads and written to a data file per writer
// thread, with the same contents, checks and errors as a tree planned and written by one.
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

constexpr int kGroups = 60;
constexpr int kPerGroup = 100;  // 6,000 arrays: enough to be split among threads

// Groups of small float32 arrays, with the odd scalar and string among them.
Tree ManyArrays() {
  Tree tree = Tree::Dict();
  for (int g = 0; g < kGroups; ++g) {
    Tree& group = tree.Set(absl::StrCat("g", g), Tree::Dict());
    for (int i = 0; i < kPerGroup; ++i) {
      group.Set(absl::StrCat("a", i),
                Tree::FromArray(RandomBytes(DType::kFloat32, {16 + (i % 7)}, g * kPerGroup + i)));
    }
    group.Set("step", Tree::Int(g));
    group.Set("name", Tree::String(absl::StrCat("group ", g)));
  }
  return tree;
}

std::set<std::string> DataFiles(const std::string& dir) {
  std::set<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/_cairn_data")) {
    names.insert(entry.path().filename().string());
  }
  return names;
}

StoreSaveOptions TwoThreads(ThreadPool* pool) {
  StoreSaveOptions options;
  options.pool = pool;
  options.parallelism = 2;
  return options;
}

TEST(LargeTree, LoadsBackExactlyFromAFilePerWriter) {
  TempDir tmp;
  ThreadPool pool(2);
  const Tree tree = ManyArrays();
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, TwoThreads(&pool)).ok());
  EXPECT_EQ(DataFiles(tmp.Join("ckpt")), (std::set<std::string>{"p0.0.dat", "p0.1.dat"}));
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(LargeTree, OneThreadWritesOneFileOfTheSameTree) {
  TempDir tmp;
  const Tree tree = ManyArrays();
  StoreSaveOptions options;
  options.parallelism = 1;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  EXPECT_EQ(DataFiles(tmp.Join("ckpt")), (std::set<std::string>{"p0.dat"}));
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(LargeTree, ADamagedByteInTheSecondFileNamesItsArray) {
  TempDir tmp;
  ThreadPool pool(2);
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), ManyArrays(), TwoThreads(&pool)).ok());
  const std::string data_file = tmp.Join("ckpt/_cairn_data/p0.1.dat");
  std::string data;
  {
    std::ifstream in(data_file, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(data.size(), 100u);
  data[data.size() - 10] ^= 0x01;  // in the last array of the tree
  std::ofstream(data_file, std::ios::binary | std::ios::trunc) << data;
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr(absl::StrCat("g", kGroups - 1, ".a")));
}

// Two leaves that cannot be saved, in parts of the tree different threads plan: the one first
// in the tree is named, every time, whichever thread meets its problem first.
TEST(LargeTree, TheFirstProblemInTreeOrderIsReported) {
  ThreadPool pool(2);
  Tree tree = ManyArrays();
  tree.FindMutable("g3")->Set("a7", Tree::AsSaved());
  tree.FindMutable("g55")->Set("a2", Tree::AsSaved());
  for (int attempt = 0; attempt < 5; ++attempt) {
    TempDir tmp;
    const absl::Status status = SaveTree(tmp.Join("ckpt"), tree, TwoThreads(&pool));
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
    EXPECT_THAT(status.message(), HasSubstr("g3.a7"));
    EXPECT_FALSE(std::filesystem::exists(tmp.Join("ckpt")));
  }
}

TEST(LargeTree, AKeyProblemNearTheRootIsReported) {
  ThreadPool pool(2);
  Tree tree = ManyArrays();
  tree.Set("bad/key", Tree::Int(1));
  TempDir tmp;
  const absl::Status status = SaveTree(tmp.Join("ckpt"), tree, TwoThreads(&pool));
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("bad/key"));
}

}  // namespace
}  // namespace cairn
