// Loading with an abstract tree: specs, casts, type-only and as-saved leaves, placeholders,
// concrete targets, destinations, padding and truncation, regions, partial loads, and the
// errors for trees that do not fit.
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;
using testing::Iota;
using testing::SampleTree;
using testing::SpecOf;
using testing::TempDir;
using testing::TreesEqual;
using testing::Values;

class AbstractLoadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tree tree = Tree::Dict();
    tree.Set("a", Tree::FromArray(Iota<int32_t>({16})));
    tree.Set("b", Tree::FromArray(Iota<int32_t>({16})));
    tree.Set("m", Tree::FromArray(Iota<float>({6, 5})));
    tree.Set("scalar", Tree::FromArray(Array::FromValues<int32_t>({12}, {})));
    tree.Set("x", Tree::Double(13.5));
    tree.Set("n", Tree::Int(7));
    Tree& nested = tree.Set("nested", Tree::Dict());
    nested.Set("k", Tree::FromArray(Iota<float>({4})));
    nested.Set("l", Tree::List());
    nested.FindMutable("l")->Append(Tree::Int(1));
    saved_ = tree;
    dir_ = tmp_.Join("ckpt");
    StoreSaveOptions options;
    options.chunk_bytes = 20;  // several chunks per array, so regions cross chunk boundaries
    ASSERT_TRUE(SaveTree(dir_, saved_, options).ok());
  }

  // The saved tree with every leaf as saved except the ones set in `overrides`.
  Tree AbstractWith(const std::vector<std::pair<std::string, Tree>>& overrides) {
    Tree abstract = Tree::Dict();
    for (const std::string& key : saved_.keys()) abstract.Set(key, Tree::AsSaved());
    for (const auto& [key, value] : overrides) abstract.Set(key, value);
    return abstract;
  }

  TempDir tmp_;
  std::string dir_;
  Tree saved_;
};

TEST_F(AbstractLoadTest, FullySpecifiedLeafCastsDType) {
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_, AbstractWith({{"a", Tree::Spec(SpecOf(DType::kInt16, {16}))}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  const Tree& a = *loaded->Find("a");
  ASSERT_EQ(a.array().dtype(), DType::kInt16);
  EXPECT_EQ(Values<int16_t>(a)[15], 15);
}

TEST_F(AbstractLoadTest, DTypeOnlySpecKeepsStoredShape) {
  ArraySpec spec;
  spec.dtype = DType::kFloat64;
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("m")->array().shape(), (Shape{6, 5}));
  EXPECT_EQ(Values<double>(*loaded->Find("m"))[29], 29.0);
}

TEST_F(AbstractLoadTest, TypeOnlyLeavesConvertScalars) {
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_, AbstractWith({{"scalar", Tree::TypeOnly(LeafType::kDouble)},
                                   {"x", Tree::TypeOnly(LeafType::kInt)},
                                   {"n", Tree::TypeOnly(LeafType::kDouble)},
                                   {"a", Tree::TypeOnly(LeafType::kArray)}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("scalar")->double_value(), 12.0);
  EXPECT_EQ(loaded->Find("x")->int_value(), 13);
  EXPECT_EQ(loaded->Find("n")->double_value(), 7.0);
  EXPECT_EQ(loaded->Find("a")->array().dtype(), DType::kInt32);
}

TEST_F(AbstractLoadTest, ScalarRequestedAsArrayIsZeroDimensional) {
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_, AbstractWith({{"n", Tree::Spec(SpecOf(DType::kFloat32, {}))}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("n")->array().rank(), 0);
  EXPECT_EQ(Values<float>(*loaded->Find("n"))[0], 7.0f);
}

TEST_F(AbstractLoadTest, WholeTreeAsSaved) {
  absl::StatusOr<Tree> loaded = LoadTree(dir_, Tree::AsSaved());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, saved_));
}

TEST_F(AbstractLoadTest, PlaceholdersSkipLeavesAndSubtrees) {
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_, AbstractWith({{"a", Tree::Placeholder()}, {"nested", Tree::Placeholder()}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("a")->kind(), Tree::Kind::kPlaceholder);
  EXPECT_EQ(loaded->Find("nested")->kind(), Tree::Kind::kPlaceholder);
  EXPECT_EQ(loaded->Find("b")->kind(), Tree::Kind::kArray);
}

TEST(AbstractLoad, PlaceholderBytesAreNeverRead) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("kept", Tree::FromArray(Iota<float>({8})));
  tree.Set("skipped", Tree::FromArray(Iota<float>({8})));
  StoreSaveOptions options;
  options.layout = StoreLayout::kPerLeaf;
  ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), tree, options).ok());
  // The second leaf's data file is l1.p0.dat; without it, only a load that skips it can work.
  ASSERT_EQ(std::remove(tmp.Join("ckpt/_cairn_data/l1.p0.dat").c_str()), 0);
  Tree abstract = Tree::Dict();
  abstract.Set("kept", Tree::AsSaved());
  abstract.Set("skipped", Tree::Placeholder());
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), abstract);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Values<float>(*loaded->Find("kept"))[7], 7.0f);
  EXPECT_FALSE(LoadTree(tmp.Join("ckpt")).ok());
}

TEST_F(AbstractLoadTest, ConcreteTargetBuffersReceiveTheData) {
  std::vector<int32_t> buffer(16, -1);
  Tree target = AbstractWith(
      {{"a", Tree::FromArray(Array::BorrowMutable(DType::kInt32, {16}, buffer.data()))}});
  absl::StatusOr<Tree> loaded = LoadTree(dir_, target);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(buffer[9], 9);
  EXPECT_EQ(loaded->Find("a")->array().data(), buffer.data());
}

TEST_F(AbstractLoadTest, ReadOnlyConcreteTargetGetsFreshMemory) {
  std::vector<int32_t> buffer(16, -1);
  Tree target =
      AbstractWith({{"a", Tree::FromArray(Array::Borrow(DType::kInt32, {16}, buffer.data()))}});
  absl::StatusOr<Tree> loaded = LoadTree(dir_, target);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(buffer[9], -1);
  EXPECT_EQ(Values<int32_t>(*loaded->Find("a"))[9], 9);
}

TEST_F(AbstractLoadTest, SpecDestinationWithCast) {
  std::vector<double> buffer(30);
  ArraySpec spec;
  spec.destination = Array::BorrowMutable(DType::kFloat64, {6, 5}, buffer.data());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(buffer[17], 17.0);
}

TEST_F(AbstractLoadTest, DestinationMustMatchTheSpec) {
  std::vector<double> buffer(30);
  ArraySpec spec = SpecOf(DType::kFloat32, {6, 5});
  spec.destination = Array::BorrowMutable(DType::kFloat64, {6, 5}, buffer.data());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("destination for m"));
}

TEST_F(AbstractLoadTest, ShapeMismatchIsAnErrorThatSaysWhatToDo) {
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_, AbstractWith({{"b", Tree::Spec(SpecOf(DType::kInt32, {32}))}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("requested shape (32,) is not compatible with the stored shape (16,) at "
                        "b; enable padding and truncation to allow it"));
}

TEST_F(AbstractLoadTest, PaddingAndTruncation) {
  StoreLoadOptions options;
  options.enable_padding_and_truncation = true;
  absl::StatusOr<Tree> loaded =
      LoadTree(dir_,
               AbstractWith({{"a", Tree::Spec(SpecOf(DType::kInt32, {8}))},
                             {"b", Tree::Spec(SpecOf(DType::kInt32, {32}))},
                             {"m", Tree::Spec(SpecOf(DType::kFloat32, {8, 3}))}}),
               options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Values<int32_t>(*loaded->Find("a")), (std::vector<int32_t>{0, 1, 2, 3, 4, 5, 6, 7}));
  std::vector<int32_t> b = Values<int32_t>(*loaded->Find("b"));
  EXPECT_EQ(b[15], 15);
  EXPECT_EQ(b[16], 0);
  EXPECT_EQ(b[31], 0);
  std::vector<float> m = Values<float>(*loaded->Find("m"));
  EXPECT_EQ(m[0 * 3 + 2], 2.0f);   // row 0, col 2
  EXPECT_EQ(m[5 * 3 + 1], 26.0f);  // row 5, col 1 = 5 * 5 + 1
  EXPECT_EQ(m[6 * 3 + 0], 0.0f);   // padded rows
}

TEST_F(AbstractLoadTest, RegionReadsASubBoxAcrossChunks) {
  ArraySpec spec = SpecOf(DType::kFloat32, {3, 2});
  spec.origin = Shape{2, 1};
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Values<float>(*loaded->Find("m")), (std::vector<float>{11, 12, 16, 17, 21, 22}));
}

TEST_F(AbstractLoadTest, RegionOutsideTheArrayNeedsPadding) {
  ArraySpec spec = SpecOf(DType::kFloat32, {3, 2});
  spec.origin = Shape{5, 4};
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("lies outside the stored shape (6, 5) at m"));
  StoreLoadOptions options;
  options.enable_padding_and_truncation = true;
  loaded = LoadTree(dir_, AbstractWith({{"m", Tree::Spec(spec)}}), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(Values<float>(*loaded->Find("m")), (std::vector<float>{29, 0, 0, 0, 0, 0}));
}

TEST_F(AbstractLoadTest, MissingKeyInCheckpointNamesThePath) {
  Tree nested = Tree::Dict();
  nested.Set("k", Tree::AsSaved());
  nested.Set("l", Tree::AsSaved());
  nested.Set("ghost", Tree::AsSaved());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"nested", nested}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("nested.ghost"));
}

TEST_F(AbstractLoadTest, KeyMissingFromAbstractTreeIsAMismatchUnlessPartial) {
  Tree nested = Tree::Dict();
  nested.Set("k", Tree::AsSaved());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"nested", nested}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("structure mismatch at nested.l"));
  StoreLoadOptions options;
  options.partial = true;
  loaded = LoadTree(dir_, AbstractWith({{"nested", nested}}), options);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->Find("nested")->keys(), std::vector<std::string>{"k"});
}

TEST_F(AbstractLoadTest, KindMismatchNamesThePath) {
  Tree nested = Tree::Dict();
  nested.Set("k", Tree::AsSaved());
  nested.Set("l", Tree::Tuple());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"nested", nested}}));
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              HasSubstr("structure mismatch at nested.l: the abstract tree expects a tuple, the "
                        "checkpoint has list"));
}

TEST_F(AbstractLoadTest, SequenceLengthMismatch) {
  Tree nested = Tree::Dict();
  nested.Set("k", Tree::AsSaved());
  nested.Set("l", Tree::List());
  absl::StatusOr<Tree> loaded = LoadTree(dir_, AbstractWith({{"nested", nested}}));
  EXPECT_THAT(loaded.status().message(), HasSubstr("nested.l: the abstract tree has 0 elements"));
}

TEST_F(AbstractLoadTest, ComplexToRealCastIsRefused) {
  TempDir tmp;
  Tree tree = Tree::Dict();
  tree.Set("c", Tree::FromArray(Array::Allocate(DType::kComplex64, {2}).value()));
  ASSERT_TRUE(SaveTree(tmp.Join("c"), tree).ok());
  Tree abstract = Tree::Dict();
  abstract.Set("c", Tree::Spec(SpecOf(DType::kFloat32, {2})));
  absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("c"), abstract);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("loading c"));
}

TEST_F(AbstractLoadTest, MetadataTreeWorksAsTheAbstractTree) {
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir_);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  absl::StatusOr<Tree> loaded = LoadTree(dir_, metadata->tree);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(TreesEqual(*loaded, saved_));
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Abstract keys in another order than the stored ones, few and many (the two ways a dict's keys
// are looked up), and in the stored order but for one swapped pair: each finds its own array.
TEST(PyTreeStoreAbstractLoad, KeysInAnyOrderFindTheirArrays) {
  for (const int n : {3, 40}) {
    testing::TempDir tmp;
    Tree saved = Tree::Dict();
    for (int i = 0; i < n; ++i) {
      saved.Set(absl::StrCat("k", i), Tree::FromArray(Array::FromValues<int32_t>({i, -i})));
    }
    ASSERT_TRUE(SaveTree(tmp.Join("ckpt"), saved).ok());
    for (const bool reversed : {true, false}) {
      std::vector<int> order;
      for (int i = 0; i < n; ++i) order.push_back(reversed ? n - 1 - i : i);
      if (!reversed) std::swap(order[0], order[n - 1]);
      Tree abstract = Tree::Dict();
      for (int i : order) abstract.Set(absl::StrCat("k", i), Tree::AsSaved());
      absl::StatusOr<Tree> loaded = LoadTree(tmp.Join("ckpt"), abstract, StoreLoadOptions());
      ASSERT_TRUE(loaded.ok()) << loaded.status();
      for (int i = 0; i < n; ++i) {
        EXPECT_TRUE(loaded->Find(absl::StrCat("k", i))
                        ->array()
                        .ContentEquals(Array::FromValues<int32_t>({i, -i})))
            << n << " keys, key k" << i;
      }
      EXPECT_EQ(loaded->keys()[0], absl::StrCat("k", order[0]));
    }
  }
}

}  // namespace
}  // namespace cairn
