// A test-only zarr v3 writer, written from the zarr v3 specification (core, and the codecs
// transpose, bytes, sharding_indexed, crc32c, gzip, zstd) and kept apart from the reader (it
// shares no code with storage/zarr/), to build arrays the golden files do not hold: many chunks,
// edge chunks, every dtype, big-endian bytes, transposes, shards with the index at either end and
// empty inner chunks. Elements go in and come out as native little-endian, row-major bytes.
#ifndef CAIRN_TESTS_SUPPORT_ZARR_ENCODER_H_
#define CAIRN_TESTS_SUPPORT_ZARR_ENCODER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace cairn::zarr_test {

// The stored bytes of one chunk of `chunk_shape` whose elements (`element_size` bytes each;
// `complex` elements are two halves swapped separately for big-endian) are `elements`, passed
// through `codecs` (zarr.json's list, in encoding order). Inside a sharding_indexed codec, inner
// chunks whose bytes all equal `fill` are left out (an empty index entry) when `fill` is given.
std::string EncodeChunk(const nlohmann::json& codecs, size_t element_size, bool complex,
                        const std::vector<int64_t>& chunk_shape, const std::string& elements,
                        const std::string* fill = nullptr);

// Every key of an array: "zarr.json" (`zarr_json` as given, dumped) and its chunks, for an array
// of `zarr_json`'s shape holding `elements`. Edge chunks are stored at full size, padded with the
// fill value (`fill`, one element). With `skip_fill_chunks`, chunks (and inner chunks) holding
// only the fill value are not written.
std::map<std::string, std::string> EncodeArray(const nlohmann::json& zarr_json, size_t element_size,
                                               bool complex, const std::string& elements,
                                               const std::string& fill, bool skip_fill_chunks);

// Compressors, as the codecs of the same names produce their streams.
// Without `content_size`, the frame does not record its decoded size (as TensorStore's zarr v2
// chunks in Orbax checkpoints).
std::string ZstdCompress(const std::string& data, int level, bool content_size = true);
std::string GzipCompress(const std::string& data, int level);
std::string ZlibCompress(const std::string& data, int level);

}  // namespace cairn::zarr_test

#endif  // CAIRN_TESTS_SUPPORT_ZARR_ENCODER_H_
