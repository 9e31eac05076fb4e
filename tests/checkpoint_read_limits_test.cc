// A file that a checkpoint reads whole is refused for its size before any of it is read, even
// when the commit marker lists it with a matching size and checksum.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

// Counts the bytes read from files whose path ends in `suffix`.
class ReadTallyFilesystem final : public ForwardingFilesystem {
 public:
  ReadTallyFilesystem(Filesystem* inner, std::string suffix)
      : ForwardingFilesystem(inner), suffix_(std::move(suffix)) {}

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    absl::StatusOr<std::unique_ptr<ReadableFile>> file = inner()->NewReadableFile(path);
    if (!file.ok() || !absl::EndsWith(path, suffix_)) return file;
    return std::unique_ptr<ReadableFile>(new Tallied(*std::move(file), &bytes_read_));
  }

  uint64_t bytes_read() const { return bytes_read_.load(); }

 private:
  class Tallied final : public ReadableFile {
   public:
    Tallied(std::unique_ptr<ReadableFile> file, std::atomic<uint64_t>* tally)
        : file_(std::move(file)), tally_(tally) {}
    absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
      absl::StatusOr<size_t> read = file_->ReadAt(offset, n, scratch);
      if (read.ok()) *tally_ += *read;
      return read;
    }
    absl::StatusOr<uint64_t> Size() const override { return file_->Size(); }
    const std::string& path() const override { return file_->path(); }

   private:
    const std::unique_ptr<ReadableFile> file_;
    std::atomic<uint64_t>* const tally_;
  };

  const std::string suffix_;
  std::atomic<uint64_t> bytes_read_{0};
};

// A committed checkpoint at /ckpt/1 on an in-memory filesystem.
class CheckpointReadLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.filesystem = &memory_;
    Tree tree = Tree::Dict();
    tree.Set("step", Tree::Int(1));
    ASSERT_TRUE(Save("/ckpt/1", tree, options_).ok());
  }

  MemoryFilesystem memory_;
  CheckpointOptions options_;
};

TEST_F(CheckpointReadLimitsTest, OversizedListedMetadataIsRefusedUnread) {
  // 65 MiB of metadata (past its 64 MiB limit), listed by the marker as it is.
  const std::string metadata(uint64_t{65} << 20, ' ');
  ASSERT_TRUE(WriteStringToFile(memory_, "/ckpt/1/_CHECKPOINT_METADATA", metadata, false).ok());
  absl::StatusOr<std::optional<ListedFiles>> listed = ReadCommitMarker(memory_, "/ckpt/1");
  ASSERT_TRUE(listed.ok() && listed->has_value()) << listed.status();
  (**listed)["_CHECKPOINT_METADATA"] = FileDigest{metadata.size(), Checksum64(metadata)};
  ASSERT_TRUE(
      WriteStringToFile(memory_, "/ckpt/1/commit_success.txt", FormatCommitMarker(**listed), false)
          .ok());

  ReadTallyFilesystem tally(&memory_, "_CHECKPOINT_METADATA");
  options_.filesystem = &tally;
  absl::StatusOr<CheckpointMetadata> read = CheckpointMetadataOf("/ckpt/1", options_);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(read.status().message(), HasSubstr("_CHECKPOINT_METADATA"));
  EXPECT_THAT(read.status().message(), HasSubstr("more than the limit"));
  EXPECT_EQ(tally.bytes_read(), 0u);
}

TEST_F(CheckpointReadLimitsTest, ListedFileIsStillVerifiedWhenRead) {
  absl::StatusOr<std::string> metadata =
      ReadFileToString(memory_, "/ckpt/1/_CHECKPOINT_METADATA", 1 << 20);
  ASSERT_TRUE(metadata.ok());
  (*metadata)[metadata->size() / 2] ^= 1;  // same size, other bytes
  ASSERT_TRUE(WriteStringToFile(memory_, "/ckpt/1/_CHECKPOINT_METADATA", *metadata, false).ok());
  absl::StatusOr<CheckpointMetadata> read = CheckpointMetadataOf("/ckpt/1", options_);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(read.status().message(), HasSubstr("checksum"));
}

}  // namespace
}  // namespace cairn
