// Casts into integer types on load and save: a value the target cannot hold (NaN, an infinity,
// one past the range) is refused the same way for arrays and scalars, unless the load opts in
// to saturation with StoreLoadOptions::saturate_casts.
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "cairn/storage/pytree_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::SpecOf;
using testing::TempDir;
using testing::Values;

constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

StoreLoadOptions Saturating() {
  StoreLoadOptions options;
  options.saturate_casts = true;
  return options;
}

class CastAgreementTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Tree tree = Tree::Dict();
    // One value of `w` no int32 can hold; the others truncate.
    tree.Set("w", Tree::FromArray(Array::FromValues<float>(
                      {1.5f, -2.75f, 3.0f, 0.0f, kNaN, 4.0f, 6.0f, 5.0f, 7.9f}, {3, 3})));
    tree.Set("extremes",
             Tree::FromArray(Array::FromValues<float>({1e20f, -kInf, kInf, kNaN, -3e9f}, {5})));
    tree.Set("counts", Tree::FromArray(Array::FromValues<int64_t>({4, -1, 300}, {3})));
    tree.Set("big", Tree::FromArray(Array::FromValues<uint64_t>({uint64_t{1} << 63}, {})));
    tree.Set("nan", Tree::Double(std::nan("")));
    tree.Set("huge", Tree::Double(1e19));
    tree.Set("n", Tree::Int(300));
    dir_ = tmp_.Join("ckpt");
    StoreSaveOptions options;
    options.chunk_bytes = 12;  // one row of `w` per chunk
    ASSERT_TRUE(SaveTree(dir_, tree, options).ok());
  }

  absl::StatusOr<Tree> LoadOne(const std::string& key, Tree abstract,
                               const StoreLoadOptions& options = StoreLoadOptions()) {
    StoreLoadOptions partial = options;
    partial.partial = true;
    Tree tree = Tree::Dict();
    tree.Set(key, std::move(abstract));
    absl::StatusOr<Tree> loaded = LoadTree(dir_, tree, partial);
    if (!loaded.ok()) return loaded.status();
    return *loaded->Find(key);
  }

  TempDir tmp_;
  std::string dir_;
};

TEST_F(CastAgreementTest, FloatArrayWithNaNIsRefusedAsInt) {
  absl::StatusOr<Tree> loaded = LoadOne("w", Tree::Spec(SpecOf(DType::kInt32)));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              AllOf(HasSubstr("load w as"), HasSubstr("element (1, 1) is nan"), HasSubstr("int32"),
                    HasSubstr("saturate_casts")));
}

TEST_F(CastAgreementTest, SaturatingLoadClampsArrayValues) {
  absl::StatusOr<Tree> loaded =
      LoadOne("extremes", Tree::Spec(SpecOf(DType::kInt32)), Saturating());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int32_t kMin = std::numeric_limits<int32_t>::min();
  EXPECT_THAT(Values<int32_t>(*loaded), ElementsAre(kMax, kMin, kMax, 0, kMin));
}

TEST_F(CastAgreementTest, FractionsTruncateTowardZeroWithoutSaturation) {
  ArraySpec spec = SpecOf(DType::kInt32, Shape{1, 3});
  spec.origin = Shape{2, 0};
  absl::StatusOr<Tree> loaded = LoadOne("w", Tree::Spec(spec));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(Values<int32_t>(*loaded), ElementsAre(6, 5, 7));
}

TEST_F(CastAgreementTest, RegionWithoutBadValuesLoads) {
  ArraySpec spec = SpecOf(DType::kInt32, Shape{1, 3});
  spec.origin = Shape{0, 0};
  absl::StatusOr<Tree> loaded = LoadOne("w", Tree::Spec(spec));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(Values<int32_t>(*loaded), ElementsAre(1, -2, 3));
}

TEST_F(CastAgreementTest, NegativeIntegerIsRefusedAsUnsigned) {
  absl::StatusOr<Tree> loaded = LoadOne("counts", Tree::Spec(SpecOf(DType::kUInt32)));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(), HasSubstr("element (1,) is -1"));
}

TEST_F(CastAgreementTest, NarrowingIntegerCastIsRefusedPastTheRange) {
  absl::StatusOr<Tree> loaded = LoadOne("counts", Tree::Spec(SpecOf(DType::kInt8)));
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("element (2,) is 300, which int8 cannot hold"));
}

TEST_F(CastAgreementTest, SaturatingNarrowingClampsIntegers) {
  absl::StatusOr<Tree> loaded = LoadOne("counts", Tree::Spec(SpecOf(DType::kUInt8)), Saturating());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(Values<uint8_t>(*loaded), ElementsAre(4, 0, 255));
}

TEST_F(CastAgreementTest, WideningIntegerCastLoads) {
  absl::StatusOr<Tree> loaded = LoadOne("counts", Tree::Spec(SpecOf(DType::kFloat32)));
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_THAT(Values<float>(*loaded), ElementsAre(4.0f, -1.0f, 300.0f));
}

TEST_F(CastAgreementTest, NaNScalarIsRefusedAsInt) {
  absl::StatusOr<Tree> loaded = LoadOne("nan", Tree::TypeOnly(LeafType::kInt));
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(loaded.status().message(),
              AllOf(HasSubstr("load nan as"), HasSubstr("saturate_casts")));
}

TEST_F(CastAgreementTest, SaturatingLoadClampsScalars) {
  absl::StatusOr<Tree> nan = LoadOne("nan", Tree::TypeOnly(LeafType::kInt), Saturating());
  ASSERT_TRUE(nan.ok()) << nan.status();
  EXPECT_EQ(nan->int_value(), 0);
  absl::StatusOr<Tree> huge = LoadOne("huge", Tree::TypeOnly(LeafType::kInt), Saturating());
  ASSERT_TRUE(huge.ok()) << huge.status();
  EXPECT_EQ(huge->int_value(), std::numeric_limits<int64_t>::max());
}

TEST_F(CastAgreementTest, IntScalarIsRefusedAsANarrowArray) {
  absl::StatusOr<Tree> loaded = LoadOne("n", Tree::Spec(SpecOf(DType::kInt8, Shape{})));
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("is 300, which int8 cannot hold"));
  absl::StatusOr<Tree> clamped =
      LoadOne("n", Tree::Spec(SpecOf(DType::kInt8, Shape{})), Saturating());
  ASSERT_TRUE(clamped.ok()) << clamped.status();
  EXPECT_THAT(Values<int8_t>(*clamped), ElementsAre(127));
}

TEST_F(CastAgreementTest, LargeUnsignedArrayIsRefusedAsAnIntScalar) {
  absl::StatusOr<Tree> loaded = LoadOne("big", Tree::TypeOnly(LeafType::kInt));
  ASSERT_FALSE(loaded.ok());
  EXPECT_THAT(loaded.status().message(), HasSubstr("9223372036854775808"));
}

TEST(CastAgreementSaveTest, SavingIntoANarrowerStoredTypeRefusesValuesItCannotHold) {
  TempDir tmp;
  const std::string dir = tmp.Join("ckpt");
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(Array::FromValues<float>({1.0f, 1000.0f}, {2})));
  StoreSaveOptions options;
  options.storage_options = [](const KeyPath&, const Array&) {
    ArrayStorageOptions storage;
    storage.dtype = DType::kInt8;
    return storage;
  };
  absl::Status saved = SaveTree(dir, tree, options);
  EXPECT_EQ(saved.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(saved.message(), HasSubstr("element (1,) is 1000, which int8 cannot hold"));
  EXPECT_FALSE(LoadTree(dir, Tree::AsSaved()).ok());
}

}  // namespace
}  // namespace cairn
