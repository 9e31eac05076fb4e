// FaultInjectionFilesystem fails exactly the operations it was told to, and counts every one.
#include "cairn/utils/fault_injection_filesystem.h"

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

class FaultInjectionTest : public ::testing::Test {
 protected:
  std::unique_ptr<WritableFile> Create(const std::string& path) {
    absl::StatusOr<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(path);
    EXPECT_TRUE(file.ok()) << file.status();
    return file.ok() ? *std::move(file) : nullptr;
  }

  std::string ReadInner(const std::string& path) {
    absl::StatusOr<std::string> contents = ReadFileToString(memory_, path, 1 << 20);
    return contents.ok() ? *contents : contents.status().ToString();
  }

  MemoryFilesystem memory_;
  FaultInjectionFilesystem fs_{&memory_};
};

TEST_F(FaultInjectionTest, NothingArmedPassesEverythingThrough) {
  ASSERT_TRUE(fs_.CreateDir("/d").ok());
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "x", /*sync=*/true).ok());
  EXPECT_EQ(ReadInner("/d/f"), "x");
}

TEST_F(FaultInjectionTest, FailNthFailsExactlyTheNthOperationOfItsKind) {
  fs_.FailNth(FaultOp::kCreateDir, 1, NoSpaceError());
  EXPECT_TRUE(fs_.CreateDir("/a").ok());
  EXPECT_EQ(fs_.CreateDir("/b").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_TRUE(fs_.CreateDir("/c").ok());
  EXPECT_TRUE(fs_.CreateDir("/b").ok());  // once only
}

TEST_F(FaultInjectionTest, AFailedOperationDoesNotReachTheWrappedFilesystem) {
  fs_.FailNth(FaultOp::kCreateDir, 0, IoError());
  ASSERT_FALSE(fs_.CreateDir("/a").ok());
  EXPECT_FALSE(*PathExists(memory_, "/a"));
}

TEST_F(FaultInjectionTest, FailNthCountsFromWhenItWasArmed) {
  ASSERT_TRUE(fs_.CreateDir("/a").ok());
  ASSERT_TRUE(fs_.CreateDir("/b").ok());
  fs_.FailNth(FaultOp::kCreateDir, 0, IoError());
  EXPECT_FALSE(fs_.CreateDir("/c").ok());
}

TEST_F(FaultInjectionTest, FailNthLeavesOtherKindsAlone) {
  fs_.FailNth(FaultOp::kSyncDir, 0, IoError());
  EXPECT_TRUE(fs_.CreateDir("/a").ok());
  EXPECT_TRUE(fs_.Stat("/a").ok());
  EXPECT_FALSE(fs_.SyncDir("/").ok());
}

TEST_F(FaultInjectionTest, FailAllFailsEveryOperationOfItsKindUntilClear) {
  fs_.FailAll(FaultOp::kRename, IoError());
  ASSERT_TRUE(WriteStringToFile(fs_, "/a", "x", false).ok());
  EXPECT_EQ(fs_.Rename("/a", "/b").code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(fs_.Rename("/a", "/b").code(), absl::StatusCode::kDataLoss);
  fs_.Clear();
  EXPECT_TRUE(fs_.Rename("/a", "/b").ok());
}

TEST_F(FaultInjectionTest, InjectedErrorsNameTheOperationAndThePath) {
  fs_.FailAll(FaultOp::kCreateDir, NoSpaceError());
  const absl::Status status = fs_.CreateDir("/some/dir");
  EXPECT_TRUE(absl::StrContains(status.message(), "mkdir /some/dir")) << status;
  EXPECT_TRUE(absl::StrContains(status.message(), "injected fault: No space left on device"))
      << status;
}

TEST_F(FaultInjectionTest, ErrorHelpersUseTheCodesTheirErrnosMapTo) {
  EXPECT_EQ(NoSpaceError().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(IoError().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(PermissionError().code(), absl::StatusCode::kPermissionDenied);
}

TEST_F(FaultInjectionTest, ShortAppendWritesHalfAndReportsAFullDisk) {
  fs_.ShortWriteNth(1);
  auto file = Create("/f");
  ASSERT_NE(file, nullptr);
  ASSERT_TRUE(file->Append("0123").ok());
  EXPECT_EQ(file->Append("abcdef").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadInner("/f"), "0123abc");
  EXPECT_TRUE(file->Append("!").ok());  // once only
}

TEST_F(FaultInjectionTest, ShortWriteAtWritesHalfAndReportsAFullDisk) {
  fs_.ShortWriteNth(0);
  auto file = Create("/f");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->WriteAt(2, "abcd").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ReadInner("/f"), std::string("\0\0ab", 4));
}

TEST_F(FaultInjectionTest, ReadFaultsFailReads) {
  ASSERT_TRUE(WriteStringToFile(memory_, "/f", "x", false).ok());
  fs_.FailNth(FaultOp::kRead, 0, IoError());
  absl::StatusOr<std::unique_ptr<ReadableFile>> file = fs_.NewReadableFile("/f");
  ASSERT_TRUE(file.ok());
  char c;
  EXPECT_EQ((*file)->ReadAt(0, 1, &c).status().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(*(*file)->ReadAt(0, 1, &c), 1u);
}

TEST_F(FaultInjectionTest, AFailedCloseStillClosesTheFile) {
  fs_.FailNth(FaultOp::kClose, 0, IoError());
  auto file = Create("/f");
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->Close().code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(file->Append("x").code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(FaultInjectionTest, CountsEveryAttemptByKind) {
  fs_.FailNth(FaultOp::kStat, 0, IoError());
  ASSERT_TRUE(WriteStringToFile(fs_, "/f", "abc", /*sync=*/true).ok());
  ASSERT_TRUE(fs_.CreateDir("/d").ok());
  EXPECT_FALSE(fs_.Stat("/f").ok());
  EXPECT_TRUE(fs_.Stat("/f").ok());
  ASSERT_TRUE(ReadFileToString(fs_, "/f", 10).ok());
  EXPECT_EQ(fs_.Count(FaultOp::kOpenWrite), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kWrite), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kSync), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kClose), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kCreateDir), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kStat), 3);  // the failed one and ReadFileToString's included
  EXPECT_EQ(fs_.Count(FaultOp::kOpenRead), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kRead), 1);
  EXPECT_EQ(fs_.Count(FaultOp::kRename), 0);
  EXPECT_EQ(fs_.MutationCount(), 5);
}

TEST_F(FaultInjectionTest, ResetCountsStartsAgainFromZero) {
  ASSERT_TRUE(fs_.CreateDir("/a").ok());
  fs_.ResetCounts();
  EXPECT_EQ(fs_.Count(FaultOp::kCreateDir), 0);
  EXPECT_EQ(fs_.MutationCount(), 0);
}

TEST_F(FaultInjectionTest, ResetCountsKeepsArmedFaultsOnTarget) {
  fs_.FailNth(FaultOp::kCreateDir, 1, IoError());
  ASSERT_TRUE(fs_.CreateDir("/a").ok());
  fs_.ResetCounts();
  EXPECT_FALSE(fs_.CreateDir("/b").ok());
}

TEST_F(FaultInjectionTest, FailNthMutationCountsEveryMutatingKind) {
  fs_.FailNthMutation(2, PermissionError());
  ASSERT_TRUE(fs_.CreateDir("/d").ok());  // mutation 0
  ASSERT_TRUE(fs_.Stat("/d").ok());       // not a mutation
  auto file = Create("/d/f");             // mutation 1
  ASSERT_NE(file, nullptr);
  EXPECT_EQ(file->Append("x").code(), absl::StatusCode::kPermissionDenied);  // mutation 2
  EXPECT_TRUE(file->Append("x").ok());                                       // once only
  EXPECT_EQ(fs_.MutationCount(), 4);
}

TEST_F(FaultInjectionTest, EveryMutationIndexCanBeFailed) {
  // A save-like sequence: each of its mutations in turn fails, and the others do not.
  auto run = [](Filesystem& fs) -> absl::Status {
    absl::Status status = fs.CreateDir("/d");
    if (status.ok()) status = WriteStringToFile(fs, "/d/tmp", "data", /*sync=*/true);
    if (status.ok()) status = fs.Rename("/d/tmp", "/d/final");
    if (status.ok()) status = fs.SyncDir("/d");
    if (status.ok()) status = fs.DeleteFile("/d/final");
    return status;
  };
  int64_t mutations = 0;
  {
    MemoryFilesystem memory;
    FaultInjectionFilesystem fs(&memory);
    ASSERT_TRUE(run(fs).ok());
    mutations = fs.MutationCount();
  }
  ASSERT_EQ(mutations, 8);  // mkdir, create, write, fsync, close, rename, fsync dir, delete
  for (int n = 0; n < mutations; ++n) {
    MemoryFilesystem memory;
    FaultInjectionFilesystem fs(&memory);
    fs.FailNthMutation(n, IoError());
    EXPECT_EQ(run(fs).code(), absl::StatusCode::kDataLoss) << "mutation " << n;
  }
}

TEST_F(FaultInjectionTest, FailAllMutationsFromNLeavesReadsWorking) {
  fs_.FailAllMutationsFrom(1, IoError());
  EXPECT_TRUE(fs_.CreateDir("/a").ok());
  EXPECT_FALSE(fs_.CreateDir("/b").ok());
  EXPECT_FALSE(fs_.SyncDir("/").ok());
  EXPECT_TRUE(fs_.ListDir("/").ok());
  EXPECT_TRUE(fs_.Stat("/a").ok());
}

TEST_F(FaultInjectionTest, IsMutationSplitsTheKinds) {
  EXPECT_TRUE(IsMutation(FaultOp::kWrite));
  EXPECT_TRUE(IsMutation(FaultOp::kClose));
  EXPECT_FALSE(IsMutation(FaultOp::kRead));
  EXPECT_FALSE(IsMutation(FaultOp::kStat));
}

TEST_F(FaultInjectionTest, CountsAreExactUnderConcurrentUse) {
  constexpr int kThreads = 4;
  constexpr int kEach = 200;
  fs_.FailNth(FaultOp::kStat, kThreads * kEach / 2, IoError());
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, &failures, t] {
      for (int i = 0; i < kEach; ++i) {
        if (!fs_.Stat("/").ok()) ++failures[t];
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(fs_.Count(FaultOp::kStat), kThreads * kEach);
  int total = 0;
  for (int f : failures) total += f;
  EXPECT_EQ(total, 1);
}

}  // namespace
}  // namespace cairn
