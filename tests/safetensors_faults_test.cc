// A failed export leaves nothing: every mutation of an export failed in turn, each write cut
// short as by a full disk, and a disk too small for the file all end in an error, with neither
// the output nor its temporary file on disk; an import that fails leaves no checkpoint. And a
// power cut after a successful export keeps the whole file.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/safetensors_reference.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::IsEmpty;

constexpr char kCheckpoint[] = "/ckpt";
constexpr char kOutDir[] = "/out";
constexpr char kOut[] = "/out/model.safetensors";

class SafetensorsFaultsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tree tree = Tree::Dict();
    for (int i = 0; i < 6; ++i) {
      tree.Set(absl::StrCat("w", i),
               Tree::FromArray(testing::RandomBytes(DType::kFloat32, {64, 64}, i)));
    }
    tree.Set("step", Tree::Int(3));
    CheckpointOptions options;
    options.filesystem = &memory_;
    ASSERT_TRUE(Save(kCheckpoint, tree, options).ok());
    ASSERT_TRUE(CreateDirs(memory_, kOutDir, /*sync=*/true).ok());
  }

  absl::Status Export(uint64_t batch_bytes = 20000) {
    SafetensorsExportOptions options;
    options.filesystem = &faults_;
    options.batch_bytes = batch_bytes;  // several batches, so several appends
    return ExportSafetensors(kCheckpoint, kOut, options);
  }

  // What the export left in its directory.
  std::vector<std::string> Leftovers() { return memory_.ListDir(kOutDir).value(); }

  MemoryFilesystem memory_;
  FaultInjectionFilesystem faults_{&memory_};
};

TEST_F(SafetensorsFaultsTest, EveryFailedMutationLeavesNoFile) {
  faults_.ResetCounts();
  ASSERT_TRUE(Export().ok());
  const int64_t mutations = faults_.MutationCount();
  ASSERT_GT(mutations, 5);
  ASSERT_TRUE(memory_.DeleteFile(kOut).ok());
  for (int64_t n = 0; n < mutations; ++n) {
    faults_.FailNthMutation(static_cast<int>(n), NoSpaceError());
    absl::Status status = Export();
    faults_.Clear();
    EXPECT_FALSE(status.ok()) << "mutation " << n;
    EXPECT_THAT(Leftovers(), IsEmpty()) << "mutation " << n << ": " << status;
  }
}

TEST_F(SafetensorsFaultsTest, EveryShortWriteLeavesNoFile) {
  faults_.ResetCounts();
  ASSERT_TRUE(Export().ok());
  const int64_t writes = faults_.Count(FaultOp::kWrite);
  ASSERT_GT(writes, 2);
  ASSERT_TRUE(memory_.DeleteFile(kOut).ok());
  for (int64_t n = 0; n < writes; ++n) {
    faults_.ShortWriteNth(static_cast<int>(n));
    absl::Status status = Export();
    faults_.Clear();
    EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << "write " << n;
    EXPECT_THAT(Leftovers(), IsEmpty()) << "write " << n;
  }
}

TEST_F(SafetensorsFaultsTest, ADiskTooSmallLeavesNoFile) {
  faults_.LimitFreeSpace(50000);
  absl::Status status = Export();
  faults_.Clear();
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted) << status;
  EXPECT_THAT(Leftovers(), IsEmpty());
}

TEST_F(SafetensorsFaultsTest, AFailedOverwriteKeepsTheOldFile) {
  ASSERT_TRUE(WriteStringToFile(memory_, kOut, "old", /*sync=*/true).ok());
  SafetensorsExportOptions options;
  options.filesystem = &faults_;
  options.overwrite = true;
  faults_.FailNth(FaultOp::kSync, 0, IoError());
  EXPECT_FALSE(ExportSafetensors(kCheckpoint, kOut, options).ok());
  faults_.Clear();
  EXPECT_EQ(ReadFileToString(memory_, kOut, 100).value(), "old");
  EXPECT_EQ(Leftovers().size(), 1u);
}

TEST_F(SafetensorsFaultsTest, AnExportSurvivesAPowerCutOnceItReturns) {
  ASSERT_TRUE(Export().ok());
  memory_.SimulatePowerLoss();
  const std::string contents = ReadFileToString(memory_, kOut, uint64_t{1} << 30).value();
  testing::ReferenceFile file;
  std::string error;
  ASSERT_TRUE(testing::ReadReferenceSafetensors(contents, &file, &error)) << error;
  EXPECT_EQ(file.tensors.size(), 7u);
}

TEST_F(SafetensorsFaultsTest, AFailedImportLeavesNoCheckpoint) {
  ASSERT_TRUE(Export().ok());
  SafetensorsImportOptions options;
  options.checkpoint.filesystem = &faults_;
  faults_.ResetCounts();
  ASSERT_TRUE(ImportSafetensors(kOut, "/imported", options).ok());
  const int64_t mutations = faults_.MutationCount();
  ASSERT_TRUE(DeleteRecursively(memory_, "/imported").ok());
  for (int64_t n = 0; n < mutations; n += 3) {
    faults_.FailNthMutation(static_cast<int>(n), NoSpaceError());
    absl::Status status = ImportSafetensors(kOut, "/imported", options);
    faults_.Clear();
    if (status.ok()) {
      // Only a failure after the commit (cleanup) may still succeed; the checkpoint is whole.
      ASSERT_TRUE(Load("/imported", Tree::AsSaved(), CheckpointableName::Auto(),
                       [&] {
                         CheckpointOptions o;
                         o.filesystem = &memory_;
                         return o;
                       }())
                      .ok());
      ASSERT_TRUE(DeleteRecursively(memory_, "/imported").ok());
      continue;
    }
    const std::vector<std::string> names = memory_.ListDir("/").value();
    for (const std::string& name : names) {
      EXPECT_FALSE(absl::StartsWith(name, "imported")) << "mutation " << n << ": " << name;
    }
  }
}

}  // namespace
}  // namespace cairn
