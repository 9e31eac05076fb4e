// Exports to safetensors and imports back: every dtype, 0-d and empty arrays, nested trees,
// scalars and metadata, each exported file checked by an independent reader against the format.
#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"
#include "cairn/storage/safetensors/safetensors_reader.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/orbax_pytree_writer.h"
#include "tests/support/safetensors_reference.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ReadReferenceSafetensorsFile;
using testing::ReferenceFile;
using testing::TempDir;

constexpr DType kEveryMappedDType[] = {
    DType::kBool,    DType::kInt8,      DType::kInt16,        DType::kInt32,
    DType::kInt64,   DType::kUInt8,     DType::kUInt16,       DType::kUInt32,
    DType::kUInt64,  DType::kFloat16,   DType::kBFloat16,     DType::kFloat32,
    DType::kFloat64, DType::kComplex64, DType::kFloat8E4M3FN, DType::kFloat8E5M2,
};

ReferenceFile ReadChecked(const std::string& path) {
  ReferenceFile file;
  std::string error;
  EXPECT_TRUE(ReadReferenceSafetensorsFile(path, &file, &error)) << error;
  return file;
}

// `tree` with every dict's keys in byte order: an import's order, since a safetensors header is a
// JSON object, whose keys have none.
Tree Sorted(const Tree& tree) {
  if (tree.kind() != Tree::Kind::kDict) return tree;
  std::vector<std::string> keys = tree.keys();
  std::sort(keys.begin(), keys.end());
  std::vector<Tree> values;
  for (const std::string& key : keys) values.push_back(Sorted(*tree.Find(key)));
  return Tree::DictFrom(keys, std::move(values)).value();
}

std::string BytesOf(const Array& array) {
  return std::string(static_cast<const char*>(array.data()), array.byte_size());
}

// Bools must be 0 or 1 to round trip as bools.
Array ArrayOf(DType dtype, Shape shape, uint64_t seed) {
  if (dtype != DType::kBool) return testing::RandomBytes(dtype, shape, seed);
  Array array = Array::Allocate(DType::kBool, shape).value();
  bool* out = static_cast<bool*>(array.mutable_data());
  for (uint64_t i = 0; i < array.num_elements(); ++i) out[i] = (i + seed) % 3 == 0;
  return array;
}

TEST(SafetensorsRoundTripTest, EveryDTypeRoundTripsByteForByte) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  uint64_t seed = 1;
  for (DType dtype : kEveryMappedDType) {
    tree.Set(std::string(DTypeName(dtype)), Tree::FromArray(ArrayOf(dtype, {3, 5}, seed++)));
  }
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(testing::TreesEqual(*back, Sorted(tree)));
}

TEST(SafetensorsRoundTripTest, ExportedFileFollowsTheFormat) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  uint64_t seed = 7;
  for (DType dtype : kEveryMappedDType) {
    // Odd element counts put small dtypes at odd offsets unless the writer orders them.
    tree.Set(std::string(DTypeName(dtype)), Tree::FromArray(ArrayOf(dtype, {3}, seed++)));
  }
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  ASSERT_EQ(file.tensors.size(), std::size(kEveryMappedDType));
  EXPECT_EQ(file.tensors.at("float32").dtype, "F32");
  EXPECT_EQ(file.tensors.at("bfloat16").dtype, "BF16");
  EXPECT_EQ(file.tensors.at("float8_e4m3fn").dtype, "F8_E4M3");
  EXPECT_EQ(file.tensors.at("complex64").dtype, "C64");
  EXPECT_EQ(file.tensors.at("bool").dtype, "BOOL");
  for (const auto& [name, tensor] : file.tensors) {
    EXPECT_THAT(tensor.shape, ElementsAre(3u)) << name;
    EXPECT_EQ(tensor.bytes, BytesOf(tree.Find(name)->array())) << name;
  }
}

TEST(SafetensorsRoundTripTest, ZeroDimensionalAndEmptyArraysRoundTrip) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("scalar", Tree::FromArray(Array::FromValues<float>({2.5f}, Shape{})));
  tree.Set("empty", Tree::FromArray(Array::Allocate(DType::kInt32, {0}).value()));
  tree.Set("empty2d", Tree::FromArray(Array::Allocate(DType::kFloat64, {4, 0}).value()));
  tree.Set("w", Tree::FromArray(testing::Iota<float>({2, 2})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_TRUE(file.tensors.at("scalar").shape.empty());
  EXPECT_THAT(file.tensors.at("empty2d").shape, ElementsAre(4u, 0u));
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(testing::TreesEqual(*back, Sorted(tree)));
}

TEST(SafetensorsRoundTripTest, NestedDictsSplitBackIntoTheSameTree) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  Tree& params = tree.Set("params", Tree::Dict());
  params.Set("dense", Tree::Dict()).Set("kernel", Tree::FromArray(testing::Iota<float>({4, 3})));
  params.Set("dense2", Tree::Dict()).Set("bias", Tree::FromArray(testing::Iota<int64_t>({3})));
  tree.Set("step_count", Tree::FromArray(testing::Iota<uint32_t>({1})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_EQ(file.tensors.count("params.dense.kernel"), 1u);
  EXPECT_EQ(file.tensors.count("params.dense2.bias"), 1u);
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(testing::TreesEqual(*back, Sorted(tree)));
}

TEST(SafetensorsRoundTripTest, ListIndicesAreSpelledInDecimalAndComeBackAsDictKeys) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  Tree& layers = tree.Set("layers", Tree::List());
  for (int i = 0; i < 12; ++i) layers.Append(Tree::FromArray(testing::Iota<float>({2})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_EQ(file.tensors.count("layers.0"), 1u);
  EXPECT_EQ(file.tensors.count("layers.11"), 1u);
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  const Tree* imported = back->Find("layers");
  ASSERT_NE(imported, nullptr);
  EXPECT_EQ(imported->kind(), Tree::Kind::kDict);
  ASSERT_NE(imported->Find("11"), nullptr);
  EXPECT_EQ(testing::Values<float>(*imported->Find("11")), std::vector<float>({0, 1}));
}

TEST(SafetensorsRoundTripTest, ScalarsBecomeZeroDimensionalTensors) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("step", Tree::Int(-42));
  tree.Set("lr", Tree::Double(0.125));
  tree.Set("done", Tree::Bool(true));
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_EQ(file.tensors.at("step").dtype, "I64");
  EXPECT_TRUE(file.tensors.at("step").shape.empty());
  EXPECT_EQ(file.tensors.at("lr").dtype, "F64");
  EXPECT_EQ(file.tensors.at("done").dtype, "BOOL");
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(testing::Values<int64_t>(*back->Find("step")), std::vector<int64_t>({-42}));
  EXPECT_EQ(testing::Values<double>(*back->Find("lr")), std::vector<double>({0.125}));
  EXPECT_EQ(testing::Values<bool>(*back->Find("done")), std::vector<bool>({true}));
}

TEST(SafetensorsRoundTripTest, NoneAndEmptyContainersAreLeftOut) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("nothing", Tree::None());
  tree.Set("empty", Tree::Dict());
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  ASSERT_EQ(file.tensors.size(), 1u);
  EXPECT_EQ(file.tensors.count("w"), 1u);
}

TEST(SafetensorsRoundTripTest, CustomMetadataTravelsBothWays) {
  TempDir tmp;
  CheckpointOptions options;
  options.custom_metadata = {{"model", "tiny"}, {"layers", 2}};
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree, options).ok());
  SafetensorsExportOptions export_options;
  export_options.metadata = {{"format", "pt"}};
  ASSERT_TRUE(
      ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"), export_options).ok());
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_EQ(file.metadata.at("model"), "tiny");
  EXPECT_EQ(file.metadata.at("layers"), "2");
  EXPECT_EQ(file.metadata.at("format"), "pt");
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back")).ok());
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(tmp.Join("back"));
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->custom_metadata,
            nlohmann::json({{"model", "tiny"}, {"layers", "2"}, {"format", "pt"}}));
}

TEST(SafetensorsRoundTripTest, ExportsANamedCheckpointableAndATreeDirectory) {
  TempDir tmp;
  Tree a = Tree::Dict();
  a.Set("x", Tree::FromArray(testing::Iota<int32_t>({2})));
  Tree b = Tree::Dict();
  b.Set("y", Tree::FromArray(testing::Iota<int16_t>({5})));
  ASSERT_TRUE(SaveCheckpointables(tmp.Join("ckpt"), {{"a", a}, {"b", b}}).ok());
  SafetensorsExportOptions options;
  options.name = CheckpointableName::Named("b");
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("b.safetensors"), options).ok());
  EXPECT_EQ(ReadChecked(tmp.Join("b.safetensors")).tensors.count("y"), 1u);

  ASSERT_TRUE(SaveTree(tmp.Join("tree"), a).ok());
  absl::Status status = ExportSafetensors(tmp.Join("tree"), tmp.Join("a.safetensors"));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(ReadChecked(tmp.Join("a.safetensors")).tensors.count("x"), 1u);
}

TEST(SafetensorsRoundTripTest, ExportsAnOrbaxPyTree) {
  TempDir tmp;
  orbax_test::OrbaxPyTreeWriter writer;
  const Array kernel = testing::RandomBytes(DType::kFloat32, {6, 4}, 3);
  const Array bias = testing::Iota<int32_t>({4});
  writer.AddArray({orbax_test::K("params"), orbax_test::K("kernel")}, kernel, {2, 4});
  writer.AddArray({orbax_test::K("layers"), orbax_test::I(0), orbax_test::K("b")}, bias);
  ASSERT_TRUE(writer.Write(*Filesystem::Default(), tmp.Join("orbax")).ok());
  absl::Status status = ExportSafetensors(tmp.Join("orbax"), tmp.Join("out.safetensors"));
  ASSERT_TRUE(status.ok()) << status;
  const ReferenceFile file = ReadChecked(tmp.Join("out.safetensors"));
  EXPECT_EQ(file.tensors.at("params.kernel").bytes, BytesOf(kernel));
  EXPECT_EQ(file.tensors.at("layers.0.b").bytes, BytesOf(bias));
  EXPECT_EQ(file.tensors.at("layers.0.b").dtype, "I32");
}

TEST(SafetensorsRoundTripTest, ImportWithoutNestingKeepsNamesAsFlatKeys) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("a", Tree::Dict()).Set("b", Tree::FromArray(testing::Iota<float>({2})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  SafetensorsImportOptions options;
  options.nest = false;
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back"), options).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_THAT(back->keys(), ElementsAre("a.b"));
}

TEST(SafetensorsRoundTripTest, ImportReadsTheSameWithoutAMap) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::RandomBytes(DType::kFloat32, {64, 3}, 5)));
  tree.Set("b", Tree::FromArray(ArrayOf(DType::kBool, {7}, 1)));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  SafetensorsImportOptions options;
  options.map = false;
  ASSERT_TRUE(ImportSafetensors(tmp.Join("out.safetensors"), tmp.Join("back"), options).ok());
  absl::StatusOr<Tree> back = Load(tmp.Join("back"));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(testing::TreesEqual(*back, Sorted(tree)));
}

TEST(SafetensorsRoundTripTest, StringLeavesAreRefusedNamingTheKey) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  tree.Set("meta", Tree::Dict()).Set("name", Tree::String("adam"));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  absl::Status status = ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("meta.name"));
  EXPECT_FALSE(std::filesystem::exists(tmp.Join("out.safetensors")));
}

TEST(SafetensorsRoundTripTest, DTypesWithoutAMappingAreRefusedNamingTheKey) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("z", Tree::FromArray(testing::RandomBytes(DType::kComplex128, {2}, 1)));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  absl::Status status = ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("z"));
  EXPECT_THAT(status.message(), HasSubstr("complex128"));
}

TEST(SafetensorsRoundTripTest, CollidingNamesAreRefused) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("a.b", Tree::FromArray(testing::Iota<float>({1})));
  tree.Set("a", Tree::Dict()).Set("b", Tree::FromArray(testing::Iota<float>({2})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  absl::Status status = ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("also the name of"));
}

TEST(SafetensorsRoundTripTest, TheReservedNameIsRefused) {
  TempDir tmp;
  Tree reserved = Tree::Dict();
  reserved.Set("__metadata__", Tree::FromArray(testing::Iota<float>({1})));
  ASSERT_TRUE(Save(tmp.Join("reserved"), reserved).ok());
  absl::Status status = ExportSafetensors(tmp.Join("reserved"), tmp.Join("r.safetensors"));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("reserved"));
}

TEST(SafetensorsRoundTripTest, AnExistingFileIsReplacedOnlyWithOverwrite) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).ok());
  EXPECT_EQ(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors")).code(),
            absl::StatusCode::kAlreadyExists);
  SafetensorsExportOptions options;
  options.overwrite = true;
  EXPECT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("out.safetensors"), options).ok());
}

TEST(SafetensorsRoundTripTest, ARelativeOutputPathIsWrittenInTheWorkingDirectory) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  const std::filesystem::path before = std::filesystem::current_path();
  std::filesystem::current_path(tmp.path());
  absl::Status exported = ExportSafetensors("ckpt", "relative.safetensors");
  absl::Status imported = ImportSafetensors("relative.safetensors", "back");
  std::filesystem::current_path(before);
  ASSERT_TRUE(exported.ok()) << exported;
  ASSERT_TRUE(imported.ok()) << imported;
  EXPECT_EQ(ReadChecked(tmp.Join("relative.safetensors")).tensors.count("w"), 1u);
}

TEST(SafetensorsRoundTripTest, LinksAboveTheFilesAreFollowedOnce) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  std::filesystem::create_directory(tmp.Join("real"));
  std::filesystem::create_directory_symlink(tmp.Join("real"), tmp.Join("link"));
  absl::Status exported = ExportSafetensors(tmp.Join("ckpt"), tmp.Join("link/m.safetensors"));
  ASSERT_TRUE(exported.ok()) << exported;
  EXPECT_TRUE(std::filesystem::is_regular_file(tmp.Join("real/m.safetensors")));
  absl::Status imported = ImportSafetensors(tmp.Join("link/m.safetensors"), tmp.Join("back"));
  EXPECT_TRUE(imported.ok()) << imported;
}

TEST(SafetensorsRoundTripTest, AnInputThatIsALinkIsRefused) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(testing::Iota<float>({3})));
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("m.safetensors")).ok());
  std::filesystem::create_symlink(tmp.Join("m.safetensors"), tmp.Join("l.safetensors"));
  EXPECT_FALSE(ImportSafetensors(tmp.Join("l.safetensors"), tmp.Join("back")).ok());
  EXPECT_FALSE(std::filesystem::exists(tmp.Join("back")));
}

TEST(SafetensorsRoundTripTest, SmallBatchesWriteTheSameFile) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  for (int i = 0; i < 20; ++i) {
    tree.Set(absl::StrCat("w", i), Tree::FromArray(testing::RandomBytes(
                                       i % 2 ? DType::kFloat32 : DType::kInt8, {33}, i)));
  }
  ASSERT_TRUE(Save(tmp.Join("ckpt"), tree).ok());
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("whole.safetensors")).ok());
  SafetensorsExportOptions options;
  options.batch_bytes = 40;
  SafetensorsExportStats stats;
  options.stats = &stats;
  ASSERT_TRUE(ExportSafetensors(tmp.Join("ckpt"), tmp.Join("small.safetensors"), options).ok());
  EXPECT_GT(stats.loads, 10u);
  EXPECT_EQ(stats.buffer_bytes, 33u * 4);
  std::string error;
  ReferenceFile whole = ReadChecked(tmp.Join("whole.safetensors"));
  ReferenceFile small = ReadChecked(tmp.Join("small.safetensors"));
  ASSERT_EQ(whole.tensors.size(), small.tensors.size());
  for (const auto& [name, tensor] : whole.tensors) {
    EXPECT_EQ(tensor.bytes, small.tensors.at(name).bytes) << name;
  }
}

}  // namespace
}  // namespace cairn
