#include "cairn/storage/internal/shard_overlap.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace cairn {
namespace internal {
namespace {

bool IsEmpty(const format::Shard& shard) {
  for (uint64_t extent : shard.shape()) {
    if (extent == 0) return true;
  }
  return false;
}

bool Overlap(const format::Shard& a, const format::Shard& b) {
  for (int d = 0; d < a.origin_size(); ++d) {
    // Both ends are within the array (at most 2^62 each), so the sums cannot overflow.
    if (a.origin(d) >= b.origin(d) + b.shape(d) || b.origin(d) >= a.origin(d) + a.shape(d)) {
      return false;
    }
  }
  return true;
}

// The dimension along which the shards are thinnest relative to the array: sweeping along it
// keeps the shards that are open at any point fewest (rows for row shards, columns for column
// shards, either for a grid).
int SweepDimension(const format::ArrayLeaf& leaf, const std::vector<int>& shards) {
  const int rank = leaf.global_shape_size();
  int best = 0;
  double best_coverage = 0;
  for (int d = 0; d < rank; ++d) {
    const double extent = static_cast<double>(leaf.global_shape(d));
    double coverage = 0;
    for (int s : shards) coverage += static_cast<double>(leaf.shards(s).shape(d)) / extent;
    if (d == 0 || coverage < best_coverage) {
      best = d;
      best_coverage = coverage;
    }
  }
  return best;
}

}  // namespace

absl::StatusOr<std::optional<std::pair<int, int>>> FindOverlappingShards(
    const format::ArrayLeaf& leaf) {
  std::vector<int> shards;
  shards.reserve(leaf.shards_size());
  for (int s = 0; s < leaf.shards_size(); ++s) {
    if (!IsEmpty(leaf.shards(s))) shards.push_back(s);  // an empty shard holds no element
  }
  if (shards.size() < 2) return std::nullopt;
  if (leaf.global_shape_size() == 0) return std::make_pair(shards[0], shards[1]);  // scalars

  const int d = SweepDimension(leaf, shards);
  std::sort(shards.begin(), shards.end(), [&leaf, d](int a, int b) {
    return leaf.shards(a).origin(d) < leaf.shards(b).origin(d);
  });
  // Shards whose extent along `d` still reaches the current origin.
  std::vector<int> open;
  uint64_t comparisons = 0;
  for (int s : shards) {
    const format::Shard& shard = leaf.shards(s);
    const uint64_t start = shard.origin(d);
    open.erase(std::remove_if(open.begin(), open.end(),
                              [&leaf, d, start](int o) {
                                const format::Shard& other = leaf.shards(o);
                                return other.origin(d) + other.shape(d) <= start;
                              }),
               open.end());
    comparisons += open.size();
    if (comparisons > kMaxShardComparisons) {
      return absl::ResourceExhaustedError(
          absl::StrCat("the array's ", leaf.shards_size(),
                       " shards meet along every dimension too often to check them disjoint"));
    }
    for (int o : open) {
      if (Overlap(leaf.shards(o), shard)) return std::make_pair(std::min(o, s), std::max(o, s));
    }
    open.push_back(s);
  }
  return std::nullopt;
}

}  // namespace internal
}  // namespace cairn
