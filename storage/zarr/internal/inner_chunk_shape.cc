#include "cairn/storage/zarr/internal/inner_chunk_shape.h"

#include <algorithm>
#include <vector>

namespace cairn::zarr_internal {
namespace {

// The divisors of `n` (n >= 1), ascending.
std::vector<int64_t> Divisors(int64_t n) {
  std::vector<int64_t> low, high;
  for (int64_t i = 1; i * i <= n; ++i) {
    if (n % i != 0) continue;
    low.push_back(i);
    if (i != n / i) high.push_back(n / i);
  }
  low.insert(low.end(), high.rbegin(), high.rend());
  return low;
}

}  // namespace

Shape ChooseInnerChunkShape(const Shape& global_shape, const Shape& shard_shape, DType dtype,
                            std::optional<uint64_t> target_bytes) {
  if (!target_bytes.has_value()) return shard_shape;
  const size_t rank = shard_shape.size();
  const uint64_t target_elements = std::max<uint64_t>(1, *target_bytes / DTypeSize(dtype));
  // divisors[d] shrinks from the back: its last entry is the current size of dimension d.
  std::vector<std::vector<int64_t>> divisors(rank);
  std::vector<bool> sharded(rank);
  uint64_t elements = 1;
  for (size_t d = 0; d < rank; ++d) {
    divisors[d] = Divisors(shard_shape[d]);
    sharded[d] = d < global_shape.size() && global_shape[d] != shard_shape[d];
    elements *= static_cast<uint64_t>(shard_shape[d]);
  }
  while (elements > target_elements) {
    // The largest dimension among those preferred; once none of them can shrink, any.
    int best = -1;
    int64_t best_size = 1;
    for (size_t d = 0; d < rank; ++d) {
      if (sharded[d] && divisors[d].back() > best_size) {
        best = static_cast<int>(d);
        best_size = divisors[d].back();
      }
    }
    if (best < 0) {
      std::fill(sharded.begin(), sharded.end(), true);
      continue;
    }
    std::vector<int64_t>& sizes = divisors[best];
    elements = elements / static_cast<uint64_t>(sizes.back());
    sizes.pop_back();
    elements *= static_cast<uint64_t>(sizes.back());
    sharded[best] = true;
  }
  Shape chosen(rank);
  for (size_t d = 0; d < rank; ++d) chosen[d] = divisors[d].back();
  return chosen;
}

}  // namespace cairn::zarr_internal
