// One suite run against every tree format behind the StoredTree seam (cairn's own, and Orbax's
// per-array zarr layout): the same tree is written in each, and every abstract-tree feature must
// load it the same way: as saved, casts, regions across chunks, pad and truncate, placeholders
// never read, caller buffers, partial loads, structure errors, the allocation budget, metadata.
#include <functional>
#include <ostream>
#include <string>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/access_recording_filesystem.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Iota;
using testing::SpecOf;
using testing::Values;

constexpr char kDir[] = "/tree";

// The tree every format holds: w float32 (6, 4) in chunks of 2 rows; b int64 (5,); big float32
// {1, 300, -5}; layers a list of two float64 (3,) arrays.
struct Format {
  std::string name;
  std::function<absl::Status(Filesystem&)> write;
};

void PrintTo(const Format& format, std::ostream* os) { *os << format.name; }

Format Cairn() {
  return {"cairn", [](Filesystem& fs) {
            Tree tree = Tree::Dict();
            tree.Set("w", Tree::FromArray(Iota<float>({6, 4})));
            tree.Set("b", Tree::FromArray(Iota<int64_t>({5})));
            tree.Set("big", Tree::FromArray(Array::FromValues<float>({1, 300, -5}, {3})));
            Tree& layers = tree.Set("layers", Tree::List());
            layers.Append(Tree::FromArray(Iota<double>({3})));
            layers.Append(Tree::FromArray(Iota<double>({3})));
            StoreSaveOptions options;
            options.filesystem = &fs;
            options.chunk_bytes = 32;  // two rows of w per chunk
            return SaveTree(kDir, tree, options);
          }};
}

Format OrbaxPerArray() {
  return {"orbax", [](Filesystem& fs) {
            orbax_test::OrbaxPyTreeWriter writer;
            writer.AddArray({orbax_test::K("w")}, Iota<float>({6, 4}), {2, 4});
            writer.AddArray({orbax_test::K("b")}, Iota<int64_t>({5}), {2});
            writer.AddArray({orbax_test::K("big")}, Array::FromValues<float>({1, 300, -5}, {3}));
            writer.AddArray({orbax_test::K("layers"), orbax_test::I(0)}, Iota<double>({3}));
            writer.AddArray({orbax_test::K("layers"), orbax_test::I(1)}, Iota<double>({3}));
            return writer.Write(fs, kDir);
          }};
}

class StoredTreeConformanceTest : public ::testing::TestWithParam<Format> {
 protected:
  void SetUp() override { ASSERT_TRUE(GetParam().write(memory_).ok()); }

  StoreLoadOptions Options() {
    StoreLoadOptions options;
    options.filesystem = &fs_;
    return options;
  }

  MemoryFilesystem memory_;
  testing::AccessRecordingFilesystem fs_{&memory_};
};

TEST_P(StoredTreeConformanceTest, LoadsAsSaved) {
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_TRUE(tree->Find("w")->array().ContentEquals(Iota<float>({6, 4})));
  EXPECT_THAT(Values<int64_t>(*tree->Find("b")), ElementsAre(0, 1, 2, 3, 4));
  ASSERT_EQ(tree->Find("layers")->kind(), Tree::Kind::kList);
  EXPECT_THAT(Values<double>((*tree->Find("layers"))[1]), ElementsAre(0, 1, 2));
}

TEST_P(StoredTreeConformanceTest, MetadataHasDtypesAndShapes) {
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, Options());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const Tree& w = *metadata->tree.Find("w");
  ASSERT_EQ(w.kind(), Tree::Kind::kArraySpec);
  EXPECT_EQ(w.spec().dtype, DType::kFloat32);
  EXPECT_EQ(w.spec().shape, Shape({6, 4}));
  EXPECT_EQ(w.spec().storage->chunk_shape, Shape({2, 4}));
  EXPECT_EQ(metadata->tree.Find("b")->spec().dtype, DType::kInt64);
}

TEST_P(StoredTreeConformanceTest, MetadataTreeLoadsAsIs) {
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, Options());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  absl::StatusOr<Tree> tree = LoadTree(kDir, metadata->tree, Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_TRUE(tree->Find("w")->array().ContentEquals(Iota<float>({6, 4})));
}

TEST_P(StoredTreeConformanceTest, CastsAndRegionsAcrossChunks) {
  ArraySpec spec = SpecOf(DType::kInt16, Shape{3, 2});
  spec.origin = Shape{1, 1};
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::Spec(spec));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(Values<int16_t>(*tree->Find("w")), ElementsAre(5, 6, 9, 10, 13, 14));
}

TEST_P(StoredTreeConformanceTest, PadsAndTruncatesOnlyWhenAllowed) {
  Tree abstract = Tree::Dict();
  abstract.Set("b", Tree::Spec(SpecOf(DType::kInt64, Shape{7})));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> refused = LoadTree(kDir, abstract, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  options.enable_padding_and_truncation = true;
  absl::StatusOr<Tree> padded = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(padded.ok()) << padded.status();
  EXPECT_THAT(Values<int64_t>(*padded->Find("b")), ElementsAre(0, 1, 2, 3, 4, 0, 0));
  abstract.Set("b", Tree::Spec(SpecOf(DType::kInt64, Shape{2})));
  absl::StatusOr<Tree> truncated = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(truncated.ok()) << truncated.status();
  EXPECT_THAT(Values<int64_t>(*truncated->Find("b")), ElementsAre(0, 1));
}

TEST_P(StoredTreeConformanceTest, PlaceholdersAreNotRead) {
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::Placeholder());
  abstract.Set("b", Tree::AsSaved());
  abstract.Set("big", Tree::Placeholder());
  abstract.Set("layers", Tree::Placeholder());
  fs_.ForgetOpened();
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->Find("w")->kind(), Tree::Kind::kPlaceholder);
  EXPECT_THAT(Values<int64_t>(*tree->Find("b")), ElementsAre(0, 1, 2, 3, 4));
  if (GetParam().name == "orbax") {
    EXPECT_FALSE(fs_.OpenedAnything("/w/"));
    EXPECT_FALSE(fs_.OpenedAnything("/layers."));
  }
}

TEST_P(StoredTreeConformanceTest, LoadsIntoCallerBuffers) {
  std::vector<float> buffer(24, -1.0f);
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {6, 4}, buffer.data())));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  for (int i = 0; i < 24; ++i) EXPECT_EQ(buffer[i], static_cast<float>(i));
}

TEST_P(StoredTreeConformanceTest, StructureMismatchesNameTheKeyPath) {
  Tree missing = Tree::Dict();
  missing.Set("w", Tree::AsSaved());
  absl::StatusOr<Tree> unlisted = LoadTree(kDir, missing, Options());
  EXPECT_EQ(unlisted.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(unlisted.status().message(), HasSubstr("structure mismatch"));
  Tree extra = Tree::Dict();
  extra.Set("nope", Tree::AsSaved());
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> absent = LoadTree(kDir, extra, options);
  EXPECT_EQ(absent.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(absent.status().message(), HasSubstr("nope"));
  Tree wrong_kind = Tree::Dict();
  wrong_kind.Set("layers", Tree::Dict());
  absl::StatusOr<Tree> kind = LoadTree(kDir, wrong_kind, options);
  EXPECT_THAT(kind.status().message(), HasSubstr("layers"));
}

TEST_P(StoredTreeConformanceTest, AllocationBudgetIsEnforced) {
  StoreLoadOptions options = Options();
  options.max_allocation_bytes = 64;
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), options);
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kResourceExhausted);
}

TEST_P(StoredTreeConformanceTest, CastsRefuseValuesTheTargetCannotHold) {
  Tree abstract = Tree::Dict();
  abstract.Set("big", Tree::Spec(SpecOf(DType::kUInt8)));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> refused = LoadTree(kDir, abstract, options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("element (1,) is 300"));
  options.saturate_casts = true;
  absl::StatusOr<Tree> clamped = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(clamped.ok()) << clamped.status();
  EXPECT_THAT(Values<uint8_t>(*clamped->Find("big")), ElementsAre(1, 255, 0));
}

INSTANTIATE_TEST_SUITE_P(Formats, StoredTreeConformanceTest,
                         ::testing::Values(Cairn(), OrbaxPerArray()),
                         [](const ::testing::TestParamInfo<Format>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cairn
