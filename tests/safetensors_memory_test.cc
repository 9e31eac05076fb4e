// An export's memory stays near one array, not the checkpoint: it loads arrays a batch at a time
// into one reused buffer and writes each batch before loading the next, which a filesystem that
// watches the order of reads and writes sees.
#include <algorithm>
#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

// Counts the bytes read from a checkpoint's data files since the last write to any file: the
// most such bytes is what an export held between two writes.
class InterleavingFilesystem final : public ForwardingFilesystem {
 public:
  explicit InterleavingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  uint64_t max_read_between_writes() {
    absl::MutexLock lock(&mu_);
    return max_between_;
  }
  uint64_t data_read() {
    absl::MutexLock lock(&mu_);
    return total_;
  }

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    auto file = ForwardingFilesystem::NewReadableFile(path);
    if (!file.ok() || !absl::StrContains(path, kTreeDataDirName)) return file;
    return std::unique_ptr<ReadableFile>(new Readable(*std::move(file), this));
  }
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    auto file = ForwardingFilesystem::NewWritableFile(path);
    if (!file.ok()) return file;
    return std::unique_ptr<WritableFile>(new Writable(*std::move(file), this));
  }

 private:
  class Readable final : public ReadableFile {
   public:
    Readable(std::unique_ptr<ReadableFile> inner, InterleavingFilesystem* fs)
        : inner_(std::move(inner)), fs_(fs) {}
    absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
      absl::StatusOr<size_t> got = inner_->ReadAt(offset, n, scratch);
      if (got.ok()) fs_->Read(*got);
      return got;
    }
    absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    std::unique_ptr<ReadableFile> inner_;
    InterleavingFilesystem* fs_;
  };
  class Writable final : public WritableFile {
   public:
    Writable(std::unique_ptr<WritableFile> inner, InterleavingFilesystem* fs)
        : inner_(std::move(inner)), fs_(fs) {}
    absl::Status Append(absl::string_view data) override {
      fs_->Wrote();
      return inner_->Append(data);
    }
    absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
      fs_->Wrote();
      return inner_->WriteAt(offset, data);
    }
    absl::Status Sync() override { return inner_->Sync(); }
    absl::Status Close() override { return inner_->Close(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    std::unique_ptr<WritableFile> inner_;
    InterleavingFilesystem* fs_;
  };

  void Read(uint64_t bytes) {
    absl::MutexLock lock(&mu_);
    since_write_ += bytes;
    total_ += bytes;
    max_between_ = std::max(max_between_, since_write_);
  }
  void Wrote() {
    absl::MutexLock lock(&mu_);
    since_write_ = 0;
  }

  absl::Mutex mu_;
  uint64_t since_write_ = 0;
  uint64_t max_between_ = 0;
  uint64_t total_ = 0;
};

constexpr int kArrays = 40;
constexpr int64_t kRows = 256;  // 256 x 256 float32: 256 KiB an array, 10 MiB in all
constexpr uint64_t kArrayBytes = kRows * 256 * 4;

TEST(SafetensorsMemoryTest, ExportHoldsOneArrayAtATime) {
  MemoryFilesystem memory;
  Tree tree = Tree::Dict();
  for (int i = 0; i < kArrays; ++i) {
    tree.Set(absl::StrCat("layer", i),
             Tree::FromArray(testing::RandomBytes(DType::kFloat32, {kRows, 256}, i)));
  }
  CheckpointOptions save;
  save.filesystem = &memory;
  ASSERT_TRUE(Save("/ckpt", tree, save).ok());

  InterleavingFilesystem watched(&memory);
  SafetensorsExportOptions options;
  options.filesystem = &watched;
  options.batch_bytes = kArrayBytes;
  SafetensorsExportStats stats;
  options.stats = &stats;
  ASSERT_TRUE(ExportSafetensors("/ckpt", "/model.safetensors", options).ok());

  EXPECT_EQ(stats.loads, static_cast<uint64_t>(kArrays));
  EXPECT_EQ(stats.buffer_bytes, kArrayBytes);
  EXPECT_GE(watched.data_read(), kArrays * kArrayBytes);
  // Each load reads its own array's chunks, and the batch is written before the next load.
  EXPECT_LE(watched.max_read_between_writes(), kArrayBytes);
}

TEST(SafetensorsMemoryTest, TheBufferIsTheBatchSizeOrTheLargestArray) {
  MemoryFilesystem memory;
  Tree tree = Tree::Dict();
  for (int i = 0; i < 8; ++i) {
    tree.Set(absl::StrCat("small", i),
             Tree::FromArray(testing::RandomBytes(DType::kFloat32, {16, 256}, i)));
  }
  tree.Set("big", Tree::FromArray(testing::RandomBytes(DType::kFloat32, {kRows, 256}, 99)));
  CheckpointOptions save;
  save.filesystem = &memory;
  ASSERT_TRUE(Save("/ckpt", tree, save).ok());
  SafetensorsExportOptions options;
  options.filesystem = &memory;
  options.batch_bytes = 32 << 10;
  SafetensorsExportStats stats;
  options.stats = &stats;
  ASSERT_TRUE(ExportSafetensors("/ckpt", "/model.safetensors", options).ok());
  EXPECT_EQ(stats.buffer_bytes, kArrayBytes);  // the big array, alone in its batch
  EXPECT_EQ(stats.loads, 1u + 4u);             // the 16 KiB arrays two at a time
  EXPECT_EQ(stats.data_bytes, kArrayBytes + 8 * (16 << 10));
}

}  // namespace
}  // namespace cairn
