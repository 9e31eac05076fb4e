// Damaged, hostile and unsupported zarr input: every case is a clear status naming the key
// (DataLoss for damage, Unimplemented for what is not read, InvalidArgument for metadata that
// breaks the spec, ResourceExhausted past the read limits), never a crash or an allocation sized
// by a number from the file.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/crc32c.h"
#include "cairn/utils/status_macros.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/zarr_encoder.h"
#include "tests/support/zarr_fixtures.h"

namespace cairn {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using zarr_test::ArrayJson;
using zarr_test::BytesCodecs;
using zarr_test::MemorySource;
using zarr_test::ShardingCodec;
using zarr_test::VectorArrayKeys;

absl::Status OpenStatus(const json& meta, const std::string& name = "p/zarr.json") {
  return ZarrArray::Open(MemorySource({{name, meta.dump()}}), "p/").status();
}

absl::Status ReadStatus(const std::map<std::string, std::string>& keys,
                        const ZarrReadOptions& options = {}) {
  auto array = ZarrArray::Open(MemorySource(keys), "p/");
  if (!array.ok()) return array.status();
  return (*array)->ReadAll(options, "params.w").status();
}

// Reads elements [1, 7) of a 1-d array: its chunk goes through scratch memory, not straight
// into the destination as a whole chunk does.
absl::Status ReadPartStatus(const std::map<std::string, std::string>& keys) {
  auto array = ZarrArray::Open(MemorySource(keys), "p/");
  if (!array.ok()) return array.status();
  Array out = Array::Allocate((*array)->metadata().dtype, {6}).value();
  std::vector<ZarrChunkRead> reads;
  CAIRN_RETURN_IF_ERROR((*array)->Plan({1}, out, {}, "params.w", &reads));
  for (const ZarrChunkRead& read : reads) CAIRN_RETURN_IF_ERROR((*array)->Execute(read));
  return absl::OkStatus();
}

// A (4, 4) int32 array in one shard of (2, 2) inner chunks; the index's crc32c is optional.
json ShardedMeta(bool index_crc = true, bool inner_crc = false) {
  json inner = BytesCodecs();
  if (inner_crc) inner.push_back("crc32c");
  return ArrayJson(DType::kInt32, {4, 4}, {4, 4},
                   json::array({ShardingCodec({2, 2}, inner, true, index_crc)}));
}

void SetIndexEntry(std::string* shard, int entry, uint64_t offset, uint64_t length, bool crc) {
  const size_t index_start = shard->size() - 4 * 16 - (crc ? 4 : 0);
  for (int b = 0; b < 8; ++b) {
    (*shard)[index_start + entry * 16 + b] = static_cast<char>(offset >> (8 * b));
    (*shard)[index_start + entry * 16 + 8 + b] = static_cast<char>(length >> (8 * b));
  }
  if (crc) {
    const uint32_t value = Crc32c(shard->data() + index_start, 64);
    for (int b = 0; b < 4; ++b)
      (*shard)[shard->size() - 4 + b] = static_cast<char>(value >> (8 * b));
  }
}

void ExpectStatus(const absl::Status& status, absl::StatusCode code,
                  const std::vector<std::string>& words) {
  EXPECT_EQ(status.code(), code) << status;
  for (const std::string& word : words) {
    EXPECT_THAT(std::string(status.message()), HasSubstr(word));
  }
}

TEST(ZarrBadInputTest, IndexChecksumFlip) {
  auto keys = VectorArrayKeys(ShardedMeta(), DType::kInt32);
  std::string& shard = keys["p/c/0/0"];
  shard[shard.size() - 20] ^= 0x10;
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss,
               {"params.w", "p/c/0/0", "shard index", "crc32c"});
}

TEST(ZarrBadInputTest, InnerChunkChecksumFlip) {
  auto keys = VectorArrayKeys(ShardedMeta(true, true), DType::kInt32);
  keys["p/c/0/0"][3] ^= 0x01;
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss,
               {"params.w", "inner chunk 0", "p/c/0/0", "crc32c"});
}

TEST(ZarrBadInputTest, TruncatedShards) {
  auto keys = VectorArrayKeys(ShardedMeta(), DType::kInt32);
  std::string shard = keys["p/c/0/0"];
  keys["p/c/0/0"] = shard.substr(0, shard.size() - 7);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/c/0/0", "crc32c"});
  keys["p/c/0/0"] = shard.substr(0, 30);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss,
               {"p/c/0/0", "shorter than its index of 68 bytes"});
  keys["p/c/0/0"] = "";
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/c/0/0"});
}

TEST(ZarrBadInputTest, IndexEntriesOutOfRange) {
  auto keys = VectorArrayKeys(ShardedMeta(), DType::kInt32);
  const std::string shard = keys["p/c/0/0"];
  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {1000, 10}, {0, 1u << 30}, {UINT64_MAX - 3, 4}, {shard.size(), 1}}) {
    SCOPED_TRACE(offset);
    keys["p/c/0/0"] = shard;
    SetIndexEntry(&keys["p/c/0/0"], 2, offset, length, true);
    ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss,
                 {"params.w", "p/c/0/0", absl::StrCat("offset ", offset)});
  }
  // Half empty: neither empty nor a range.
  keys["p/c/0/0"] = shard;
  SetIndexEntry(&keys["p/c/0/0"], 1, UINT64_MAX, 8, true);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss,
               {"p/c/0/0", "neither empty nor a byte range"});
  // An entry pointing at another inner chunk's bytes of the wrong size.
  keys["p/c/0/0"] = shard;
  SetIndexEntry(&keys["p/c/0/0"], 3, 0, 5, true);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"inner chunk 3", "zstd"});
}

TEST(ZarrBadInputTest, StreamsThatDecodeToTheWrongSize) {
  const json meta = {{"zarr_format", 2},
                     {"shape", {8}},
                     {"chunks", {8}},
                     {"dtype", "<i4"},
                     {"fill_value", 0},
                     {"order", "C"},
                     {"compressor", {{"id", "zstd"}}},
                     {"filters", nullptr}};
  std::map<std::string, std::string> keys = {{"p/.zarray", meta.dump()}};
  for (bool content_size : {true, false}) {
    for (auto [size, word] : std::vector<std::pair<size_t, std::string>>{
             {16, "decodes to 16 bytes where 32"},
             {36, content_size ? "36 bytes where 32" : "more than 32"},
             {0, "decodes to 0"}}) {
      SCOPED_TRACE(size);
      keys["p/0"] = zarr_test::ZstdCompress(std::string(size, 'x'), 1, content_size);
      ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"params.w", "p/0", word});
      ExpectStatus(ReadPartStatus(keys), absl::StatusCode::kDataLoss, {"params.w", "p/0", word});
    }
  }
  // A frame without its size that decodes to exactly the chunk, and two frames that do together.
  keys["p/0"] = zarr_test::ZstdCompress(std::string(32, '\0'), 1, false);
  EXPECT_TRUE(ReadStatus(keys).ok()) << ReadStatus(keys);
  keys["p/0"] = zarr_test::ZstdCompress(std::string(20, '\0'), 1, false) +
                zarr_test::ZstdCompress(std::string(12, '\0'), 1, true);
  EXPECT_TRUE(ReadStatus(keys).ok()) << ReadStatus(keys);
  EXPECT_TRUE(ReadPartStatus(keys).ok()) << ReadPartStatus(keys);
  // A frame cut short, and bytes that are no zstd frame.
  keys["p/0"] = zarr_test::ZstdCompress(std::string(32, 'x'), 1).substr(0, 9);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "zstd"});
  keys["p/0"] = "not a zstd frame";
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "zstd"});

  json gzip_meta = meta;
  gzip_meta["compressor"] = {{"id", "gzip"}, {"level", 1}};
  keys["p/.zarray"] = gzip_meta.dump();
  std::string gz = zarr_test::GzipCompress(std::string(32, 'y'), 1);
  keys["p/0"] = gz.substr(0, gz.size() - 6);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "gzip"});
  keys["p/0"] = zarr_test::GzipCompress(std::string(33, 'y'), 1);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "more than 32"});
  json zlib_meta = meta;
  zlib_meta["compressor"] = {{"id", "zlib"}};
  keys["p/.zarray"] = zlib_meta.dump();
  keys["p/0"] = zarr_test::ZlibCompress(std::string(31, 'y'), 1);
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "zlib", "31 bytes"});
  // Uncompressed, of the wrong length.
  json raw_meta = meta;
  raw_meta["compressor"] = nullptr;
  keys["p/.zarray"] = raw_meta.dump();
  keys["p/0"] = std::string(33, '\0');
  ExpectStatus(ReadStatus(keys), absl::StatusCode::kDataLoss, {"p/0", "33 bytes"});
}

TEST(ZarrBadInputTest, OversizeClaimsAreRefusedBeforeAllocating) {
  // Shapes whose element count overflows.
  ExpectStatus(OpenStatus(ArrayJson(DType::kInt32, {int64_t{1} << 40, int64_t{1} << 40}, {1, 1},
                                    BytesCodecs())),
               absl::StatusCode::kInvalidArgument, {"p/zarr.json", "shape"});
  // Chunks larger than max_chunk_bytes, and shard indexes too.
  for (const json& meta : {ArrayJson(DType::kInt32, {4}, {int64_t{1} << 40}, BytesCodecs()),
                           ArrayJson(DType::kInt32, {4}, {int64_t{1} << 40},
                                     json::array({ShardingCodec({1}, BytesCodecs())}))}) {
    auto array = ZarrArray::Open(MemorySource({{"p/zarr.json", meta.dump()}}), "p/");
    ASSERT_TRUE(array.ok()) << array.status();
    Array out = Array::Allocate(DType::kInt32, {4}).value();
    std::vector<ZarrChunkRead> reads;
    ExpectStatus((*array)->Plan({0}, out, {}, "params.w", &reads),
                 absl::StatusCode::kResourceExhausted, {"params.w", "max_chunk_bytes"});
    EXPECT_TRUE(reads.empty());
  }
  // Metadata past 16 MiB is not read.
  std::string huge = ArrayJson(DType::kInt32, {4}, {4}, BytesCodecs()).dump();
  huge.insert(1, std::string(17 << 20, ' '));
  ExpectStatus(ZarrArray::Open(MemorySource({{"p/zarr.json", huge}}), "p/").status(),
               absl::StatusCode::kDataLoss, {"p/zarr.json", "limit"});
}

TEST(ZarrBadInputTest, UnsupportedFeaturesAreUnimplementedByName) {
  const json base = ArrayJson(DType::kInt32, {4}, {2}, BytesCodecs());
  auto with = [&](const char* field, json value) {
    json meta = base;
    meta[field] = std::move(value);
    return meta;
  };
  const std::vector<std::pair<json, std::string>> cases = {
      {with("codecs", json::array({BytesCodecs()[0], {{"name", "blosc"}}})), "blosc"},
      {with("data_type", "float8_e4m3fnuz"), "float8_e4m3fnuz"},
      {with("data_type", "int4"), "int4"},
      {with("data_type", "r16"), "r16"},
      {with("data_type", {{"name", "datetime"}}), "datetime"},
      {with("chunk_grid", {{"name", "rectilinear"}}), "rectilinear"},
      {with("chunk_key_encoding", {{"name", "fancy"}}), "fancy"},
      {with("storage_transformers", json::array({{{"name", "x"}}})), "storage_transformers"},
      {with("codecs",
            json::array({ShardingCodec({1}, json::array({ShardingCodec({1}, BytesCodecs())}))})),
       "inside sharding_indexed"},
      {with("codecs",
            json::array({{{"name", "sharding_indexed"},
                          {"configuration",
                           {{"chunk_shape", {1}},
                            {"codecs", BytesCodecs()},
                            {"index_codecs", json::array({BytesCodecs()[0], "zstd"})}}}}})),
       "index codecs"},
  };
  for (const auto& [meta, word] : cases) {
    SCOPED_TRACE(word);
    ExpectStatus(OpenStatus(meta), absl::StatusCode::kUnimplemented, {"p/zarr.json", word});
  }
  const json v2 = {{"zarr_format", 2},      {"shape", {4}},      {"chunks", {2}},
                   {"dtype", "<i4"},        {"fill_value", 0},   {"order", "C"},
                   {"compressor", nullptr}, {"filters", nullptr}};
  auto v2_with = [&](const char* field, json value) {
    json meta = v2;
    meta[field] = std::move(value);
    return meta;
  };
  for (const auto& [meta, word] : std::vector<std::pair<json, std::string>>{
           {v2_with("filters", json::array({{{"id", "delta"}}})), "filters"},
           {v2_with("dtype", json::array({json::array({"x", "<i4"})})), "structured"},
           {v2_with("dtype", "<M8[ns]"), "M8[ns]"},
           {v2_with("dtype", "|S4"), "S4"},
           {v2_with("compressor", {{"id", "lz4"}}), "lz4"}}) {
    SCOPED_TRACE(word);
    ExpectStatus(OpenStatus(meta, "p/.zarray"), absl::StatusCode::kUnimplemented,
                 {"p/.zarray", word});
  }
}

TEST(ZarrBadInputTest, MalformedMetadataIsInvalidOrDataLoss) {
  const json base = ArrayJson(DType::kInt32, {4, 4}, {2, 2}, BytesCodecs());
  auto with = [&](const char* field, json value) {
    json meta = base;
    meta[field] = std::move(value);
    return meta;
  };
  for (const auto& [meta, word] : std::vector<std::pair<json, std::string>>{
           {with("chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {2}}}}}),
            "rank"},
           {with("chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", {0, 2}}}}}),
            "chunk_shape"},
           {with("shape", {4, -1}), "shape"},
           {with("shape", "big"), "shape"},
           {with("node_type", "group"), "node_type"},
           {with("zarr_format", 2), "zarr_format"},
           {with("codecs", json::array()), "codecs"},
           {with("codecs", json::array({{{"name", "bytes"}}})), "endian"},
           {with("codecs",
                 json::array({{{"name", "bytes"}, {"configuration", {{"endian", "middle"}}}}})),
            "endian"},
           {with("codecs", json::array({BytesCodecs()[0], BytesCodecs()[0]})),
            "second array-to-bytes"},
           {with("codecs",
                 json::array({{{"name", "transpose"}, {"configuration", {{"order", {0, 0}}}}},
                              {{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}})),
            "permutation"},
           {with("codecs", json::array({ShardingCodec({3, 2}, BytesCodecs())})), "divide"},
           {with("chunk_key_encoding",
                 {{"name", "default"}, {"configuration", {{"separator", "-"}}}}),
            "separator"},
           {with("fill_value", nullptr), "fill_value"}}) {
    SCOPED_TRACE(word);
    ExpectStatus(OpenStatus(meta), absl::StatusCode::kInvalidArgument, {"p/zarr.json", word});
  }
  ExpectStatus(
      ZarrArray::Open(MemorySource({{"p/zarr.json", "{\"zarr_format\": 3,"}}), "p/").status(),
      absl::StatusCode::kDataLoss, {"p/zarr.json"});
  ExpectStatus(ZarrArray::Open(MemorySource({{"p/zarr.json", "[3]"}}), "p/").status(),
               absl::StatusCode::kInvalidArgument, {"p/zarr.json", "object"});
  ExpectStatus(ZarrArray::Open(MemorySource({{"p/.zarray",
                                              "{\"zarr_format\": 2, \"shape\": [2], "
                                              "\"chunks\": [2, 2], \"dtype\": \"<i4\"}"}}),
                               "p/")
                   .status(),
               absl::StatusCode::kInvalidArgument, {"p/.zarray", "rank"});
  ExpectStatus(ZarrArray::Open(MemorySource({{"p/.zarray",
                                              "{\"zarr_format\": 2, \"shape\": [2], "
                                              "\"chunks\": [2], \"dtype\": \"|i4\"}"}}),
                               "p/")
                   .status(),
               absl::StatusCode::kInvalidArgument, {"p/.zarray", "byte order"});
}

TEST(ZarrBadInputTest, AbsentArraysAndBadRequests) {
  ExpectStatus(ZarrArray::Open(MemorySource({{"q/zarr.json", "{}"}}), "p/").status(),
               absl::StatusCode::kNotFound, {"p/zarr.json", "p/.zarray"});
  ExpectStatus(ZarrArray::Open(MemorySource({}), "p").status(), absl::StatusCode::kInvalidArgument,
               {"end in '/'"});
  auto array = ZarrArray::Open(MemorySource(VectorArrayKeys(ShardedMeta(), DType::kInt32)), "p/");
  ASSERT_TRUE(array.ok());
  std::vector<ZarrChunkRead> reads;
  int32_t memory[16];
  ExpectStatus(
      (*array)->Plan({0, 0}, Array::Borrow(DType::kInt32, {4, 4}, memory), {}, "w", &reads),
      absl::StatusCode::kInvalidArgument, {"w", "read-only"});
  ExpectStatus(
      (*array)->Plan({0}, Array::BorrowMutable(DType::kInt32, {16}, memory), {}, "w", &reads),
      absl::StatusCode::kInvalidArgument, {"w", "rank"});
  ExpectStatus((*array)->Plan({INT64_MAX, 0}, Array::BorrowMutable(DType::kInt32, {4, 4}, memory),
                              {}, "w", &reads),
               absl::StatusCode::kInvalidArgument, {"overflows"});
  ExpectStatus((*array)->CountStoredElements({0}, {4}).status(), absl::StatusCode::kInvalidArgument,
               {"rank"});
}

}  // namespace
}  // namespace cairn
