// How Orbax splits a shard into inner chunks when a byte target is set: the inner chunk shape
// divides the shard's shape dimension by dimension and holds at most the target's bytes, found
// by shrinking the largest dimension (sharded dimensions first) to its next smaller divisor.
// docs/ZARR.md ("Writing") says why the writer follows it.
#ifndef CAIRN_STORAGE_ZARR_INTERNAL_INNER_CHUNK_SHAPE_H_
#define CAIRN_STORAGE_ZARR_INTERNAL_INNER_CHUNK_SHAPE_H_

#include <cstdint>
#include <optional>

#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn::zarr_internal {

// The inner chunk of a shard of `shard_shape` (every dimension at least 1) of an array of
// `global_shape`, of at most `target_bytes` of `dtype` when given (at least one element),
// otherwise the shard itself. A dimension where the shard is smaller than the array is
// "sharded" and is split first.
Shape ChooseInnerChunkShape(const Shape& global_shape, const Shape& shard_shape, DType dtype,
                            std::optional<uint64_t> target_bytes);

}  // namespace cairn::zarr_internal

#endif  // CAIRN_STORAGE_ZARR_INTERNAL_INNER_CHUNK_SHAPE_H_
