// The zarr layer on zarr v3 arrays built by the test encoder (tests/support/zarr_encoder.h):
// the encoder is first held to the golden Orbax files and the spec's checksum example, then
// arrays it writes cover what the golden files lack: many shards and inner chunks, the index at
// either end, empty inner chunks, transposes, gzip and crc32c, big endian, every dtype, fill
// values, chunk key encodings, and concurrent reads of one shard.
#include <atomic>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cairn/storage/float_formats.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/crc32c.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/zarr_encoder.h"
#include "tests/support/zarr_fixtures.h"
#include "tests/support/zarr_values.h"

namespace cairn {
namespace {

using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using zarr_test::ArrayJson;
using zarr_test::BytesCodecs;
using zarr_test::MemorySource;
using zarr_test::ShardingCodec;
using zarr_test::VectorArrayKeys;
using zarr_test::VectorElement;
using zarr_test::VectorElements;

std::string Bytes(const Array& array) {
  return std::string(static_cast<const char*>(array.data()), array.byte_size());
}

std::unique_ptr<ZarrArray> OpenOrDie(std::shared_ptr<const KeyValueSource> source,
                                     const std::string& prefix = "p/") {
  auto array = ZarrArray::Open(std::move(source), prefix);
  EXPECT_TRUE(array.ok()) << array.status();
  return array.ok() ? *std::move(array) : nullptr;
}

// Reads the array's whole VectorElements back and compares.
void ExpectVectorArray(const json& zarr_json, DType dtype, bool skip_fill_chunks = false) {
  SCOPED_TRACE(zarr_json.dump());
  auto array = OpenOrDie(MemorySource(VectorArrayKeys(zarr_json, dtype, "p/", skip_fill_chunks)));
  ASSERT_NE(array, nullptr);
  ZarrReadOptions options;
  options.every_chunk_stored = !skip_fill_chunks;
  auto values = array->ReadAll(options);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(Bytes(*values), VectorElements(dtype, values->num_elements()));
}

json Sharded(const Shape& inner, bool at_end = true, json inner_codecs = BytesCodecs()) {
  return json::array({ShardingCodec(inner, inner_codecs, at_end)});
}

TEST(ZarrV3Test, EncoderReproducesTheGoldenShards) {
  if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
  auto reader = OcdbtReader::Open(ocdbt_test::PristineState("v1_checkpoints/composite_checkpoint"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  for (auto [name, count] : std::vector<std::pair<std::string, int>>{{"a", 8}, {"b.c", 3}}) {
    const json meta = json::parse((*reader)->Read(name + "/zarr.json").value());
    std::string elements;
    for (int i = 0; i < count; ++i) {
      const int32_t v = name == "a" ? i : i + 1;
      elements.append(reinterpret_cast<const char*>(&v), 4);
    }
    auto keys = zarr_test::EncodeArray(meta, 4, false, elements, std::string(4, '\0'), false);
    EXPECT_EQ(keys.at("c/0"), (*reader)->Read(name + "/c/0").value()) << name;
  }
}

TEST(ZarrV3Test, Crc32cMatchesTheCheckValue) {
  // The CRC-32C check value of the spec's reference (RFC 3720): "123456789" -> 0xe3069283.
  const std::string stored =
      zarr_test::EncodeChunk(json::array({"bytes", "crc32c"}), 1, false, {9}, "123456789");
  EXPECT_EQ(stored, std::string("123456789\x83\x92\x06\xe3", 13));
  EXPECT_EQ(Crc32c("123456789"), 0xe3069283u);
}

TEST(ZarrV3Test, UnshardedManyChunksWithEdges) {
  ExpectVectorArray(ArrayJson(DType::kInt32, {7, 10}, {3, 4}, BytesCodecs()), DType::kInt32);
  ExpectVectorArray(ArrayJson(DType::kFloat64, {5}, {2}, BytesCodecs(true)), DType::kFloat64);
}

TEST(ZarrV3Test, ShardsWithTheIndexAtEitherEnd) {
  for (bool at_end : {true, false}) {
    SCOPED_TRACE(at_end);
    // (9, 10) in shards of (4, 6), each of (2, 3) inner chunks: edge shards at both ends.
    json meta = ArrayJson(DType::kInt32, {9, 10}, {4, 6}, Sharded({2, 3}, at_end));
    ExpectVectorArray(meta, DType::kInt32);
    auto array = OpenOrDie(MemorySource(VectorArrayKeys(meta, DType::kInt32)));
    ASSERT_NE(array, nullptr);
    EXPECT_EQ(array->metadata().chunk_shape, (Shape{4, 6}));
    EXPECT_EQ(array->metadata().inner_chunk_shape, (Shape{2, 3}));
    EXPECT_EQ(array->metadata().codecs, "sharding_indexed(bytes,zstd)");
    EXPECT_EQ(array->metadata().attributes["note"], "test");
  }
}

TEST(ZarrV3Test, EmptyInnerChunksAndMissingShardsReadAsFill) {
  // Values -20..79 repeat; a fill of -20 leaves elements 0 and 100 as fill. Make whole inner
  // chunks fill by choosing a fill equal to their only values: a (1, 1) inner chunk per element.
  json meta = ArrayJson(DType::kInt32, {4, 5}, {2, 4}, Sharded({1, 1}), -20);
  auto keys = VectorArrayKeys(meta, DType::kInt32, "p/", /*skip_fill_chunks=*/true);
  auto array = OpenOrDie(MemorySource(keys));
  ASSERT_NE(array, nullptr);
  auto values = array->ReadAll();
  ASSERT_TRUE(values.ok()) << values.status();  // an empty inner chunk is not a missing chunk
  EXPECT_EQ(Bytes(*values), VectorElements(DType::kInt32, 20));

  // A shard that is missing altogether.
  keys.erase("p/c/1/1");
  array = OpenOrDie(MemorySource(keys));
  auto strict = array->ReadAll({}, "params.k");
  EXPECT_TRUE(absl::IsDataLoss(strict.status())) << strict.status();
  EXPECT_THAT(strict.status().message(), HasSubstr("params.k"));
  EXPECT_THAT(strict.status().message(), HasSubstr("p/c/1/1"));
  ZarrReadOptions lenient;
  lenient.every_chunk_stored = false;
  auto filled = array->ReadAll(lenient);
  ASSERT_TRUE(filled.ok()) << filled.status();
  auto ints = filled->values<int32_t>();
  for (int r = 0; r < 4; ++r) {
    for (int c = 0; c < 5; ++c) {
      const int expected = r >= 2 && c >= 4 ? -20 : r * 5 + c - 20;
      EXPECT_EQ(ints[r * 5 + c], expected) << r << "," << c;
    }
  }
  EXPECT_EQ(array->CountStoredElements({0, 0}, {4, 5}).value(), 18u);
}

TEST(ZarrV3Test, TransposeGzipAndCrc32cInsideAndOutsideShards) {
  const json transpose = {{"name", "transpose"}, {"configuration", {{"order", {2, 0, 1}}}}};
  const json gzip = {{"name", "gzip"}, {"configuration", {{"level", 5}}}};
  const json bytes_be = {{"name", "bytes"}, {"configuration", {{"endian", "big"}}}};
  const json chain = json::array({transpose, bytes_be, gzip, "crc32c"});
  ExpectVectorArray(ArrayJson(DType::kUInt16, {3, 4, 5}, {2, 3, 2}, chain), DType::kUInt16);
  ExpectVectorArray(
      ArrayJson(DType::kFloat32, {3, 4, 5}, {2, 4, 4}, Sharded({1, 2, 2}, true, chain)),
      DType::kFloat32);
  // Two transposes compose.
  const json back = {{"name", "transpose"}, {"configuration", {{"order", {1, 2, 0}}}}};
  ExpectVectorArray(
      ArrayJson(DType::kInt64, {3, 4, 5}, {3, 4, 5}, json::array({transpose, back, bytes_be})),
      DType::kInt64);
  auto array = OpenOrDie(MemorySource(
      VectorArrayKeys(ArrayJson(DType::kUInt16, {3, 4, 5}, {2, 3, 2}, chain), DType::kUInt16)));
  EXPECT_EQ(array->metadata().codecs, "transpose,bytes,gzip,crc32c");
  EXPECT_TRUE(array->metadata().compressed);
}

TEST(ZarrV3Test, EveryDtypeInBothByteOrders) {
  for (DType dtype :
       {DType::kBool, DType::kInt8, DType::kInt16, DType::kInt32, DType::kInt64, DType::kUInt8,
        DType::kUInt16, DType::kUInt32, DType::kUInt64, DType::kFloat16, DType::kBFloat16,
        DType::kFloat32, DType::kFloat64, DType::kComplex64, DType::kComplex128,
        DType::kFloat8E4M3FN, DType::kFloat8E5M2}) {
    SCOPED_TRACE(DTypeName(dtype));
    for (bool big : {false, true}) {
      json codecs = BytesCodecs(big);
      if (DTypeSize(dtype) == 1) codecs[0].erase("configuration");  // endian may be left out
      json fill = dtype == DType::kBool ? json(false) : IsComplex(dtype) ? json({0, 0}) : json(0);
      ExpectVectorArray(ArrayJson(dtype, {5, 3}, {2, 2}, codecs, fill), dtype);
      ExpectVectorArray(ArrayJson(dtype, {5, 3}, {4, 2}, Sharded({2, 1}, big, codecs), fill),
                        dtype);
    }
  }
}

// The fill value `fill` of an array of `dtype` whose only chunk is missing, as element bytes.
std::string FillOf(DType dtype, const json& fill) {
  auto array = OpenOrDie(
      MemorySource({{"p/zarr.json", ArrayJson(dtype, {2}, {2}, BytesCodecs(), fill).dump()}}));
  if (array == nullptr) return "";
  EXPECT_EQ(array->metadata().fill_value.size(), DTypeSize(dtype));
  ZarrReadOptions options;
  options.every_chunk_stored = false;
  auto values = array->ReadAll(options);
  EXPECT_TRUE(values.ok()) << values.status();
  if (!values.ok()) return "";
  EXPECT_EQ(Bytes(*values).substr(0, DTypeSize(dtype)), array->metadata().fill_value);
  return array->metadata().fill_value;
}

template <typename T>
std::string Raw(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
}

TEST(ZarrV3Test, FillValueSpellings) {
  EXPECT_EQ(FillOf(DType::kFloat32, "0x7fc00001"), Raw<uint32_t>(0x7fc00001));
  EXPECT_EQ(FillOf(DType::kFloat32, "NaN"), Raw(std::nanf("")));
  EXPECT_EQ(FillOf(DType::kFloat64, "Infinity"), Raw(INFINITY * 1.0));
  EXPECT_EQ(FillOf(DType::kFloat64, "-Infinity"), Raw(-INFINITY * 1.0));
  EXPECT_EQ(FillOf(DType::kFloat64, -2.5), Raw(-2.5));
  EXPECT_EQ(FillOf(DType::kBFloat16, 1.5), Raw<uint16_t>(FloatToBFloat16Bits(1.5f)));
  EXPECT_EQ(FillOf(DType::kFloat16, "0x3c00"), Raw<uint16_t>(0x3c00));
  EXPECT_EQ(FillOf(DType::kFloat8E4M3FN, 448), Raw<uint8_t>(0x7e));
  EXPECT_EQ(FillOf(DType::kBool, true), Raw<uint8_t>(1));
  EXPECT_EQ(FillOf(DType::kUInt64, json(UINT64_MAX)), Raw(UINT64_MAX));
  EXPECT_EQ(FillOf(DType::kInt8, -128), Raw<int8_t>(-128));
  EXPECT_EQ(FillOf(DType::kComplex64, json({"NaN", 2})), Raw(std::nanf("")) + Raw(2.0f));
  EXPECT_EQ(FillOf(DType::kComplex128, json({"0x3ff0000000000000", "-Infinity"})),
            Raw(1.0) + Raw(-INFINITY * 1.0));
}

TEST(ZarrV3Test, BadFillValuesAreInvalid) {
  for (auto [dtype, fill] : std::vector<std::pair<DType, json>>{{DType::kInt8, 128},
                                                                {DType::kUInt8, -1},
                                                                {DType::kInt32, 1.5},
                                                                {DType::kInt32, "NaN"},
                                                                {DType::kFloat32, "0x7fc0"},
                                                                {DType::kFloat32, "nan"},
                                                                {DType::kComplex64, 1},
                                                                {DType::kBool, "true"},
                                                                {DType::kFloat32, nullptr}}) {
    SCOPED_TRACE(fill.dump());
    auto array = ZarrArray::Open(
        MemorySource({{"p/zarr.json", ArrayJson(dtype, {2}, {2}, BytesCodecs(), fill).dump()}}),
        "p/");
    EXPECT_TRUE(absl::IsInvalidArgument(array.status())) << array.status();
    EXPECT_THAT(array.status().message(), HasSubstr("p/zarr.json"));
  }
}

TEST(ZarrV3Test, ChunkKeyEncodings) {
  for (const json& encoding :
       {json{{"name", "default"}, {"configuration", {{"separator", "."}}}}, json{{"name", "v2"}},
        json{{"name", "v2"}, {"configuration", {{"separator", "/"}}}}}) {
    SCOPED_TRACE(encoding.dump());
    json meta = ArrayJson(DType::kInt16, {5, 4}, {2, 3}, BytesCodecs());
    meta["chunk_key_encoding"] = encoding;
    auto keys = VectorArrayKeys(meta, DType::kInt16);
    const std::string expected_key = encoding["name"] == "v2"
                                         ? (encoding.contains("configuration") ? "p/2/1" : "p/2.1")
                                         : "p/c.2.1";
    EXPECT_EQ(keys.count(expected_key), 1u);
    ExpectVectorArray(meta, DType::kInt16);
    auto array = OpenOrDie(MemorySource(keys));
    EXPECT_EQ(array->CountStoredElements({0, 0}, {5, 4}).value(), 20u);
    EXPECT_EQ(array->CountStoredElements({1, 1}, {2, 2}).value(), 4u);
  }
}

TEST(ZarrV3Test, ScalarArrays) {
  ExpectVectorArray(ArrayJson(DType::kFloat64, {}, {}, BytesCodecs()), DType::kFloat64);
  json meta = ArrayJson(DType::kInt32, {}, {}, BytesCodecs());
  meta["chunk_key_encoding"] = {{"name", "v2"}};
  EXPECT_EQ(VectorArrayKeys(meta, DType::kInt32).count("p/0"), 1u);
  ExpectVectorArray(meta, DType::kInt32);
}

TEST(ZarrV3Test, RegionsPlanOnlyTheInnerChunksTheyTouch) {
  json meta = ArrayJson(DType::kInt32, {8, 8}, {8, 8}, Sharded({2, 2}));
  auto array = OpenOrDie(MemorySource(VectorArrayKeys(meta, DType::kInt32)));
  ASSERT_NE(array, nullptr);
  Array out = Array::Allocate(DType::kFloat64, {3, 3}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({3, 3}, out, {}, "w", &reads).ok());
  EXPECT_EQ(reads.size(), 4u);  // inner chunks (1..2, 1..2)
  for (const ZarrChunkRead& read : reads) {
    EXPECT_EQ(read.key, "p/c/0/0");
    ASSERT_TRUE(array->Execute(read).ok());
  }
  auto values = out.values<double>();
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 3; ++c) EXPECT_EQ(values[r * 3 + c], (3 + r) * 8 + 3 + c - 20);
  }
}

// A source that counts ranged reads, to see that a shard's index is read once.
class CountingSource final : public KeyValueSource {
 public:
  explicit CountingSource(std::shared_ptr<const KeyValueSource> inner) : inner_(std::move(inner)) {}
  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    ++reads;
    return inner_->Read(key);
  }
  absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset, uint64_t length,
                                        bool from_end) const override {
    ++(from_end ? index_reads : reads);
    return inner_->ReadRange(key, offset, length, from_end);
  }
  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const override {
    return inner_->ValueSize(key);
  }
  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    return inner_->List(prefix);
  }
  std::string Describe(absl::string_view key) const override { return inner_->Describe(key); }
  mutable std::atomic<int> reads{0}, index_reads{0};

 private:
  std::shared_ptr<const KeyValueSource> inner_;
};

TEST(ZarrV3Test, ConcurrentReadsOfOneShardReadItsIndexOnce) {
  json meta = ArrayJson(DType::kFloat32, {64, 64}, {64, 64}, Sharded({4, 4}));
  auto counting =
      std::make_shared<CountingSource>(MemorySource(VectorArrayKeys(meta, DType::kFloat32)));
  auto array = OpenOrDie(counting);
  ASSERT_NE(array, nullptr);
  Array out = Array::Allocate(DType::kFloat32, {64, 64}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE(array->Plan({0, 0}, out, {}, "", &reads).ok());
  ASSERT_EQ(reads.size(), 256u);
  counting->reads = 0;
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (size_t i; (i = next++) < reads.size();) {
        if (!array->Execute(reads[i]).ok()) ++failures;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(failures, 0);
  EXPECT_EQ(counting->index_reads, 1);
  EXPECT_EQ(counting->reads, 256);
  EXPECT_EQ(Bytes(out), VectorElements(DType::kFloat32, 64 * 64));
  // The last read freed the index; a read run again reads it again.
  ASSERT_TRUE(array->Execute(reads[7]).ok());
  EXPECT_EQ(counting->index_reads, 2);
}

TEST(ZarrV3Test, DirectorySourceReadsOneDirectoryPerArray) {
  MemoryFilesystem fs;
  json meta = ArrayJson(DType::kInt32, {5, 4}, {2, 2}, Sharded({1, 2}));
  for (const auto& [key, value] : VectorArrayKeys(meta, DType::kInt32, "")) {
    const std::string path = JoinPath("/ckpt/param", key);
    ASSERT_TRUE(CreateDirs(fs, ParentPath(path)).ok());
    ASSERT_TRUE(WriteStringToFile(fs, path, value, false).ok());
  }
  std::shared_ptr<const KeyValueSource> source = DirectoryKeyValueSource(fs, "/ckpt/param");
  auto array = OpenOrDie(source, "");
  ASSERT_NE(array, nullptr);
  auto values = array->ReadAll();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(Bytes(*values), VectorElements(DType::kInt32, 20));
  EXPECT_EQ(array->CountStoredElements({0, 0}, {5, 4}).value(), 20u);
  EXPECT_THAT(source->List("c/1").value(), ElementsAre("c/1/0", "c/1/1"));
  EXPECT_THAT(source->List("").value().size(), 7u);
  EXPECT_TRUE(source->List("d/").value().empty());
  EXPECT_TRUE(absl::IsInvalidArgument(source->Read("../param/zarr.json").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(source->Read("c//0").status()));
  EXPECT_TRUE(absl::IsNotFound(source->Read("c/9/9").status()));
  EXPECT_EQ(source->Describe("c/0/0"), "/ckpt/param/c/0/0");
  // Values over the limit are refused before they are read.
  auto small = DirectoryKeyValueSource(fs, "/ckpt/param", 16);
  EXPECT_TRUE(absl::IsFailedPrecondition(small->Read("zarr.json").status()));
}

}  // namespace
}  // namespace cairn
