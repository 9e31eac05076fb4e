// What survives MemoryFilesystem::SimulatePowerLoss: exactly what was made durable.
#include "cairn/utils/memory_filesystem.h"

#include "cairn/utils/filesystem_util.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

class PowerLossTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fs_.CreateDir("/d").ok());
    ASSERT_TRUE(fs_.SyncDir("/").ok());
  }
  MemoryFilesystem fs_;
};

TEST_F(PowerLossTest, UnsyncedDataIsLostSyncedDataKept) {
  auto file = fs_.NewWritableFile("/d/f");
  ASSERT_TRUE((*file)->Append("durable").ok());
  ASSERT_TRUE((*file)->Sync().ok());
  ASSERT_TRUE((*file)->Append(" and not").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(*ReadFileToString(fs_, "/d/f", 100), "durable");
}

TEST_F(PowerLossTest, FileInAnUnsyncedDirectoryVanishes) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "data", /*sync=*/true).ok());
  fs_.SimulatePowerLoss();
  EXPECT_FALSE(*PathExists(fs_, "/d/f"));
}

TEST_F(PowerLossTest, RenameRevertsUnlessTheDirectoryIsSynced) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/a", "x", true).ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/b").ok());
  fs_.SimulatePowerLoss();
  EXPECT_TRUE(*PathExists(fs_, "/d/a"));
  EXPECT_FALSE(*PathExists(fs_, "/d/b"));
  ASSERT_TRUE(fs_.Rename("/d/a", "/d/b").ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(*ReadFileToString(fs_, "/d/b", 10), "x");
}

TEST_F(PowerLossTest, UnsyncedDeletionComesBack) {
  ASSERT_TRUE(WriteStringToFile(fs_, "/d/f", "x", true).ok());
  ASSERT_TRUE(fs_.SyncDir("/d").ok());
  ASSERT_TRUE(fs_.DeleteFile("/d/f").ok());
  fs_.SimulatePowerLoss();
  EXPECT_EQ(*ReadFileToString(fs_, "/d/f", 10), "x");
}

}  // namespace
}  // namespace cairn
