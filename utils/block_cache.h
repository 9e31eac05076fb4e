// Memory blocks given back by their last user, kept by size for the next request of the same
// size, up to a bound on the bytes kept: memory already faulted in costs no page faults again.
#ifndef CAIRN_UTILS_BLOCK_CACHE_H_
#define CAIRN_UTILS_BLOCK_CACHE_H_

#include <cstdint>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace cairn {

// Thread-safe. Holds pointers only: what a block is and how it is freed is the owner's.
class BlockCache {
 public:
  explicit BlockCache(uint64_t max_bytes) : max_bytes_(max_bytes) {}

  // A kept block of exactly `size` bytes, or null.
  void* Take(uint64_t size);
  // Keeps `block` (of `size` bytes) and returns true, or returns false when keeping it would
  // exceed the bound: the caller frees it then.
  bool Give(void* block, uint64_t size);
  // Bytes of the blocks kept now.
  uint64_t bytes() const;

 private:
  const uint64_t max_bytes_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<uint64_t, std::vector<void*>> kept_ ABSL_GUARDED_BY(mu_);
  uint64_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace cairn

#endif  // CAIRN_UTILS_BLOCK_CACHE_H_
