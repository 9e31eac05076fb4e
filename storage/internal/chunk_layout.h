// How a shard is cut into chunks: runs of whole rows along dimension 0, so that every chunk is
// one contiguous block of the shard's row-major bytes. A rank-0 shard is one row.
#ifndef CAIRN_STORAGE_INTERNAL_CHUNK_LAYOUT_H_
#define CAIRN_STORAGE_INTERNAL_CHUNK_LAYOUT_H_

#include <algorithm>
#include <cstdint>

#include "cairn/storage/shape.h"

namespace cairn {

// Rows of a shard of `shape`: shape[0], or 1 for a scalar.
inline uint64_t ShardRows(const Shape& shape) {
  return shape.empty() ? 1 : static_cast<uint64_t>(shape[0]);
}

// Elements in one row: the product of shape[1:] (1 for rank 0 and rank 1). The caller has
// validated the shape, so the product cannot overflow.
inline uint64_t RowElements(const Shape& shape) {
  uint64_t count = 1;
  for (size_t d = 1; d < shape.size(); ++d) count *= static_cast<uint64_t>(shape[d]);
  return count;
}

inline uint64_t NumChunks(const Shape& shape, uint64_t chunk_rows) {
  const uint64_t rows = ShardRows(shape);
  // Not (rows + chunk_rows - 1) / chunk_rows: that wraps for a huge chunk_rows from a file.
  return rows / chunk_rows + (rows % chunk_rows != 0 ? 1 : 0);
}

struct RowRange {
  uint64_t begin;
  uint64_t end;
  uint64_t size() const { return end - begin; }
};

// The rows of chunk `chunk` of a shard of `rows` rows.
inline RowRange ChunkRowRange(uint64_t rows, uint64_t chunk_rows, uint64_t chunk) {
  const uint64_t begin = chunk * chunk_rows;
  return RowRange{begin, std::min(begin + chunk_rows, rows)};
}

inline RowRange ChunkRowRange(const Shape& shape, uint64_t chunk_rows, uint64_t chunk) {
  return ChunkRowRange(ShardRows(shape), chunk_rows, chunk);
}

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_CHUNK_LAYOUT_H_
