// One zarr array (format 2 `.zarray` or format 3 `zarr.json`) read through a KeyValueSource:
// its metadata, and reads of any region of it into caller memory, planned as one piece of work
// per chunk (or inner chunk of a shard) so that a loader can run them on its pool. Orbax stores
// every array this way. docs/ZARR.md lists what is read and what is refused.
#ifndef CAIRN_STORAGE_ZARR_ZARR_ARRAY_H_
#define CAIRN_STORAGE_ZARR_ZARR_ARRAY_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/storage/array.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "nlohmann/json.hpp"

namespace cairn {

struct ZarrMetadata {
  int zarr_format = 0;  // 2 or 3
  DType dtype = DType::kFloat32;
  Shape shape;
  Shape chunk_shape;                       // the grid's chunk (for sharded v3: the shard's shape)
  std::optional<Shape> inner_chunk_shape;  // v3 sharding_indexed: the inner chunks
  std::string codecs;                      // "sharding_indexed(bytes,zstd)", "zstd", "none"
  bool compressed = false;                 // some compressor present
  std::string fill_value;                  // one element in dtype's native (little-endian) bytes
  nlohmann::json attributes;  // v3 "attributes", for information; v2 .zattrs is not read
};

struct ZarrReadOptions {
  // Orbax's store_array_data_equal_to_fill_value: true means every chunk was written, so a
  // missing chunk is DataLoss naming its key; false means a missing chunk holds the fill value
  // (TensorStore's default, which skips chunks equal to it).
  bool every_chunk_stored = true;
  // Let values the destination's dtype cannot hold saturate, as StoreLoadOptions::saturate_casts.
  bool saturate_casts = false;
  // A chunk (or inner chunk, or shard index) whose decoded size is larger than this is refused
  // (ResourceExhausted) before anything is allocated for it.
  uint64_t max_chunk_bytes = uint64_t{1} << 32;
};

namespace zarr_internal {
struct ReadTarget;
struct ShardState;
}  // namespace zarr_internal

// One planned piece of work: a chunk (or inner chunk) that overlaps a region. Callers pass it to
// ZarrArray::Execute and may read the informational fields; the rest is the reader's.
struct ZarrChunkRead {
  std::string key;     // the chunk's key (for an inner chunk: its shard's), prefix included
  Shape chunk_origin;  // where the chunk (or inner chunk) starts in the array
  Shape chunk_shape;   // its shape (edge chunks are stored whole: this may reach past the array)

  // The reader's.
  std::shared_ptr<const zarr_internal::ReadTarget> target;
  std::shared_ptr<zarr_internal::ShardState> shard;  // null unless the array is sharded
  uint64_t inner_index = 0;  // the inner chunk's position in its shard's index
};

class ZarrArray {
 public:
  ~ZarrArray();
  ZarrArray(const ZarrArray&) = delete;
  ZarrArray& operator=(const ZarrArray&) = delete;

  // Reads `prefix` + "zarr.json" (v3) or, when that is absent, `prefix` + ".zarray" (v2);
  // `prefix` is "" or ends in '/'. NotFound when neither exists; InvalidArgument naming the key
  // for metadata that breaks the spec, DataLoss for text that is not JSON; Unimplemented naming
  // the codec, dtype or feature that is not read.
  static absl::StatusOr<std::unique_ptr<ZarrArray>> Open(
      std::shared_ptr<const KeyValueSource> source, std::string prefix);

  const ZarrMetadata& metadata() const;

  // Plans the reads that fill the region of the array starting at `origin` with the shape of
  // `destination` (any dtype CheckCastable from metadata().dtype; writable; row-major). Parts of
  // the region outside the array's shape are not written (the caller zero-fills them); every
  // element inside is written with stored data or the fill value. Only the chunks that overlap
  // the region are planned. `path` is the key path for messages. The destination's memory must
  // stay valid until the reads have been executed.
  absl::Status Plan(const Shape& origin, const Array& destination, const ZarrReadOptions& options,
                    const std::string& path, std::vector<ZarrChunkRead>* reads) const;

  // Executes one planned read (thread-safe, any order, concurrently): reads the chunk (for a
  // shard: its index once for all the reads planned together, then only the inner chunk),
  // decodes it through the codec chain, verifies crc32c, and copies it (with the cast and the
  // value check of CopyBox) into the destination. A chunk read whole that fills a contiguous
  // part of a destination of its own dtype, with nothing to swap or transpose, skips the copy:
  // stored raw it is read straight into the destination (KeyValueSource::ReadRangeInto), and
  // compressed it is decoded straight into it. Errors name the key path and the key.
  absl::Status Execute(const ZarrChunkRead& read) const;

  // Elements of the region (origin, shape) that stored chunks cover, from the keys present
  // (List; no chunk bytes read). A stored shard counts whole, whatever its index says.
  absl::StatusOr<uint64_t> CountStoredElements(const Shape& origin, const Shape& shape) const;

  // The whole array, read in this thread.
  absl::StatusOr<Array> ReadAll(const ZarrReadOptions& options = {},
                                const std::string& path = "") const;

 private:
  struct State;
  explicit ZarrArray(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_ZARR_ZARR_ARRAY_H_
