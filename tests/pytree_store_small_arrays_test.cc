// Many small arrays: written packed together and read back a run at a time, each still checked
// on its own; and the writeback a durable save starts as it writes.
#include <atomic>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::RandomBytes;
using testing::TempDir;
using testing::TreesEqual;

constexpr int kArrays = 200;

// kArrays float32 arrays of 1 KiB: packed back to back, array i at byte i * 1024.
Tree SmallArrays() {
  Tree tree = Tree::Dict();
  for (int i = 0; i < kArrays; ++i) {
    tree.Set(absl::StrCat("a", i), Tree::FromArray(RandomBytes(DType::kFloat32, {256}, i + 1)));
  }
  return tree;
}

TEST(SmallArrays, LoadBackExactly) {
  TempDir tmp;
  const Tree tree = SmallArrays();
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
}

TEST(SmallArrays, AFlippedByteNamesItsOwnArray) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SmallArrays()).ok());
  const std::string data_file = tmp.Join("ckpt/_cairn_data/p0.dat");
  std::string data;
  {
    std::ifstream in(data_file, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_EQ(data.size(), kArrays * 1024u);
  data[137 * 1024 + 5] ^= 0x01;
  std::ofstream(data_file, std::ios::binary | std::ios::trunc) << data;
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("p0.dat (a137)"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("checksum mismatch"));
}

TEST(SmallArrays, OneArrayOfARunLoadsAlone) {
  TempDir tmp;
  const Tree tree = SmallArrays();
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree).ok());
  Tree abstract = Tree::Dict();
  abstract.Set("a99", Tree::AsSaved());
  StoreLoadOptions options;
  options.partial = true;
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), abstract, options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_TRUE(loaded->Find("a99")->array().ContentEquals(tree.Find("a99")->array()));
}

// Counts the bytes files were asked to start writing back.
class WritebackRecorder final : public ForwardingFilesystem {
 public:
  using ForwardingFilesystem::ForwardingFilesystem;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    absl::StatusOr<std::unique_ptr<WritableFile>> file = inner()->NewWritableFile(path);
    if (!file.ok()) return file;
    return std::unique_ptr<WritableFile>(new File(*std::move(file), &bytes_));
  }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  class File final : public ForwardingWritableFile {
   public:
    File(std::unique_ptr<WritableFile> inner, std::atomic<uint64_t>* bytes)
        : ForwardingWritableFile(std::move(inner)), bytes_(bytes) {}
    void StartWriteback(uint64_t offset, uint64_t size) override {
      bytes_->fetch_add(size);
      inner()->StartWriteback(offset, size);
    }

   private:
    std::atomic<uint64_t>* const bytes_;
  };

  std::atomic<uint64_t> bytes_{0};
};

TEST(SmallArrays, ADurableSaveStartsWritebackOfEveryDataByte) {
  TempDir tmp;
  WritebackRecorder recorder(Filesystem::Default());
  StoreSaveOptions options;
  options.filesystem = &recorder;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SmallArrays(), options).ok());
  EXPECT_EQ(recorder.bytes(), kArrays * 1024u);
}

TEST(SmallArrays, AScratchSaveStartsNoWriteback) {
  TempDir tmp;
  WritebackRecorder recorder(Filesystem::Default());
  StoreSaveOptions options;
  options.filesystem = &recorder;
  options.sync = false;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), SmallArrays(), options).ok());
  EXPECT_EQ(recorder.bytes(), 0u);
}

}  // namespace
}  // namespace cairn
