#include "tests/support/zarr_fixtures.h"

#include "tests/support/zarr_encoder.h"
#include "tests/support/zarr_values.h"

namespace cairn::zarr_test {

using nlohmann::json;

json ArrayJson(DType dtype, const Shape& shape, const Shape& chunk_shape, const json& codecs,
               const json& fill_value) {
  return json{
      {"zarr_format", 3},
      {"node_type", "array"},
      {"shape", shape},
      {"data_type", std::string(DTypeName(dtype))},
      {"chunk_grid", {{"name", "regular"}, {"configuration", {{"chunk_shape", chunk_shape}}}}},
      {"chunk_key_encoding", {{"name", "default"}}},
      {"fill_value", fill_value},
      {"codecs", codecs},
      {"attributes", {{"note", "test"}}}};
}

json BytesCodecs(bool big_endian) {
  return json::array(
      {{{"name", "bytes"}, {"configuration", {{"endian", big_endian ? "big" : "little"}}}},
       {{"name", "zstd"}, {"configuration", {{"level", 3}, {"checksum", false}}}}});
}

json ShardingCodec(const Shape& inner_chunk_shape, const json& inner_codecs, bool index_at_end,
                   bool index_crc32c) {
  json index = json::array({{{"name", "bytes"}, {"configuration", {{"endian", "little"}}}}});
  if (index_crc32c) index.push_back({{"name", "crc32c"}});
  return {{"name", "sharding_indexed"},
          {"configuration",
           {{"chunk_shape", inner_chunk_shape},
            {"codecs", inner_codecs},
            {"index_codecs", index},
            {"index_location", index_at_end ? "end" : "start"}}}};
}

std::map<std::string, std::string> VectorArrayKeys(const json& zarr_json, DType dtype,
                                                   const std::string& prefix,
                                                   bool skip_fill_chunks) {
  uint64_t count = 1;
  for (const json& d : zarr_json.at("shape")) count *= d.get<uint64_t>();
  // The fill value as the reader would decode it is what the tests choose it to be; here it is
  // given by the document, so only the simple spellings the tests use are understood.
  std::string fill(DTypeSize(dtype), '\0');
  const json& f = zarr_json.at("fill_value");
  if (f.is_number()) {
    const double value = f.get<double>();
    CastElements(DType::kFloat64, &value, dtype, fill.data(), 1);
  }
  std::map<std::string, std::string> keys;
  for (auto& [key, value] : EncodeArray(zarr_json, DTypeSize(dtype), IsComplex(dtype),
                                        VectorElements(dtype, count), fill, skip_fill_chunks)) {
    keys[prefix + key] = value;
  }
  return keys;
}

std::shared_ptr<const KeyValueSource> MemorySource(std::map<std::string, std::string> keys) {
  return InMemoryKeyValueSource(std::move(keys), "test store");
}

}  // namespace cairn::zarr_test
