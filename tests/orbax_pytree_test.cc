// Orbax pytrees through cairn's store API (LoadTree, ReadTreeMetadata): the tree that _METADATA
// describes (nested dicts and lists, scalars, strings, empty containers, skipped leaves), every
// abstract-tree feature on Orbax's arrays, and the checks that a _METADATA disagreeing with its
// arrays fails clearly.
#include <cstdint>
#include <string>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/access_recording_filesystem.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using orbax_test::I;
using orbax_test::K;
using orbax_test::OrbaxPyTreeWriter;
using testing::AccessRecordingFilesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Iota;
using testing::SpecOf;
using testing::Values;

constexpr char kDir[] = "/ckpt/state";

class OrbaxPyTreeTest : public ::testing::Test {
 protected:
  void Write(const OrbaxPyTreeWriter& writer) { ASSERT_TRUE(writer.Write(memory_, kDir).ok()); }

  StoreLoadOptions Options() {
    StoreLoadOptions options;
    options.filesystem = &fs_;
    return options;
  }

  // params.w: float32 (5, 3) in (2, 2) chunks; opt: [int32 scalar, {mu: float64 (4,)}];
  // name: a string; empty: {}; nothing: None; step: a scalar.
  OrbaxPyTreeWriter TrainingLike() {
    OrbaxPyTreeWriter writer;
    writer.AddArray({K("params"), K("w")}, Iota<float>({5, 3}), {2, 2});
    writer.AddArray({K("opt"), I(0)}, Array::FromValues<int32_t>({7}, {}), {}, "scalar");
    writer.AddArray({K("opt"), I(1), K("mu")}, Iota<double>({4}), {3}, "np.ndarray");
    writer.AddString({K("name")}, "run-7");
    writer.AddEmpty({K("empty")}, "Dict");
    writer.AddEmpty({K("nothing")}, "None");
    writer.AddArray({K("step")}, Array::FromValues<double>({0.5}, {}), {}, "scalar");
    return writer;
  }

  MemoryFilesystem memory_;
  AccessRecordingFilesystem fs_{&memory_};
};

TEST_F(OrbaxPyTreeTest, LoadsTheTreeAsSaved) {
  Write(TrainingLike());
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(tree->keys(), ElementsAre("empty", "name", "nothing", "opt", "params", "step"));
  const Tree& w = *tree->Find("params")->Find("w");
  ASSERT_EQ(w.kind(), Tree::Kind::kArray);
  EXPECT_TRUE(w.array().ContentEquals(Iota<float>({5, 3})));
  const Tree& opt = *tree->Find("opt");
  ASSERT_EQ(opt.kind(), Tree::Kind::kList);
  ASSERT_EQ(opt.size(), 2u);
  ASSERT_EQ(opt[0].kind(), Tree::Kind::kInt);
  EXPECT_EQ(opt[0].int_value(), 7);
  EXPECT_THAT(Values<double>(*opt[1].Find("mu")), ElementsAre(0, 1, 2, 3));
  EXPECT_EQ(tree->Find("name")->string_value(), "run-7");
  EXPECT_EQ(tree->Find("empty")->kind(), Tree::Kind::kDict);
  EXPECT_EQ(tree->Find("empty")->size(), 0u);
  EXPECT_EQ(tree->Find("nothing")->kind(), Tree::Kind::kNone);
  ASSERT_EQ(tree->Find("step")->kind(), Tree::Kind::kDouble);
  EXPECT_EQ(tree->Find("step")->double_value(), 0.5);
}

TEST_F(OrbaxPyTreeTest, MetadataDescribesArraysAndScalars) {
  Write(TrainingLike());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, Options());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  const Tree& w = *metadata->tree.Find("params")->Find("w");
  ASSERT_EQ(w.kind(), Tree::Kind::kArraySpec);
  EXPECT_EQ(w.spec().dtype, DType::kFloat32);
  EXPECT_EQ(w.spec().shape, Shape({5, 3}));
  EXPECT_EQ(w.spec().storage->chunk_shape, Shape({2, 2}));
  const Tree& scalar = (*metadata->tree.Find("opt"))[0];
  ASSERT_EQ(scalar.kind(), Tree::Kind::kTypeOnly);
  EXPECT_EQ(scalar.type_only(), LeafType::kInt);
  EXPECT_EQ(metadata->layout, StoreLayout::kPerLeaf);
  // No chunk of any array was read.
  EXPECT_FALSE(fs_.Opened("/ckpt/state/params.w/0.0"));
  EXPECT_FALSE(fs_.Opened("/ckpt/state/opt.1.mu/0"));
}

TEST_F(OrbaxPyTreeTest, RegionReadsOnlyTheChunksItOverlaps) {
  Write(TrainingLike());
  ArraySpec spec = SpecOf(DType::kFloat64, Shape{2, 1});
  spec.origin = Shape{2, 2};
  Tree abstract = Tree::Dict();
  abstract.Set("params", Tree::Dict()).Set("w", Tree::Spec(spec));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(Values<double>(*tree->Find("params")->Find("w")), ElementsAre(8, 11));
  EXPECT_TRUE(fs_.Opened("/ckpt/state/params.w/1.1"));
  EXPECT_FALSE(fs_.Opened("/ckpt/state/params.w/0.0"));
  EXPECT_FALSE(fs_.Opened("/ckpt/state/params.w/2.1"));
  EXPECT_FALSE(fs_.Opened("/ckpt/state/opt.1.mu/0"));
}

TEST_F(OrbaxPyTreeTest, PlaceholdersAreNeverRead) {
  Write(TrainingLike());
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, Options());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  Tree abstract = metadata->tree;
  *abstract.FindMutable("params") = Tree::Placeholder();
  fs_.ForgetOpened();
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->Find("params")->kind(), Tree::Kind::kPlaceholder);
  EXPECT_FALSE(fs_.Opened("/ckpt/state/params.w/0.0"));
  EXPECT_FALSE(fs_.Opened("/ckpt/state/params.w/.zarray"));
}

TEST_F(OrbaxPyTreeTest, PadsAndTruncatesWhenAllowed) {
  Write(TrainingLike());
  Tree abstract = Tree::Dict();
  abstract.Set("opt", Tree::List()).Append(Tree::Placeholder());
  abstract.FindMutable("opt")
      ->Append(Tree::Dict())
      .Set("mu", Tree::Spec(SpecOf(DType::kFloat64, {6})));
  StoreLoadOptions options = Options();
  options.partial = true;
  EXPECT_FALSE(LoadTree(kDir, abstract, options).ok());
  options.enable_padding_and_truncation = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(Values<double>(*(*tree->Find("opt"))[1].Find("mu")), ElementsAre(0, 1, 2, 3, 0, 0));
}

TEST_F(OrbaxPyTreeTest, LoadsIntoACallerBuffer) {
  Write(TrainingLike());
  std::vector<int16_t> buffer(15, -1);
  Array destination = Array::BorrowMutable(DType::kInt16, {5, 3}, buffer.data());
  Tree abstract = Tree::Dict();
  abstract.Set("params", Tree::Dict()).Set("w", Tree::FromArray(destination));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(buffer[14], 14);
  EXPECT_EQ(buffer[0], 0);
}

TEST_F(OrbaxPyTreeTest, ScalarLoadsAsAnArrayWhenAskedFor) {
  Write(TrainingLike());
  Tree abstract = Tree::Dict();
  abstract.Set("step", Tree::Spec(SpecOf(DType::kFloat32, Shape{})));
  StoreLoadOptions options = Options();
  options.partial = true;
  absl::StatusOr<Tree> tree = LoadTree(kDir, abstract, options);
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(Values<float>(*tree->Find("step")), ElementsAre(0.5f));
}

TEST_F(OrbaxPyTreeTest, MissingChunkIsFillValueOnlyWhenOrbaxSaysSo) {
  OrbaxPyTreeWriter writer;
  std::vector<float> values(8, 0.0f);
  values[6] = 3.0f;
  writer.AddArray({K("sparse")}, Array::FromValues<float>(values, {8}), {2});
  writer.OmitZeroChunks();
  writer.set_store_array_data_equal_to_fill_value(false);
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_THAT(Values<float>(*tree->Find("sparse")), ElementsAre(0, 0, 0, 0, 0, 0, 3, 0));

  writer.set_store_array_data_equal_to_fill_value(true);
  memory_.DeleteFile("/ckpt/state/_METADATA").IgnoreError();
  ASSERT_TRUE(writer.Write(memory_, kDir).ok());
  absl::StatusOr<Tree> strict = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(strict.ok());
  EXPECT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(strict.status().message(), HasSubstr("sparse"));
}

TEST_F(OrbaxPyTreeTest, SkippedLeafLoadsAsNoneUnread) {
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("kept")}, Iota<int32_t>({3}));
  writer.AddArray({K("skipped")}, Iota<int32_t>({3}));
  writer.SkipLast();
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->Find("skipped")->kind(), Tree::Kind::kNone);
  EXPECT_FALSE(fs_.Opened("/ckpt/state/skipped/.zarray"));
}

TEST_F(OrbaxPyTreeTest, SkippedEmptyContainerLoadsAsItself) {
  // Orbax records every empty container with skip_deserialize set, and restores it as itself.
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("kept")}, Iota<int32_t>({3}));
  writer.AddEmpty({K("opt")}, "Dict");
  writer.SkipLast();
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_TRUE(tree.ok()) << tree.status();
  EXPECT_EQ(tree->Find("opt")->kind(), Tree::Kind::kDict);
}

TEST_F(OrbaxPyTreeTest, CustomTypeIsUnimplementedUnlessSkipped) {
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("a")}, Iota<int32_t>({3}));
  writer.AddEmpty({K("custom")}, "my_project.RngState");
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(tree.status().message(), HasSubstr("my_project.RngState"));
  Tree abstract = Tree::Dict();
  abstract.Set("a", Tree::AsSaved());
  abstract.Set("custom", Tree::Placeholder());
  EXPECT_TRUE(LoadTree(kDir, abstract, Options()).ok());
}

TEST_F(OrbaxPyTreeTest, ArrayListedButAbsentIsDataLoss) {
  Write(TrainingLike());
  ASSERT_TRUE(memory_.DeleteFile("/ckpt/state/params.w/.zarray").ok());
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tree.status().message(), HasSubstr("params.w"));
  // The metadata still reads, with that leaf as an array of unknown shape.
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, Options());
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->tree.Find("params")->Find("w")->kind(), Tree::Kind::kTypeOnly);
}

TEST_F(OrbaxPyTreeTest, ScalarWithAShapeIsDataLoss) {
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("s")}, Iota<int32_t>({2}), {}, "scalar");
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tree.status().message(), HasSubstr("is a scalar"));
}

TEST_F(OrbaxPyTreeTest, SequenceWithAGapIsDataLoss) {
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("l"), I(0)}, Iota<int32_t>({2}));
  writer.AddArray({K("l"), I(2)}, Iota<int32_t>({2}));
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tree.status().message(), HasSubstr("no leaf at index 1"));
}

TEST_F(OrbaxPyTreeTest, LeafThatIsAlsoAContainerIsDataLoss) {
  OrbaxPyTreeWriter writer;
  writer.AddArray({K("a")}, Iota<int32_t>({2}));
  writer.AddArray({K("a"), K("b")}, Iota<int32_t>({2}));
  Write(writer);
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tree.status().message(), HasSubstr("both a leaf and a container"));
}

TEST_F(OrbaxPyTreeTest, StringMissingFromItsFileIsDataLoss) {
  OrbaxPyTreeWriter writer;
  writer.AddString({K("name")}, "x");
  Write(writer);
  ASSERT_TRUE(
      WriteStringToFile(memory_, "/ckpt/state/_strings.json", "{\"other\": \"y\"}", false).ok());
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(tree.status().message(), HasSubstr("_strings.json"));
}

TEST_F(OrbaxPyTreeTest, MsgpackCheckpointIsRefusedByName) {
  ASSERT_TRUE(CreateDirs(memory_, kDir).ok());
  ASSERT_TRUE(WriteStringToFile(memory_, "/ckpt/state/checkpoint", "\x81\xa1a\x01", false).ok());
  absl::StatusOr<Tree> tree = LoadTree(kDir, Tree::AsSaved(), Options());
  ASSERT_FALSE(tree.ok());
  EXPECT_EQ(tree.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(tree.status().message(), HasSubstr("msgpack 'checkpoint' file"));
}

TEST_F(OrbaxPyTreeTest, ReadingChangesNothing) {
  Write(TrainingLike());
  ASSERT_TRUE(LoadTree(kDir, Tree::AsSaved(), Options()).ok());
  ASSERT_TRUE(ReadTreeMetadata(kDir, Options()).ok());
  ASSERT_TRUE(HoldsTree(kDir, &fs_).ok());
  EXPECT_EQ(fs_.mutations(), 0);
}

}  // namespace
}  // namespace cairn
