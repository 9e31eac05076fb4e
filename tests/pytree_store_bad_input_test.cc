// Bad input to the store: every case returns a clear error naming the file or key path, and
// never crashes, never returns wrong data, never trusts a number read from disk.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>

#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::ReadAll;
using testing::SampleTree;
using testing::TempDir;
using testing::WriteAll;

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("ckpt");
    Tree tree = Tree::Dict();
    tree.Set("w", Tree::FromArray(Iota<float>({256})));
    ASSERT_TRUE(SaveTree(dir_, tree).ok());
    index_ = dir_ + "/_CAIRN_INDEX";
    data_ = dir_ + "/_cairn_data/p0.dat";
  }

  // Rewrites the version in the index file's header, and the header's checksum to match.
  void SetHeaderVersion(char version) {
    std::string index = ReadAll(index_);
    index[8] = version;  // version field, little-endian
    const uint64_t header_checksum = Checksum64(index.data(), 32);
    for (int i = 0; i < 8; ++i) index[32 + i] = static_cast<char>(header_checksum >> (8 * i));
    WriteAll(index_, index);
  }

  TempDir tmp_;
  std::string dir_, index_, data_;
};

TEST_F(BadInputTest, MissingDirectory) {
  absl::StatusOr<Tree> loaded = LoadTree(tmp_.Join("nope"));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("nope"));
}

TEST_F(BadInputTest, MissingDataFile) {
  std::filesystem::remove(data_);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("p0.dat is missing"));
}

TEST_F(BadInputTest, TruncatedDataFile) {
  std::filesystem::resize_file(data_, 100);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("truncated"));
}

TEST_F(BadInputTest, FlippedBitInAChunkNamesFileAndKeyPath) {
  std::string data = ReadAll(data_);
  data[37] ^= 0x10;
  WriteAll(data_, data);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("p0.dat (w)"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("checksum mismatch"));
}

TEST_F(BadInputTest, FlippedBitInACompressedChunk) {
  StoreSaveOptions options;
  options.compress = true;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Iota<float>({4096})));
  ASSERT_TRUE(SaveTree(tmp_.Join("z"), tree, options).ok());
  const std::string path = tmp_.Join("z/_cairn_data/p0.dat");
  std::string data = ReadAll(path);
  data[data.size() / 2] ^= 0x01;
  WriteAll(path, data);
  absl::StatusOr<Tree> loaded = LoadTree(tmp_.Join("z"));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(BadInputTest, TruncatedIndex) {
  std::filesystem::resize_file(index_, std::filesystem::file_size(index_) - 3);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("_CAIRN_INDEX"));
}

TEST_F(BadInputTest, IndexShorterThanItsHeader) {
  WriteAll(index_, "CAIRN");
  EXPECT_EQ(LoadTree(dir_).status().code(), absl::StatusCode::kDataLoss);
}

TEST_F(BadInputTest, GarbageIndex) {
  WriteAll(index_, std::string(200, 'x'));
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("magic"));
}

TEST_F(BadInputTest, FlippedBitInIndexPayload) {
  std::string index = ReadAll(index_);
  index[index.size() - 2] ^= 0x04;
  WriteAll(index_, index);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("payload checksum mismatch"));
}

TEST_F(BadInputTest, NewerFormatVersionIsRefusedWithAnUpgradeHint) {
  SetHeaderVersion(7);
  absl::StatusOr<Tree> loaded = LoadTree(dir_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(loaded.status().message(), HasSubstr("format version 7"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("upgrade cairn"));
}

TEST_F(BadInputTest, SymlinkedDataFileIsRefused) {
  const std::string elsewhere = tmp_.Join("elsewhere.dat");
  std::filesystem::rename(data_, elsewhere);
  std::filesystem::create_symlink(elsewhere, data_);
  EXPECT_FALSE(LoadTree(dir_).ok());
}

TEST_F(BadInputTest, IndexLargerThanTheLimit) {
  StoreLoadOptions options;
  options.max_index_bytes = 8;
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options);
  EXPECT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("_CAIRN_INDEX"));
}

// Hostile indexes, well framed and checksummed, whose contents lie.
class HostileIndexTest : public BadInputTest {
 protected:
  format::TreeIndex Index() {
    absl::StatusOr<std::unique_ptr<ParsedIndex>> parsed =
        ReadIndexFile(*Filesystem::Default(), dir_, 1 << 20);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return *(*parsed)->index;
  }
  absl::Status LoadWith(const format::TreeIndex& index) {
    EXPECT_TRUE(WriteIndexFile(*Filesystem::Default(), dir_, index, false).ok());
    return LoadTree(dir_).status();
  }
  format::ArrayLeaf* Leaf(format::TreeIndex* index) {
    return index->mutable_root()->mutable_dict()->mutable_values(0)->mutable_array();
  }
};

TEST_F(HostileIndexTest, DataFileNameEscapingTheDirectory) {
  format::TreeIndex index = Index();
  index.mutable_data_files(0)->set_name("../../etc/passwd");
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("not a plain file name"));
}

TEST_F(HostileIndexTest, ChunkBeyondItsFile) {
  format::TreeIndex index = Index();
  Leaf(&index)->mutable_shards(0)->mutable_chunks(0)->set_offset(uint64_t{1} << 40);
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("outside its data file"));
}

TEST_F(HostileIndexTest, ShapeWhoseByteSizeOverflows) {
  format::TreeIndex index = Index();
  format::ArrayLeaf* leaf = Leaf(&index);
  leaf->clear_global_shape();
  leaf->add_global_shape(uint64_t{1} << 40);
  leaf->add_global_shape(uint64_t{1} << 40);
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("overflows"));
}

TEST_F(HostileIndexTest, HugeDeclaredSizeWithSmallFile) {
  format::TreeIndex index = Index();
  format::ArrayLeaf* leaf = Leaf(&index);
  leaf->set_global_shape(0, uint64_t{1} << 34);  // 64 GiB of floats, never allocated
  leaf->mutable_shards(0)->set_shape(0, uint64_t{1} << 34);
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
}

TEST_F(HostileIndexTest, OverlappingShardsAreDataLoss) {
  format::TreeIndex index = Index();
  format::ArrayLeaf* leaf = Leaf(&index);
  *leaf->add_shards() = leaf->shards(0);  // a second piece over the same elements
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("shards 0 and 1"));
  EXPECT_THAT(status.message(), HasSubstr("overlap"));
}

TEST_F(HostileIndexTest, UnknownDType) {
  format::TreeIndex index = Index();
  Leaf(&index)->set_stored_dtype(99);
  EXPECT_EQ(LoadWith(index).code(), absl::StatusCode::kDataLoss);
}

TEST_F(HostileIndexTest, DictKeyWithSlash) {
  format::TreeIndex index = Index();
  index.mutable_root()->mutable_dict()->set_keys(0, "../w");
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("not allowed"));
}

TEST_F(HostileIndexTest, IndexVersionDifferingFromTheHeaderIsDataLoss) {
  format::TreeIndex index = Index();
  index.set_format_version(2);
  ASSERT_TRUE(WriteIndexFile(*Filesystem::Default(), dir_, index, false).ok());
  SetHeaderVersion(1);
  absl::Status status = LoadTree(dir_).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("_CAIRN_INDEX"));
  EXPECT_THAT(status.message(), HasSubstr("differs from its header's 1"));
}

TEST_F(HostileIndexTest, ShuffledCompressionInAVersion1IndexIsDataLoss) {
  format::TreeIndex index = Index();
  ASSERT_EQ(index.format_version(), 1u);
  Leaf(&index)->set_compression(format::COMPRESSION_ZSTD_SHUFFLED);
  absl::Status status = LoadWith(index);
  EXPECT_EQ(status.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(status.message(), HasSubstr("unknown compression at w"));
}

TEST_F(HostileIndexTest, ChunkCountDisagreesWithTheShape) {
  format::TreeIndex index = Index();
  Leaf(&index)->mutable_shards(0)->add_chunks();
  EXPECT_EQ(LoadWith(index).code(), absl::StatusCode::kDataLoss);
}

TEST(SaveBadInput, KeyWithSlashOrDotsIsRefusedWithItsPath) {
  TempDir tmp;
  for (const char* key : {"a/b", "..", ".", ""}) {
    Tree tree = Tree::Dict();
    Tree& inner = tree.Set("outer", Tree::Dict());
    inner.Set(key, Tree::Int(1));
    absl::Status status = SaveTree(tmp.Join("ckpt"), tree);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << key;
    EXPECT_THAT(std::string(status.message()), HasSubstr("outer")) << key;
    EXPECT_FALSE(std::filesystem::exists(tmp.Join("ckpt"))) << key;
  }
}

TEST(SaveBadInput, ShapeWhoseByteSizeOverflows) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  static const char byte = 0;
  tree.Set("huge", Tree::FromArray(Array::Borrow(DType::kFloat64,
                                                 {int64_t{1} << 31, int64_t{1} << 31}, &byte)));
  absl::Status status = SaveTree(tmp.Join("ckpt"), tree);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("huge"));
}

TEST(SaveBadInput, NegativeDimension) {
  TempDir tmp;
  static const char byte = 0;
  absl::Status status =
      SaveTree(tmp.Join("ckpt"), Tree::FromArray(Array::Borrow(DType::kInt8, {-1}, &byte)));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
}

TEST(SaveBadInput, NonEmptyDirectoryIsRefusedAndLeftAlone) {
  TempDir tmp;
  WriteAll(tmp.Join("precious.txt"), "keep me");
  absl::Status status = SaveTree(tmp.path(), SampleTree());
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ReadAll(tmp.Join("precious.txt")), "keep me");
}

TEST(SaveBadInput, DirectoryPathThatIsAFile) {
  TempDir tmp;
  WriteAll(tmp.Join("file"), "x");
  EXPECT_EQ(SaveTree(tmp.Join("file"), SampleTree()).code(), absl::StatusCode::kFailedPrecondition);
}

TEST(SaveBadInput, AbstractLeavesCannotBeSaved) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("p", Tree::Placeholder());
  absl::Status status = SaveTree(tmp.Join("ckpt"), tree);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("cannot save p"));
}

TEST(SaveBadInput, ComplexStorageDTypeForRealArrayIsFineButNotTheReverse) {
  TempDir tmp;
  StoreSaveOptions options;
  options.storage_options = [](const KeyPath&, const Array&) {
    ArrayStorageOptions storage;
    storage.dtype = DType::kFloat32;
    return storage;
  };
  Tree tree = Tree::Dict();
  tree.Set("c", Tree::FromArray(Array::Allocate(DType::kComplex64, {2}).value()));
  EXPECT_EQ(SaveTree(tmp.Join("ckpt"), tree, options).code(), absl::StatusCode::kInvalidArgument);
}

TEST(SaveBadInput, PlacementOutsideTheGlobalArray) {
  TempDir tmp;
  Array piece = Iota<float>({2, 4});
  piece.set_placement(ShardPlacement{{4, 4}, {3, 0}});
  absl::Status status = SaveTree(tmp.Join("ckpt"), Tree::FromArray(piece));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("does not fit"));
}

}  // namespace
}  // namespace cairn
