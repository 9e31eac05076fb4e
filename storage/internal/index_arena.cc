#include "cairn/storage/internal/index_arena.h"

#include <cstdlib>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"

namespace cairn {
namespace {

// Free blocks by size. Arenas grow their blocks by doubling, so a few sizes cover every block.
class BlockCache {
 public:
  void* Take(size_t size) {
    {
      absl::MutexLock lock(&mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        void* block = it->second.back();
        it->second.pop_back();
        retained_ -= size;
        return block;
      }
    }
    return std::malloc(size);
  }

  void Give(void* block, size_t size) {
    {
      absl::MutexLock lock(&mu_);
      if (retained_ + size <= kRetainedIndexArenaBytes) {
        free_[size].push_back(block);
        retained_ += size;
        return;
      }
    }
    std::free(block);
  }

  size_t retained() {
    absl::MutexLock lock(&mu_);
    return retained_;
  }

 private:
  absl::Mutex mu_;
  absl::flat_hash_map<size_t, std::vector<void*>> free_ ABSL_GUARDED_BY(mu_);
  size_t retained_ ABSL_GUARDED_BY(mu_) = 0;
};

BlockCache& Cache() {
  static BlockCache* cache = new BlockCache();  // never destroyed: arenas may outlive statics
  return *cache;
}

void* AllocateBlock(size_t size) { return Cache().Take(size); }
void FreeBlock(void* block, size_t size) { Cache().Give(block, size); }

}  // namespace

google::protobuf::ArenaOptions IndexArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 4096;
  options.max_block_size = 1 << 20;
  options.block_alloc = &AllocateBlock;
  options.block_dealloc = &FreeBlock;
  return options;
}

size_t RetainedIndexArenaBytes() { return Cache().retained(); }

}  // namespace cairn
