// Whether the shards an index records for one array are disjoint, as the format requires: two
// shards sharing an element would have two chunk reads race on the same destination bytes.
#ifndef CAIRN_STORAGE_INTERNAL_SHARD_OVERLAP_H_
#define CAIRN_STORAGE_INTERNAL_SHARD_OVERLAP_H_

#include <cstdint>
#include <optional>
#include <utility>

#include "absl/status/statusor.h"
#include "cairn/storage/index.pb.h"

namespace cairn {
namespace internal {

// Pairs of shards compared at most: a sweep along the dimension where shards are thinnest
// compares only shards that meet along it, which for the layouts saves make (grids of pieces,
// rows, columns) is a few per shard.
inline constexpr uint64_t kMaxShardComparisons = uint64_t{1} << 24;

// The indexes of two of `leaf`'s shards that share an element, or nullopt when none do. Each
// shard must already lie inside the array with the array's rank. ResourceExhausted when the
// shards meet along every dimension so often that checking them would take more than
// kMaxShardComparisons comparisons.
absl::StatusOr<std::optional<std::pair<int, int>>> FindOverlappingShards(
    const format::ArrayLeaf& leaf);

}  // namespace internal
}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_SHARD_OVERLAP_H_
