// The store under injected faults and power loss, through the Filesystem seam: a failed save
// returns an error and leaves no tree, earlier trees stay loadable, and a power cut at any
// point of a save leaves either no tree or a complete one.
#include <memory>

#include "cairn/storage/pytree_store.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using testing::Iota;
using testing::RandomBytes;
using testing::SampleTree;
using testing::TreesEqual;

Tree NewTree() {
  Tree tree = SampleTree();
  tree.Set("big", Tree::FromArray(RandomBytes(DType::kFloat32, {300, 100}, 4)));
  return tree;
}

StoreSaveOptions OptionsFor(Filesystem* fs, StoreLayout layout, bool compress) {
  StoreSaveOptions options;
  options.filesystem = fs;
  options.layout = layout;
  options.compress = compress;
  options.chunk_bytes = 16 << 10;  // several chunks, so mutations are many and varied
  return options;
}

StoreLoadOptions LoadOptionsFor(Filesystem* fs) {
  StoreLoadOptions options;
  options.filesystem = fs;
  return options;
}

struct FaultCase {
  StoreLayout layout;
  bool compress;
};

class SaveFaultTest : public ::testing::TestWithParam<FaultCase> {
 protected:
  // How many mutating filesystem operations one save makes into an existing /root.
  int64_t CountMutations() {
    MemoryFilesystem memory;
    EXPECT_TRUE(CreateDirs(memory, "/root").ok());
    FaultInjectionFilesystem faults(&memory);
    EXPECT_TRUE(SaveTree("/root/new", NewTree(),
                         OptionsFor(&faults, GetParam().layout, GetParam().compress))
                    .ok());
    return faults.MutationCount();
  }
};

TEST_P(SaveFaultTest, EveryFailurePointFailsCleanlyAndKeepsTheOldTree) {
  const int64_t mutations = CountMutations();
  ASSERT_GT(mutations, 5);
  const Tree old_tree = SampleTree();
  const Tree new_tree = NewTree();
  for (int64_t n = 0; n < mutations; ++n) {
    SCOPED_TRACE(::testing::Message() << "failing mutation " << n << " of " << mutations);
    MemoryFilesystem memory;
    FaultInjectionFilesystem faults(&memory);
    ASSERT_TRUE(
        SaveTree("/root/old", old_tree, OptionsFor(&memory, StoreLayout::kAggregated, false)).ok());
    faults.FailNthMutation(static_cast<int>(n), NoSpaceError());
    const absl::Status status = SaveTree(
        "/root/new", new_tree, OptionsFor(&faults, GetParam().layout, GetParam().compress));
    EXPECT_FALSE(status.ok());
    EXPECT_FALSE(*PathExists(memory, "/root/new")) << status;
    absl::StatusOr<Tree> old_loaded =
        LoadTree("/root/old", Tree::AsSaved(), LoadOptionsFor(&memory));
    ASSERT_TRUE(old_loaded.ok()) << old_loaded.status();
    EXPECT_TRUE(TreesEqual(*old_loaded, old_tree));
  }
}

TEST_P(SaveFaultTest, PowerLossAtAnyPointLeavesNoTreeOrAWholeOne) {
  const int64_t mutations = CountMutations();
  const Tree new_tree = NewTree();
  int complete = 0;
  for (int64_t n = 0; n <= mutations; ++n) {
    SCOPED_TRACE(::testing::Message() << "power lost at mutation " << n << " of " << mutations);
    MemoryFilesystem memory;
    ASSERT_TRUE(CreateDirs(memory, "/root").ok());
    ASSERT_TRUE(memory.SyncDir("/").ok());
    FaultInjectionFilesystem faults(&memory);
    // The machine dies at mutation n: that operation and everything after it never happen.
    faults.FailAllMutationsFrom(static_cast<int>(n), IoError());
    SaveTree("/root/new", new_tree, OptionsFor(&faults, GetParam().layout, GetParam().compress))
        .IgnoreError();
    memory.SimulatePowerLoss();
    absl::StatusOr<bool> holds = HoldsTree("/root/new", &memory);
    ASSERT_TRUE(holds.ok()) << holds.status();
    if (!*holds) continue;
    ++complete;
    absl::StatusOr<Tree> loaded = LoadTree("/root/new", Tree::AsSaved(), LoadOptionsFor(&memory));
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_TRUE(TreesEqual(*loaded, new_tree));
  }
  EXPECT_GE(complete, 1);  // at least the run with no fault survives
}

INSTANTIATE_TEST_SUITE_P(Layouts, SaveFaultTest,
                         ::testing::Values(FaultCase{StoreLayout::kAggregated, false},
                                           FaultCase{StoreLayout::kAggregated, true},
                                           FaultCase{StoreLayout::kPerLeaf, false}),
                         [](const ::testing::TestParamInfo<FaultCase>& info) {
                           return std::string(info.param.layout == StoreLayout::kPerLeaf
                                                  ? "PerLeaf"
                                                  : "Aggregated") +
                                  (info.param.compress ? "Zstd" : "Raw");
                         });

TEST(SaveFaults, ShortWriteOnAFullDiskIsResourceExhausted) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem faults(&memory);
  faults.ShortWriteNth(0);
  const absl::Status status =
      SaveTree("/root/new", NewTree(), OptionsFor(&faults, StoreLayout::kAggregated, false));
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_FALSE(*PathExists(memory, "/root/new"));
}

TEST(LoadFaults, ReadErrorsAreReported) {
  MemoryFilesystem memory;
  ASSERT_TRUE(
      SaveTree("/root/t", NewTree(), OptionsFor(&memory, StoreLayout::kAggregated, false)).ok());
  FaultInjectionFilesystem faults(&memory);
  faults.FailNth(FaultOp::kRead, 1, IoError());  // the index read succeeds, a chunk read fails
  absl::StatusOr<Tree> loaded = LoadTree("/root/t", Tree::AsSaved(), LoadOptionsFor(&faults));
  EXPECT_FALSE(loaded.ok());
}

TEST(PowerLoss, SyncedSaveSurvives) {
  MemoryFilesystem memory;
  const Tree tree = NewTree();
  ASSERT_TRUE(CreateDirs(memory, "/root").ok());
  ASSERT_TRUE(memory.SyncDir("/").ok());
  ASSERT_TRUE(SaveTree("/root/t", tree, OptionsFor(&memory, StoreLayout::kAggregated, true)).ok());
  memory.SimulatePowerLoss();
  absl::StatusOr<Tree> loaded = LoadTree("/root/t", Tree::AsSaved(), LoadOptionsFor(&memory));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

}  // namespace
}  // namespace cairn
