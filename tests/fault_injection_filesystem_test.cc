#include "cairn/utils/fault_injection_filesystem.h"

#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

TEST(FaultInjection, FailNthFiresOnceOnTheRightOperation) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.FailNth(FaultOp::kCreateDir, 1, NoSpaceError());
  EXPECT_TRUE(fs.CreateDir("/a").ok());
  EXPECT_EQ(fs.CreateDir("/b").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(fs.CreateDir("/c").ok());
  EXPECT_EQ(fs.Count(FaultOp::kCreateDir), 3);
  EXPECT_FALSE(*PathExists(memory, "/b"));  // a failed operation does nothing
}

TEST(FaultInjection, FailAllUntilClear) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.FailAll(FaultOp::kRename, IoError());
  ASSERT_TRUE(WriteStringToFile(fs, "/a", "x", false).ok());
  EXPECT_FALSE(fs.Rename("/a", "/b").ok());
  EXPECT_FALSE(fs.Rename("/a", "/b").ok());
  fs.Clear();
  EXPECT_TRUE(fs.Rename("/a", "/b").ok());
}

TEST(FaultInjection, ShortWriteWritesHalfAndReportsAFullDisk) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.ShortWriteNth(0);
  auto file = fs.NewWritableFile("/f");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Append("abcdef").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(*ReadFileToString(memory, "/f", 10), "abc");
}

TEST(FaultInjection, NthMutationCountsEveryMutatingKind) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.FailNthMutation(2, PermissionError());
  ASSERT_TRUE(fs.CreateDir("/d").ok());  // mutation 0
  ASSERT_TRUE(fs.Stat("/d").ok());       // not a mutation
  auto file = fs.NewWritableFile("/d/f");  // mutation 1
  ASSERT_TRUE(file.ok());
  EXPECT_EQ((*file)->Append("x").code(), absl::StatusCode::kPermissionDenied);  // mutation 2
  EXPECT_EQ(fs.MutationCount(), 3);
}

TEST(FaultInjection, AllMutationsFromNFail) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.FailAllMutationsFrom(1, IoError());
  EXPECT_TRUE(fs.CreateDir("/a").ok());
  EXPECT_FALSE(fs.CreateDir("/b").ok());
  EXPECT_FALSE(fs.SyncDir("/").ok());
  EXPECT_TRUE(fs.ListDir("/").ok());  // reads still work
}

}  // namespace
}  // namespace cairn
