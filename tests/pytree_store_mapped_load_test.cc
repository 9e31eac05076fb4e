// Mapped loads (StoreLoadOptions::map_arrays): arrays come back as read-only views of the data
// files, every chunk still verified; the arrays whose stored bytes are not the requested ones
// load by reading, and the report says which and why.
#include <filesystem>
#include <string>

#include "cairn/manager/checkpointer.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Iota;
using ::testing::IsEmpty;
using testing::RandomBytes;
using testing::ReadAll;
using testing::SpecOf;
using testing::TempDir;
using testing::TreesEqual;
using ::testing::UnorderedElementsAre;
using testing::WriteAll;

// 1 MiB in chunks of 256 KiB, which the save lays end to end (4096-aligned sizes).
Tree Weights() {
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(RandomBytes(DType::kFloat32, {1024, 256}, 7)));
  tree.Set("b", Tree::FromArray(Iota<int64_t>({16})));
  tree.Set("step", Tree::Int(3));
  return tree;
}

StoreSaveOptions SmallChunks() {
  StoreSaveOptions options;
  options.chunk_bytes = 256 << 10;
  return options;
}

class MappedLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = tmp_.Join("tree");
    ASSERT_TRUE(SaveTree(dir_, Weights(), SmallChunks()).ok());
    data_ = dir_ + "/_cairn_data/p0.dat";
    options_.map_arrays = true;
    options_.map_report = &report_;
  }

  TempDir tmp_;
  std::string dir_, data_;
  MapReport report_;
  StoreLoadOptions options_;
};

TEST_F(MappedLoadTest, RoundTripReturnsReadOnlyViews) {
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, Weights()));
  EXPECT_THAT(report_.mapped, UnorderedElementsAre("w", "b"));
  EXPECT_THAT(report_.fallbacks, IsEmpty());
  for (const char* key : {"w", "b"}) {
    const Array& array = loaded->Find(key)->array();
    EXPECT_FALSE(array.is_writable()) << key;
    EXPECT_TRUE(array.owns_memory()) << key;
  }
}

TEST_F(MappedLoadTest, CorruptedChunkIsDataLossNamingTheKeyPath) {
  std::string data = ReadAll(data_);
  data[(512 << 10) + 5] ^= 0x10;  // inside w's third chunk
  WriteAll(data_, data);
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("p0.dat (w)"));
  EXPECT_THAT(loaded.status().message(), HasSubstr("checksum mismatch"));
}

TEST_F(MappedLoadTest, TruncatedDataFileIsRefusedBeforeMapping) {
  std::filesystem::resize_file(data_, 300 << 10);
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(loaded.status().message(), HasSubstr("truncated"));
  EXPECT_THAT(report_.mapped, IsEmpty());
}

TEST_F(MappedLoadTest, ViewOutlivesTheTreeItCameIn) {
  Array view;
  {
    absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    view = loaded->Find("w")->array();
  }
  EXPECT_TRUE(view.ContentEquals(Weights().Find("w")->array()));
}

// POSIX keeps an unlinked file's pages while a mapping of it lives (README, "Mapped loads").
TEST_F(MappedLoadTest, ViewKeepsItsBytesWhenTheTreeIsDeleted) {
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  std::filesystem::remove_all(dir_);
  EXPECT_TRUE(loaded->Find("w")->array().ContentEquals(Weights().Find("w")->array()));
}

TEST_F(MappedLoadTest, ViewsCannotBeWrittenThroughTheApi) {
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Array& view = loaded->Find("w")->array();
  EXPECT_EQ(view.mutable_data(), nullptr);
  EXPECT_TRUE(view.mutable_values<float>().empty());
  // Nor can a load write into one.
  ArraySpec spec;
  spec.destination = view;
  Tree into = Tree::Dict();
  into.Set("w", Tree::Spec(spec));
  StoreLoadOptions partial;
  partial.partial = true;
  absl::StatusOr<Tree> reloaded = LoadTree(dir_, into, partial);
  EXPECT_EQ(reloaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(reloaded.status().message(), HasSubstr("read-only"));
}

TEST_F(MappedLoadTest, CopyOfAViewIsWritable) {
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved(), options_);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  absl::StatusOr<Array> copy = loaded->Find("w")->array().Copy();
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_TRUE(copy->is_writable());
  EXPECT_TRUE(copy->ContentEquals(Weights().Find("w")->array()));
}

// Loads `abstract` (partial) mapped and returns the reason reported for "w".
class MappedFallbackTest : public MappedLoadTest {
 protected:
  std::optional<MapFallback> FallbackFor(const Tree& w, bool padding = false) {
    Tree abstract = Tree::Dict();
    abstract.Set("w", w);
    options_.partial = true;
    options_.enable_padding_and_truncation = padding;
    absl::StatusOr<Tree> loaded = LoadTree(dir_, abstract, options_);
    EXPECT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_THAT(report_.mapped, IsEmpty());
    const auto it = report_.fallbacks.find("w");
    if (it == report_.fallbacks.end()) return std::nullopt;
    return it->second;
  }
};

TEST_F(MappedFallbackTest, Cast) {
  EXPECT_EQ(FallbackFor(Tree::Spec(SpecOf(DType::kFloat64))), MapFallback::kCast);
}

TEST_F(MappedFallbackTest, Region) {
  ArraySpec spec = SpecOf(DType::kFloat32, {8, 256});
  spec.origin = Shape{16, 0};
  EXPECT_EQ(FallbackFor(Tree::Spec(spec)), MapFallback::kRegion);
}

TEST_F(MappedFallbackTest, Padding) {
  EXPECT_EQ(FallbackFor(Tree::Spec(SpecOf(DType::kFloat32, {1100, 256})), /*padding=*/true),
            MapFallback::kPadding);
}

TEST_F(MappedFallbackTest, Destination) {
  Array destination = Array::Allocate(DType::kFloat32, {1024, 256}).value();
  EXPECT_EQ(FallbackFor(Tree::FromArray(destination)), MapFallback::kDestination);
  EXPECT_TRUE(destination.ContentEquals(Weights().Find("w")->array()));
}

// Loads the tree `tree` saved with `save` into a fresh directory, mapped, and checks that it
// round-trips with "a" reported as read for `reason`.
void ExpectFallback(const Tree& tree, StoreSaveOptions save, MapFallback reason) {
  TempDir tmp;
  ASSERT_TRUE(SaveTree(tmp.Join("t"), tree, save).ok());
  MapReport report;
  StoreLoadOptions options;
  options.map_arrays = true;
  options.map_report = &report;
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("t"), Tree::AsSaved(), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, tree));
  EXPECT_THAT(report.mapped, IsEmpty());
  EXPECT_THAT(report.fallbacks, ElementsAre(std::make_pair(std::string("a"), reason)))
      << MapFallbackName(reason);
}

Tree OneArray(Array array) {
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::FromArray(std::move(array)));
  return tree;
}

TEST(MappedFallback, Compressed) {
  StoreSaveOptions save;
  save.compress = true;
  ExpectFallback(OneArray(Iota<float>({4096})), save, MapFallback::kCompressed);
}

TEST(MappedFallback, ChunksWithGapsBetweenThem) {
  // Chunks of 33 rows of 12 bytes each start at multiples of 64: 396 bytes, then a gap.
  StoreSaveOptions save;
  save.chunk_bytes = 400;
  ExpectFallback(OneArray(Iota<float>({100, 3})), save, MapFallback::kLayout);
}

TEST(MappedFallback, Empty) {
  ExpectFallback(OneArray(Iota<float>({0, 4})), StoreSaveOptions(), MapFallback::kEmpty);
}

TEST(MappedFallback, FilesystemThatCannotMap) {
  MemoryFilesystem memory;
  ASSERT_TRUE(CreateDirs(memory, "/root").ok());
  StoreSaveOptions save;
  save.filesystem = &memory;
  ASSERT_TRUE(SaveTree("/root/t", Weights(), save).ok());
  MapReport report;
  StoreLoadOptions options;
  options.filesystem = &memory;
  options.map_arrays = true;
  options.map_report = &report;
  absl::StatusOr<Tree> loaded = LoadTree("/root/t", Tree::AsSaved(), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, Weights()));
  EXPECT_THAT(report.mapped, IsEmpty());
  EXPECT_EQ(report.fallbacks.at("w"), MapFallback::kFilesystem);
  EXPECT_EQ(report.fallbacks.at("b"), MapFallback::kFilesystem);
  EXPECT_TRUE(loaded->Find("w")->array().is_writable());
}

TEST(MappedFallback, OrbaxFormat) {
  TempDir tmp;
  orbax_test::OrbaxPyTreeWriter writer;
  writer.AddArray({orbax_test::K("a")}, Iota<float>({64}));
  ASSERT_TRUE(writer.Write(*Filesystem::Default(), tmp.Join("orbax")).ok());
  MapReport report;
  StoreLoadOptions options;
  options.map_arrays = true;
  options.map_report = &report;
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("orbax"), Tree::AsSaved(), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(loaded->Find("a")->array().ContentEquals(Iota<float>({64})));
  EXPECT_EQ(report.fallbacks.at("a"), MapFallback::kFormat);
}

TEST(MappedCheckpointLoad, CheckpointOptionsCarryTheOption) {
  TempDir tmp;
  ASSERT_TRUE(Save(tmp.Join("ckpt"), Weights()).ok());
  MapReport report;
  CheckpointOptions options;
  options.store_load.map_arrays = true;
  options.store_load.map_report = &report;
  absl::StatusOr<Tree> loaded =
      Load(tmp.Join("ckpt"), Tree::AsSaved(), CheckpointableName::Auto(), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, Weights()));
  EXPECT_THAT(report.mapped, UnorderedElementsAre("w", "b"));
  EXPECT_FALSE(loaded->Find("w")->array().is_writable());
}

TEST(MappedCheckpointLoad, CheckpointerOptionsCarryTheOption) {
  TempDir tmp;
  MapReport report;
  CheckpointerOptions options;
  options.store_load.map_arrays = true;
  options.store_load.map_report = &report;
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt =
      Checkpointer::Create(tmp.Join("root"), options);
  ASSERT_TRUE(ckpt.ok()) << ckpt.status();
  ASSERT_TRUE((*ckpt)->Save(1, Weights()).ok());
  ASSERT_TRUE((*ckpt)->WaitUntilFinished().ok());
  absl::StatusOr<Tree> loaded = (*ckpt)->Load(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, Weights()));
  EXPECT_THAT(report.mapped, UnorderedElementsAre("w", "b"));
  EXPECT_FALSE(loaded->Find("w")->array().is_writable());
  EXPECT_TRUE((*ckpt)->Close().ok());
}

}  // namespace
}  // namespace cairn
