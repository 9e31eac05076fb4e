#include "cairn/storage/internal/index_arena.h"

#include <cstdlib>

#include "cairn/utils/block_cache.h"

namespace cairn {
namespace {

BlockCache& Cache() {
  static BlockCache* cache = new BlockCache(kRetainedIndexArenaBytes);  // arenas may outlive it
  return *cache;
}

void* AllocateBlock(size_t size) {
  void* block = Cache().Take(size);
  return block != nullptr ? block : std::malloc(size);
}

void FreeBlock(void* block, size_t size) {
  if (!Cache().Give(block, size)) std::free(block);
}

}  // namespace

google::protobuf::ArenaOptions IndexArenaOptions() {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 4096;
  options.max_block_size = 1 << 20;
  options.block_alloc = &AllocateBlock;
  options.block_dealloc = &FreeBlock;
  return options;
}

size_t RetainedIndexArenaBytes() { return Cache().bytes(); }

}  // namespace cairn
