#include "cairn/utils/block_cache.h"

namespace cairn {

void* BlockCache::Take(uint64_t size) {
  absl::MutexLock lock(&mu_);
  auto it = kept_.find(size);
  if (it == kept_.end() || it->second.empty()) return nullptr;
  void* block = it->second.back();
  it->second.pop_back();
  bytes_ -= size;
  return block;
}

bool BlockCache::Give(void* block, uint64_t size) {
  absl::MutexLock lock(&mu_);
  if (size > max_bytes_ || bytes_ > max_bytes_ - size) return false;
  kept_[size].push_back(block);
  bytes_ += size;
  return true;
}

uint64_t BlockCache::bytes() const {
  absl::MutexLock lock(&mu_);
  return bytes_;
}

}  // namespace cairn
