// Checking a cairn tree's chunks against their checksums without decoding them.
#include "cairn/storage/tree_verification.h"

#include <filesystem>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "cairn/storage/pytree_store.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

namespace fs = std::filesystem;
using testing::Iota;
using testing::TempDir;

class TreeVerificationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("tree");
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(Iota<float>({1024, 64})));
    tree.Set("b", Tree::FromArray(Iota<int32_t>({64})));
    StoreSaveOptions options;
    options.chunk_bytes = 64 << 10;  // several chunks for w
    ASSERT_TRUE(SaveTree(dir_, tree, options).ok());
    for (const auto& entry : fs::directory_iterator(dir_ + "/" + kTreeDataDirName)) {
      data_ = entry.path().string();
    }
  }
  void FlipByte(uintmax_t offset) {
    std::fstream file(data_, std::ios::in | std::ios::out | std::ios::binary);
    file.seekg(static_cast<std::streamoff>(offset));
    char byte = 0;
    file.read(&byte, 1);
    byte ^= 0x21;
    file.seekp(static_cast<std::streamoff>(offset));
    file.write(&byte, 1);
  }
  TempDir tmp_;
  std::string dir_;
  std::string data_;
};

TEST_F(TreeVerificationTest, AnIntactTreeReadsEveryChunk) {
  absl::StatusOr<ChunkVerification> result = VerifyTreeChunks(dir_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->damage.empty());
  EXPECT_GT(result->chunks, 2u);
  EXPECT_EQ(result->bytes_read, result->stored_bytes);
  EXPECT_EQ(result->bytes_read, 1024u * 64u * 4u + 64u * 4u);
}

TEST_F(TreeVerificationTest, AFlippedByteNamesTheFileAndArray) {
  FlipByte(1000);
  absl::StatusOr<ChunkVerification> result = VerifyTreeChunks(dir_);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->damage.size(), 1u);
  EXPECT_EQ(result->damage[0].file, fs::relative(data_, dir_).string());
  EXPECT_TRUE(absl::StrContains(result->damage[0].problem, "checksum mismatch in the chunk of w"))
      << result->damage[0].problem;
}

TEST_F(TreeVerificationTest, AMissingDataFileIsDamage) {
  fs::remove(data_);
  absl::StatusOr<ChunkVerification> result = VerifyTreeChunks(dir_);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->damage.size(), 1u);
  EXPECT_TRUE(absl::StrContains(result->damage[0].problem, "missing"));
}

TEST_F(TreeVerificationTest, ATruncatedDataFileIsDamage) {
  fs::resize_file(data_, fs::file_size(data_) / 2);
  absl::StatusOr<ChunkVerification> result = VerifyTreeChunks(dir_);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->damage.empty());
}

TEST_F(TreeVerificationTest, ADamagedIndexIsDataLoss) {
  const std::string index = dir_ + "/" + kTreeIndexFileName;
  std::fstream file(index, std::ios::in | std::ios::out | std::ios::binary);
  file.seekp(static_cast<std::streamoff>(fs::file_size(index) - 3));
  file.write("zzz", 3);
  file.close();
  EXPECT_TRUE(absl::IsDataLoss(VerifyTreeChunks(dir_).status()));
}

TEST_F(TreeVerificationTest, TellsACairnIndexFromNone) {
  EXPECT_TRUE(*HoldsCairnIndex(dir_));
  EXPECT_FALSE(*HoldsCairnIndex(tmp_.path()));
}

}  // namespace
}  // namespace cairn
