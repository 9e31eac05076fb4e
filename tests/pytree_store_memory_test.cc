// Loads take memory in proportion to what is on disk: a small hostile index cannot make them
// allocate without bound.
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/huge_index.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CAIRN_SANITIZED 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CAIRN_SANITIZED 1
#endif

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::TempDir;

// The process's current address-space size, from /proc/self/status.
uint64_t AddressSpaceBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (!absl::StartsWith(line, "VmSize:")) continue;
    std::string kb = line.substr(7);
    kb = kb.substr(0, kb.find("kB"));
    uint64_t value = 0;
    if (absl::SimpleAtoi(absl::StripAsciiWhitespace(kb), &value)) return value << 10;
  }
  return 0;
}

// Runs `run` with at most `headroom` more address space than the process has, and exits 0 when
// it fails with `code` and a message holding `text`.
template <typename Run>
[[noreturn]] void ExitWithin(uint64_t headroom, Run run, absl::StatusCode code,
                             absl::string_view text) {
  const uint64_t limit = AddressSpaceBytes() + headroom;
  const rlimit rl{limit, limit};
  if (setrlimit(RLIMIT_AS, &rl) != 0) _exit(2);
  const absl::Status status = run();
  _exit(status.code() == code && absl::StrContains(status.message(), text) ? 0 : 1);
}

TEST(IndexParseMemoryTest, MillionsOfEmptyChunkRecordsAreRefusedInBoundedMemory) {
#ifdef CAIRN_SANITIZED
  GTEST_SKIP() << "sanitizers reserve more address space than the limit this test sets";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  TempDir tmp;
  // 6 million records are 12 MB on disk; parsing them as messages takes over 400 MB.
  constexpr uint64_t kRecords = 6'000'000;
  ASSERT_TRUE(testing::WriteIndexOfEmptyChunks(*Filesystem::Default(), tmp.path(), kRecords).ok());
  EXPECT_EXIT(ExitWithin(
                  /*headroom=*/2 * 2 * kRecords + (64 << 20),
                  [&] { return ReadTreeMetadata(tmp.path()).status(); },
                  absl::StatusCode::kDataLoss, "_CAIRN_INDEX"),
              ::testing::ExitedWithCode(0), "");
#endif
}

// A saved tree of one small array "w", and its index for rewriting.
class LoadBudgetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("ckpt");
    tree_ = Tree::Dict();
    tree_.Set("w", Tree::FromArray(Iota<float>({256})));
    ASSERT_TRUE(SaveTree(dir_, tree_).ok());
  }

  // Rewrites the index so that "w" is `rows` bools with no stored shard at all.
  void DeclareEmptyArray(uint64_t rows) {
    absl::StatusOr<std::unique_ptr<ParsedIndex>> parsed =
        ReadIndexFile(*Filesystem::Default(), dir_, 1 << 20);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    format::TreeIndex index = *(*parsed)->index;
    format::ArrayLeaf* leaf =
        index.mutable_root()->mutable_dict()->mutable_values(0)->mutable_array();
    leaf->set_dtype(static_cast<uint32_t>(DType::kBool));
    leaf->set_stored_dtype(static_cast<uint32_t>(DType::kBool));
    leaf->clear_global_shape();
    leaf->add_global_shape(rows);
    leaf->clear_shards();
    ASSERT_TRUE(WriteIndexFile(*Filesystem::Default(), dir_, index, false).ok());
  }

  TempDir tmp_;
  std::string dir_;
  Tree tree_;
};

TEST_F(LoadBudgetTest, ArrayWithoutStoredDataPastTheDefaultBudgetIsRefusedBeforeAllocating) {
#ifdef CAIRN_SANITIZED
  GTEST_SKIP() << "sanitizers reserve more address space than the limit this test sets";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  DeclareEmptyArray(uint64_t{3} << 30);
  EXPECT_EXIT(ExitWithin(
                  /*headroom=*/uint64_t{512} << 20, [&] { return LoadTree(dir_).status(); },
                  absl::StatusCode::kResourceExhausted, "loading w (3221225472 bytes)"),
              ::testing::ExitedWithCode(0), "");
#endif
}

TEST_F(LoadBudgetTest, ArrayWithoutStoredDataWithinTheDefaultBudgetLoadsAsZeros) {
  DeclareEmptyArray(1 << 20);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_NE(loaded->Find("w"), nullptr);
  EXPECT_EQ(loaded->Find("w")->array().byte_size(), 1u << 20);
}

TEST_F(LoadBudgetTest, ExplicitBudgetIsEnforcedAcrossArrays) {
  tree_.Set("v", Tree::FromArray(Iota<float>({256})));
  ASSERT_TRUE(SaveTree(tmp_.Join("two"), tree_).ok());
  StoreLoadOptions options;
  options.max_allocation_bytes = 1500;  // room for one of the two 1024-byte arrays
  absl::StatusOr<Tree> loaded = LoadTree(tmp_.Join("two"), Tree::AsSaved(), options);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), HasSubstr("loading v (1024 bytes)"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("max_allocation_bytes"));
  options.max_allocation_bytes = 2048;
  EXPECT_TRUE(LoadTree(tmp_.Join("two"), Tree::AsSaved(), options).ok());
}

TEST_F(LoadBudgetTest, CallerProvidedDestinationsAreNotCounted) {
  std::vector<float> buffer(256);
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {256}, buffer.data())));
  StoreLoadOptions options;
  options.max_allocation_bytes = 0;
  absl::StatusOr<Tree> loaded = LoadTree(dir_, abstract, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(buffer[255], 255.0f);
}

TEST(CheckpointLoadBudgetTest, CheckpointLoadsPassTheBudgetToTheStore) {
  TempDir tmp;
  const std::string dir = tmp.Join("step");
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Iota<float>({256})));
  ASSERT_TRUE(Save(dir, tree).ok());
  CheckpointOptions options;
  options.store_load.max_allocation_bytes = 100;
  absl::StatusOr<Tree> loaded = Load(dir, Tree::AsSaved(), CheckpointableName::Auto(), options);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(loaded.status().message(), HasSubstr("loading w"));
  absl::StatusOr<Checkpointables> all = LoadCheckpointables(dir, {}, options);
  EXPECT_EQ(all.status().code(), absl::StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace cairn
