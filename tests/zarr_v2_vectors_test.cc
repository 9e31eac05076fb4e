// The zarr layer on zarr v2 arrays written by an independent writer (python3-zarr 2.13, through
// scripts/make_zarr_vectors.py, into tests/data/zarr/v2/): many and edge chunks, F order, big
// endian, every dtype numpy has, zstd/zlib/gzip, "/" separators, fill values and missing chunks,
// regions, casts and the saturation check.
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/zarr_encoder.h"
#include "tests/support/zarr_values.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using zarr_test::VectorElement;
using zarr_test::VectorElements;

std::unique_ptr<ZarrArray> OpenVector(const std::string& name) {
  std::shared_ptr<const KeyValueSource> source = DirectoryKeyValueSource(
      *Filesystem::Default(), std::string(CAIRN_TEST_DATA_DIR "/zarr/v2/") + name);
  auto array = ZarrArray::Open(source, "");
  EXPECT_TRUE(array.ok()) << name << ": " << array.status();
  return array.ok() ? *std::move(array) : nullptr;
}

std::string Bytes(const Array& array) {
  return std::string(static_cast<const char*>(array.data()), array.byte_size());
}

ZarrReadOptions FillMissing() {
  ZarrReadOptions options;
  options.every_chunk_stored = false;
  return options;
}

TEST(ZarrV2VectorsTest, EveryDtypeReadsAsWritten) {
  const std::vector<std::pair<std::string, DType>> arrays = {
      {"dtype_i1", DType::kInt8},           {"dtype_le_i2", DType::kInt16},
      {"dtype_le_i4", DType::kInt32},       {"dtype_le_i8", DType::kInt64},
      {"dtype_u1", DType::kUInt8},          {"dtype_le_u2", DType::kUInt16},
      {"dtype_le_u4", DType::kUInt32},      {"dtype_le_u8", DType::kUInt64},
      {"dtype_le_f2", DType::kFloat16},     {"dtype_le_f4", DType::kFloat32},
      {"dtype_le_f8", DType::kFloat64},     {"dtype_le_c8", DType::kComplex64},
      {"dtype_le_c16", DType::kComplex128}, {"dtype_be_u4", DType::kUInt32},
      {"dtype_be_c16", DType::kComplex128}, {"dtype_be_f4", DType::kFloat32}};
  for (const auto& [name, dtype] : arrays) {
    SCOPED_TRACE(name);
    auto array = OpenVector(name);
    ASSERT_NE(array, nullptr);
    EXPECT_EQ(array->metadata().zarr_format, 2);
    EXPECT_EQ(array->metadata().dtype, dtype);
    EXPECT_EQ(array->metadata().shape, Shape{6});
    EXPECT_EQ(array->metadata().chunk_shape, Shape{4});
    EXPECT_EQ(array->metadata().codecs, "zlib");
    auto values = array->ReadAll();
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_EQ(Bytes(*values), VectorElements(dtype, 6));
  }
}

TEST(ZarrV2VectorsTest, LayoutsAndCompressors) {
  struct Case {
    std::string name;
    DType dtype;
    Shape shape;
    std::string codecs;
  };
  for (const Case& c :
       std::vector<Case>{{"int32_many_chunks", DType::kInt32, {7, 10}, "zstd"},
                         {"float64_big_endian_order_f", DType::kFloat64, {5, 6}, "order F,zlib"},
                         {"uint16_gzip_nested_keys", DType::kUInt16, {4, 5, 3}, "gzip"},
                         {"int16_big_endian_order_f_3d", DType::kInt16, {3, 4, 5}, "order F"},
                         {"bool_raw", DType::kBool, {9}, "none"},
                         {"scalar_float32", DType::kFloat32, {}, "none"}}) {
    SCOPED_TRACE(c.name);
    auto array = OpenVector(c.name);
    ASSERT_NE(array, nullptr);
    EXPECT_EQ(array->metadata().shape, c.shape);
    EXPECT_EQ(array->metadata().codecs, c.codecs);
    EXPECT_EQ(array->metadata().compressed, c.codecs != "none" && c.codecs != "order F");
    auto values = array->ReadAll();
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_EQ(Bytes(*values), VectorElements(c.dtype, values->num_elements()));
  }
}

TEST(ZarrV2VectorsTest, RegionAcrossChunksWithCast) {
  auto array = OpenVector("int32_many_chunks");  // (7, 10) in (3, 4) chunks
  ASSERT_NE(array, nullptr);
  // Rows 1..5, columns 2..8: six chunks of the twelve.
  Array out = Array::Allocate(DType::kInt64, {5, 7}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({1, 2}, out, {}, "params.w", &reads).ok());
  EXPECT_EQ(reads.size(), 6u);
  for (const ZarrChunkRead& read : reads) ASSERT_TRUE(array->Execute(read).ok());
  auto values = out.values<int64_t>();
  for (int r = 0; r < 5; ++r) {
    for (int c = 0; c < 7; ++c) {
      const uint64_t i = (r + 1) * 10 + (c + 2);
      EXPECT_EQ(values[r * 7 + c], static_cast<int64_t>(i % 100) - 20) << r << "," << c;
    }
  }
}

TEST(ZarrV2VectorsTest, RegionPastTheArrayLeavesTheRestAlone) {
  auto array = OpenVector("int32_many_chunks");
  ASSERT_NE(array, nullptr);
  std::vector<int32_t> memory(16, 12345);
  Array out = Array::BorrowMutable(DType::kInt32, {4, 4}, memory.data());
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({5, 8}, out, {}, "", &reads).ok());
  EXPECT_EQ(reads.size(), 2u);  // chunks (1, 2) and (2, 2)
  for (const ZarrChunkRead& read : reads) ASSERT_TRUE(array->Execute(read).ok());
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 4; ++c) {
      const bool inside = 5 + r < 7 && 8 + c < 10;
      EXPECT_EQ(memory[r * 4 + c], inside ? (5 + r) * 10 + 8 + c - 20 : 12345) << r << "," << c;
    }
  }
  // Entirely outside: nothing to read.
  reads.clear();
  ASSERT_TRUE(array->Plan({7, -4}, out, {}, "", &reads).ok());
  EXPECT_TRUE(reads.empty());
}

TEST(ZarrV2VectorsTest, CastsCheckValuesUnlessSaturating) {
  auto array = OpenVector("int32_many_chunks");  // values -20..79
  ASSERT_NE(array, nullptr);
  Array out = Array::Allocate(DType::kUInt8, {7, 10}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({0, 0}, out, {}, "params.w", &reads).ok());
  absl::Status status = array->Execute(reads[0]);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("params.w"));
  EXPECT_THAT(status.message(), HasSubstr("(0, 0)"));
  EXPECT_THAT(status.message(), HasSubstr("-20"));

  ZarrReadOptions saturate;
  saturate.saturate_casts = true;
  reads.clear();
  ASSERT_TRUE(array->Plan({0, 0}, out, saturate, "params.w", &reads).ok());
  for (const ZarrChunkRead& read : reads) ASSERT_TRUE(array->Execute(read).ok());
  EXPECT_EQ(out.values<uint8_t>()[0], 0);
  EXPECT_EQ(out.values<uint8_t>()[25], 5);
  // Complex does not cast to a real type at all.
  Array real = Array::Allocate(DType::kFloat32, {6}).value();
  auto complex = OpenVector("dtype_le_c8");
  EXPECT_TRUE(absl::IsInvalidArgument(complex->Plan({0}, real, {}, "z", &reads)));
}

TEST(ZarrV2VectorsTest, MissingChunksAreFillOrDataLoss) {
  auto array = OpenVector("float32_fill_nan_missing");  // only chunk (0, 0) written
  ASSERT_NE(array, nullptr);
  auto strict = array->ReadAll({}, "opt.mu");
  EXPECT_TRUE(absl::IsDataLoss(strict.status())) << strict.status();
  EXPECT_THAT(strict.status().message(), HasSubstr("opt.mu"));
  EXPECT_THAT(strict.status().message(), HasSubstr("float32_fill_nan_missing/0.1"));

  auto values = array->ReadAll(FillMissing());
  ASSERT_TRUE(values.ok()) << values.status();
  auto floats = values->values<float>();
  for (int r = 0; r < 6; ++r) {
    for (int c = 0; c < 6; ++c) {
      if (r < 2 && c < 3) {
        EXPECT_EQ(floats[r * 6 + c], (r * 6 + c) * 0.25f - 3);
      } else {
        EXPECT_TRUE(std::isnan(floats[r * 6 + c])) << r << "," << c;
      }
    }
  }
  EXPECT_EQ(array->CountStoredElements({0, 0}, {6, 6}).value(), 6u);
  EXPECT_EQ(array->CountStoredElements({1, 1}, {6, 6}).value(), 2u);
  // A NaN fill cannot be loaded as an integer without saturation.
  Array ints = Array::Allocate(DType::kInt32, {6, 6}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({0, 0}, ints, FillMissing(), "opt.mu", &reads).ok());
  EXPECT_TRUE(absl::IsInvalidArgument(array->Execute(reads.back())));
}

TEST(ZarrV2VectorsTest, FillValuesOfEveryKind) {
  {
    auto array = OpenVector("int8_fill_minus5_missing");
    ASSERT_NE(array, nullptr);
    auto values = array->ReadAll(FillMissing());
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_THAT(values->values<int8_t>(), ElementsAre(-5, -5, -5, -17, -16, -15, -5, -5, -5, -5));
  }
  {
    auto array = OpenVector("float64_fill_infinity_missing");
    ASSERT_NE(array, nullptr);
    auto values = array->ReadAll(FillMissing());
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_THAT(values->values<double>(), ElementsAre(-3, -2.75, -INFINITY, -INFINITY));
  }
  {
    auto array = OpenVector("complex64_fill_missing");
    ASSERT_NE(array, nullptr);
    auto values = array->ReadAll(FillMissing());
    ASSERT_TRUE(values.ok()) << values.status();
    using C = std::complex<float>;
    EXPECT_THAT(values->values<C>(), ElementsAre(C(1, 2), C(1, 2), C(1, -2), C(1.5, -3)));
  }
  {
    // Null: no fill value; a missing chunk reads as zeros.
    auto array = OpenVector("uint8_fill_null_missing");
    ASSERT_NE(array, nullptr);
    auto values = array->ReadAll(FillMissing());
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_THAT(values->values<uint8_t>(), ElementsAre(0, 1, 0, 0));
  }
}

TEST(ZarrV2VectorsTest, TensorStoreNamesForNarrowFloats) {
  // numpy has no such dtypes, so python3-zarr cannot write them: the chunks are built here, as
  // TensorStore writes them (zstd frames without a content size).
  for (DType dtype : {DType::kBFloat16, DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    SCOPED_TRACE(DTypeName(dtype));
    const nlohmann::json zarray = {{"zarr_format", 2},
                                   {"shape", {5}},
                                   {"chunks", {3}},
                                   {"dtype", DTypeName(dtype)},
                                   {"fill_value", nullptr},
                                   {"order", "C"},
                                   {"compressor", {{"id", "zstd"}, {"level", 1}}},
                                   {"filters", nullptr}};
    std::string second = VectorElements(dtype, 5).substr(3 * DTypeSize(dtype));
    second += std::string(DTypeSize(dtype), '\0');  // edge chunks are stored whole
    std::map<std::string, std::string> keys = {
        {"w/.zarray", zarray.dump()},
        {"w/0", zarr_test::ZstdCompress(VectorElements(dtype, 3), 1, false)},
        {"w/1", zarr_test::ZstdCompress(second, 1, false)}};
    auto array = ZarrArray::Open(InMemoryKeyValueSource(keys), "w/");
    ASSERT_TRUE(array.ok()) << array.status();
    EXPECT_EQ((*array)->metadata().dtype, dtype);
    auto values = (*array)->ReadAll();
    ASSERT_TRUE(values.ok()) << values.status();
    EXPECT_EQ(Bytes(*values), VectorElements(dtype, 5));
    // Into float32, exactly.
    Array wide = Array::Allocate(DType::kFloat32, {5}).value();
    std::vector<ZarrChunkRead> reads;
    ASSERT_TRUE((*array)->Plan({0}, wide, {}, "w", &reads).ok());
    for (const ZarrChunkRead& read : reads) ASSERT_TRUE((*array)->Execute(read).ok());
    EXPECT_EQ(wide.values<float>()[4], 4 * 0.25f - 3);
  }
}

TEST(ZarrV2VectorsTest, BloscIsUnimplementedByName) {
  std::shared_ptr<const KeyValueSource> source =
      DirectoryKeyValueSource(*Filesystem::Default(), CAIRN_TEST_DATA_DIR "/zarr/v2/blosc_unread");
  auto array = ZarrArray::Open(source, "");
  EXPECT_TRUE(absl::IsUnimplemented(array.status())) << array.status();
  EXPECT_THAT(array.status().message(), HasSubstr("blosc"));
  EXPECT_THAT(array.status().message(), HasSubstr("blosc_unread/.zarray"));
}

}  // namespace
}  // namespace cairn
