// What a zarr array's metadata says, parsed and checked: the public ZarrMetadata plus how a
// chunk's stored bytes decode (the codec chain) and how chunk keys are spelled. Format 2's
// compressor, byte order and memory order are expressed as a format 3 codec chain, so that one
// decoder serves both.
#ifndef CAIRN_STORAGE_ZARR_INTERNAL_ZARR_SPEC_H_
#define CAIRN_STORAGE_ZARR_INTERNAL_ZARR_SPEC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/zarr/zarr_array.h"

namespace cairn::zarr_internal {

// A codec from bytes to bytes.
enum class BytesCodec { kZstd, kGzip, kZlib, kCrc32c };
absl::string_view BytesCodecName(BytesCodec codec);

struct ShardingSpec;

// How one chunk's stored bytes become its elements, in the order they were encoded: the array is
// transposed, serialized in `big_endian` or little-endian byte order (or split into inner chunks
// by `sharding`), then passed through `bytes_codecs`.
struct CodecChain {
  // Empty, or the composed permutation: dimension i of the stored array is dimension
  // transpose[i] of the chunk.
  std::vector<int> transpose;
  bool big_endian = false;
  std::shared_ptr<const ShardingSpec> sharding;
  std::vector<BytesCodec> bytes_codecs;
};

struct ShardingSpec {
  Shape inner_chunk_shape;
  Shape inner_per_shard;  // inner chunks along each dimension of a shard
  uint64_t num_inner = 0;
  CodecChain inner;  // never sharded itself
  // The index's own chain: bytes (either order), optionally crc32c; its encoded size is fixed.
  bool index_big_endian = false;
  bool index_crc32c = false;
  bool index_at_end = true;
  uint64_t index_bytes = 0;  // encoded
};

struct ChunkKeyEncoding {
  bool c_prefix = true;  // "default": "c/0/1"; "v2": "0.1"
  char separator = '/';
};

struct ArraySpec {
  ZarrMetadata metadata;
  CodecChain codecs;
  ChunkKeyEncoding keys;
};

// The limit on metadata texts: anything larger is refused before it is read.
inline constexpr uint64_t kMaxMetadataBytes = uint64_t{16} << 20;

// `where` names the metadata's key in messages.
absl::StatusOr<ArraySpec> ParseZarray(absl::string_view text, const std::string& where);
absl::StatusOr<ArraySpec> ParseZarrJson(absl::string_view text, const std::string& where);

// The key of the chunk at `grid_index` (relative to the array's prefix).
std::string ChunkKey(const ChunkKeyEncoding& encoding, const std::vector<uint64_t>& grid_index);
// The inverse: false when `key` is not a chunk key of an array of `rank` dimensions.
bool ParseChunkKey(const ChunkKeyEncoding& encoding, absl::string_view key, size_t rank,
                   std::vector<uint64_t>* grid_index);

}  // namespace cairn::zarr_internal

#endif  // CAIRN_STORAGE_ZARR_INTERNAL_ZARR_SPEC_H_
