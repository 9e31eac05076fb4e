// What survives MemoryFilesystem::SimulatePowerLoss: exactly what was made durable.
#include "cairn/utils/memory_filesystem.h"

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cairn/utils/filesystem_util.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

class PowerLossTest : public ::testing::Test {
 protected:
  // Starts from a durable, empty directory /d.
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDir("/d").ok());
    ASSERT_TRUE(fs_.SyncDir("/").ok());
  }

  // The file's contents, or the error's text so that a failure shows in the comparison.
  std::string Read(const std::string& path) {
    absl::StatusOr<std::string> contents = ReadFileToString(fs_, path, 1 << 20);
    return contents.ok() ? *contents : contents.status().ToString();
  }

  bool Exists(const std::string& path) {
    absl::StatusOr<bool> exists = PathExists(fs_, path);
    EXPECT_TRUE(exists.ok()) << exists.status();
    return exists.ok() && *exists;
  }

  // Writes and syncs `path`, then makes its entry durable.
  void WriteDurably(const std::string& path, const std::string& data) {
    ASSERT_TRUE(WriteStringToFile(fs_, path, data, /*sync=*/true).ok());
    ASSERT_TRUE(fs_.SyncDir(ParentPath(path)).ok());
  }

  MemoryFilesystem fs_;
};

TEST_F(PowerLossTest, SyncedDataIsKept) {
  WriteDurably("/d/f", "durable");
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "durable");
}

TEST_F(PowerLossTest, DataWrittenAfterTheLastSyncIsLost) {
  auto file = fs_.NewWritableFile("/d/f");
  ASSERT_TRUE(file.ok());
  ASSERT_TRUE((*file)->Append("durable").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append(" and not").ok());
  ASSERT_TRUE((*file)->WriteAt(0, "D").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "durable");
}

TEST_F(PowerLossTest, ADurablyLinkedFileNeverSyncedIsEmpty) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "data", /*sync=*/false).ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "");
}

TEST_F(PowerLossTest, AFileWhoseParentWasNotSyncedVanishes) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "data", /*sync=*/true).ok());
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(Exists("/d/f"));
}

TEST_F(PowerLossTest, SyncingAGrandparentDoesNotMakeAnEntryDurable) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "data", /*sync=*/true).ok());
  ASSERT_TRUE(fs_.SyncDir("/").ok());
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(Exists("/d/f"));
}

TEST_F(PowerLossTest, ADirectoryWhoseParentWasNotSyncedVanishesWithItsContents) {
  ASSERT_TRUE(fs_.CreateDir("/d/sub").ok());
  WriteDurably("/d/sub/f", "data");
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(Exists("/d/sub"));
}

TEST_F(PowerLossTest, ARenameNotMadeDurableReverts) {
  WriteDurably("/d/a", "x");
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/b").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/a"), "x");
  EXPECT_FALSE(Exists("/d/b"));
}

TEST_F(PowerLossTest, ARenameMadeDurableSticks) {
  WriteDurably("/d/a", "x");
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/b").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/b"), "x");
  EXPECT_FALSE(Exists("/d/a"));
}

TEST_F(PowerLossTest, AReplacingRenameNotMadeDurableBringsBackTheOldFile) {
  WriteDurably("/d/target", "old");
  WriteDurably("/d/tmp", "new");
  ASSERT_TRUE(fs_.Rename("/d/tmp", "/d/target").ok());
  EXPECT_EQ(Read("/d/target"), "new");
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/target"), "old");
  EXPECT_EQ(Read("/d/tmp"), "new");
}

TEST_F(PowerLossTest, ADirectoryRenameMovesItsDurableSubtree) {
  ASSERT_TRUE(fs_.CreateDir("/d/staging").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  WriteDurably("/d/staging/f", "x");
  ASSERT_TRUE(fs_.Rename("/d/staging", "/d/final").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/final/f"), "x");
  EXPECT_FALSE(Exists("/d/staging"));
}

TEST_F(PowerLossTest, AnUnsyncedDeletionComesBack) {
  WriteDurably("/d/f", "x");
  ASSERT_TRUE(fs_.DeleteFile("/d/f").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "x");
}

TEST_F(PowerLossTest, ASyncedDeletionSticks) {
  WriteDurably("/d/f", "x");
  ASSERT_TRUE(fs_.DeleteFile("/d/f").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(Exists("/d/f"));
}

TEST_F(PowerLossTest, ATruncationNotSyncedRevertsToTheSyncedContent) {
  WriteDurably("/d/f", "old");
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "new", /*sync=*/false).ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "old");
}

TEST_F(PowerLossTest, ADirectoryLinkedTwiceByHalfDurableRenamesStaysATree) {
  // /d/a/c moves up to /d/c (made durable), then /d/a moves into /d/c (only /d/c synced). The
  // durable entries now say /d/a, /d/c, /d/a/c and /d/c/a: a cycle the walk must break. The
  // depth-first walk reaches /d/a, then /d/a/c, and keeps those links only.
  ASSERT_TRUE(fs_.CreateDir("/d/a").ok());
  ASSERT_TRUE(fs_.CreateDir("/d/a/c").ok());
  ASSERT_TRUE(fs_.SyncDir("/d/a").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.Rename("/d/a/c", "/d/c").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/c/a").ok());
  ASSERT_TRUE(fs_.SyncDir("/d/c").ok());
  fs_.SimulatePowerLoss();
  EXPECT_TRUE(Exists("/d/a/c"));
  EXPECT_FALSE(Exists("/d/a/c/a"));
  EXPECT_FALSE(Exists("/d/c"));
  EXPECT_TRUE(DeleteRecursively(fs_, "/d").ok());  // terminates: the result is finite
}

TEST_F(PowerLossTest, FilesOpenedBeforeAPowerLossRefuseFurtherUse) {
  WriteDurably("/d/f", "x");
  auto writer = fs_.NewWritableFile("/d/g");
  auto reader = fs_.NewReadableFile("/d/f");
  ASSERT_TRUE(writer.ok());
  ASSERT_TRUE(reader.ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ((*writer)->Append("y").code(), absl::StatusCode::kFailedPrecondition);
  char c;
  EXPECT_EQ((*reader)->ReadAt(0, 1, &c).status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(PowerLossTest, StateAfterAPowerLossIsDurable) {
  WriteDurably("/d/f", "x");
  fs_.SimulatePowerLoss();
  fs_.SimulatePowerLoss();
  EXPECT_EQ(Read("/d/f"), "x");
}

TEST(MemoryFilesystem, RelativePathsAreRejected) {
  MemoryFilesystem fs;
  EXPECT_EQ(fs.CreateDir("relative").code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryFilesystem, ADirectoryCannotMoveIntoItself) {
  MemoryFilesystem fs;
  ASSERT_TRUE(fs.CreateDir("/a").ok());
  EXPECT_EQ(fs.Rename("/a", "/a/b").code(), absl::StatusCode::kInvalidArgument);
}

TEST(MemoryFilesystem, AFileCannotReplaceADirectory) {
  MemoryFilesystem fs;
  ASSERT_TRUE(fs.CreateDir("/d").ok());
  ASSERT_TRUE(WriteStringToFile(fs, "/f", "x", false).ok());
  EXPECT_EQ(fs.Rename("/f", "/d").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(fs.Rename("/d", "/f").code(), absl::StatusCode::kFailedPrecondition);
}

TEST(MemoryFilesystem, ConcurrentWritersToSeparateFiles) {
  MemoryFilesystem fs;
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&fs, t] {
      const std::string path = "/f" + std::to_string(t);
      for (int i = 0; i < 100; ++i) {
        EXPECT_TRUE(WriteStringToFile(fs, path, std::string(i, 'x'), /*sync=*/true).ok());
        EXPECT_TRUE(fs.ListDir("/").ok());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir("/");
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace cairn
