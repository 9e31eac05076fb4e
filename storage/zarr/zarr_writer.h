// Writes one array as zarr v3 in the form Orbax v1 saves it (a single sharding_indexed codec: a
// shard per chunk-grid cell, its inner chunks bytes-then-zstd, a little-endian index with a
// CRC-32C at its end), so that TensorStore and Orbax read what a C++ trainer saved. Every inner
// chunk is written, also those equal to the fill value, as Orbax does. docs/ZARR.md ("Writing")
// describes the choices.
#ifndef CAIRN_STORAGE_ZARR_ZARR_WRITER_H_
#define CAIRN_STORAGE_ZARR_ZARR_WRITER_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/storage/array.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/zarr/key_value_sink.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {

enum class Zarr3Compression {
  kZstd,  // zstd at `zstd_level`, no checksum (Orbax's default, level 3)
  kNone,  // the inner chunks' bytes as they are
};

struct Zarr3WriteOptions {
  Zarr3Compression compression = Zarr3Compression::kZstd;
  int zstd_level = 3;
  // Orbax's chunk_byte_size: the most bytes an inner chunk should hold. Unset, an inner chunk is
  // the whole shard unless the shard is larger than `max_inner_chunk_bytes`.
  std::optional<uint64_t> inner_chunk_bytes;
  // The ceiling on any inner chunk: Orbax's default OCDBT data file size, 2 GiB. A target above
  // it is lowered to it, as Orbax does.
  uint64_t max_inner_chunk_bytes = uint64_t{2} << 30;
  // The chunk grid's cell, one key per shard. Unset: the shape of the array written (Orbax's
  // write shape). A dimension of 0 counts as 1 (zarr has no empty chunks).
  std::optional<Shape> shard_shape;
  // The whole array's shape and where the array written sits in it, for a save in which each
  // process writes its own shards. Unset: the array's placement when it has one, else the array
  // is the whole. The region must start on a shard boundary and hold whole shards (or reach the
  // end of the array in each dimension).
  std::optional<Shape> global_shape;
  std::optional<Shape> origin;
  // Whether this call writes zarr.json; in a save across processes exactly one should.
  bool write_metadata = true;
  // A CRC-32C after each inner chunk's encoded bytes (zarr's crc32c codec, last in the inner
  // chain), which every zarr reader checks: Orbax's own chain has none, so a damaged uncompressed
  // chunk would otherwise load without an error.
  bool chunk_checksums = false;
  // Inner chunks are encoded on up to `parallelism` threads of `pool` (and the caller's).
  ThreadPool* pool = nullptr;
  int parallelism = 1;
};

// Writes `array` under `prefix` ("a" puts "a/zarr.json" and the shards "a/c/0/0", ...; "" puts
// "zarr.json" and "c/0/0"): the metadata, then every shard of the region. InvalidArgument for a
// dtype zarr v3 has no name for, or a region or shard shape that does not fit; errors from the
// sink name the key. The array's bytes are compressed from its own memory, and left as they are
// without compression where an inner chunk is one contiguous run of them.
absl::Status WriteZarr3Array(KeyValueSink& sink, const std::string& prefix, const Array& array,
                             const Zarr3WriteOptions& options = {});

// The zarr.json that WriteZarr3Array writes for an array of `global_shape` and `dtype` in shards
// of `shard_shape` holding inner chunks of `inner_shape`: canonical JSON (sorted keys, no
// spaces), as TensorStore writes it.
absl::StatusOr<std::string> Zarr3MetadataJson(DType dtype, const Shape& global_shape,
                                              const Shape& shard_shape, const Shape& inner_shape,
                                              Zarr3Compression compression, int zstd_level,
                                              bool chunk_checksums = false);

}  // namespace cairn

#endif  // CAIRN_STORAGE_ZARR_ZARR_WRITER_H_
