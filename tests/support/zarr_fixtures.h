// zarr.json documents and in-memory stores for the zarr v3 tests, built with the test encoder
// (tests/support/zarr_encoder.h).
#ifndef CAIRN_TESTS_SUPPORT_ZARR_FIXTURES_H_
#define CAIRN_TESTS_SUPPORT_ZARR_FIXTURES_H_

#include <map>
#include <memory>
#include <string>

#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "nlohmann/json.hpp"

namespace cairn::zarr_test {

// A zarr.json of a regular grid with `codecs` and `fill_value`, default chunk keys.
nlohmann::json ArrayJson(DType dtype, const Shape& shape, const Shape& chunk_shape,
                         const nlohmann::json& codecs, const nlohmann::json& fill_value = 0);
// [bytes(little)] or [bytes(endian), zstd], and the same inside sharding_indexed.
nlohmann::json BytesCodecs(bool big_endian = false);
nlohmann::json ShardingCodec(const Shape& inner_chunk_shape, const nlohmann::json& inner_codecs,
                             bool index_at_end = true, bool index_crc32c = true);

// The keys of an array holding VectorElements (tests/support/zarr_values.h) under `prefix`.
// Chunks (and inner chunks) of only the fill value are left out when `skip_fill_chunks`.
std::map<std::string, std::string> VectorArrayKeys(const nlohmann::json& zarr_json, DType dtype,
                                                   const std::string& prefix = "p/",
                                                   bool skip_fill_chunks = false);

std::shared_ptr<const KeyValueSource> MemorySource(std::map<std::string, std::string> keys);

}  // namespace cairn::zarr_test

#endif  // CAIRN_TESTS_SUPPORT_ZARR_FIXTURES_H_
