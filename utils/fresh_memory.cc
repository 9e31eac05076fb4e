#include "cairn/utils/fresh_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/block_cache.h"

namespace cairn {
namespace {

constexpr uint64_t kAlignment = 64;

// Measured with the page cache full and without (docs/BENCHMARKS.md, "Fresh memory"): every
// huge-page load of 1 GiB was faster than every one in 4 KiB pages.
constexpr FreshPages kDefaultPages = FreshPages::kHugeWhenLarge;

uint64_t RoundUp(uint64_t bytes, uint64_t unit) { return (bytes + unit - 1) / unit * unit; }

// What a huge-page block of `bytes` maps, and the size it is kept under.
uint64_t HugePageBlockSize(uint64_t bytes) {
  return RoundUp(std::max<uint64_t>(bytes, 1), kHugePageBytes);
}

absl::StatusOr<std::shared_ptr<void>> HeapBlock(uint64_t bytes) {
  // aligned_alloc needs a size that is a multiple of the alignment, and a non-zero one.
  void* memory = std::aligned_alloc(kAlignment, RoundUp(std::max<uint64_t>(bytes, 1), kAlignment));
  if (memory == nullptr) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot allocate ", bytes, " bytes"));
  }
  return std::shared_ptr<void>(memory, [](void* p) { std::free(p); });
}

// Mappings whose last owner went, kept for the next block of their size: a program that loads
// one array again and again (a server, an evaluation walking the leaves) would otherwise map,
// fault in (the kernel zeroes every page) and unmap it each time, which made a warm load of
// one 4 MiB array 1.5 times slower than from the heap, which reuses its blocks.
BlockCache& Kept() {
  // Never destroyed: arrays may outlive static destruction.
  static BlockCache* kept = new BlockCache(kKeptFreshBytes);
  return *kept;
}

absl::StatusOr<std::shared_ptr<void>> HugePageBlock(uint64_t bytes) {
  void* block = TakeHugePageBlock(bytes);
  if (block == nullptr) {
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot map ", HugePageBlockSize(bytes), " bytes: ", std::strerror(errno)));
  }
  return std::shared_ptr<void>(block, [bytes](void* p) { GiveHugePageBlock(p, bytes); });
}

}  // namespace

absl::StatusOr<std::shared_ptr<void>> AllocateFreshMemory(uint64_t bytes, FreshPages pages) {
  if (pages == FreshPages::kHugeWhenLarge && bytes >= kHugePageMinBlockBytes) {
    return HugePageBlock(bytes);
  }
  return HeapBlock(bytes);
}

absl::StatusOr<std::shared_ptr<void>> AllocateFreshMemory(uint64_t bytes) {
  return AllocateFreshMemory(bytes, kDefaultPages);
}

uint64_t KeptFreshMemoryBytes() { return Kept().bytes(); }

void* TakeHugePageBlock(uint64_t bytes) {
  const uint64_t size = HugePageBlockSize(bytes);
  if (void* kept = Kept().Take(size)) return kept;
  void* block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) return nullptr;
#ifdef MADV_HUGEPAGE
  // Advice only: where the kernel has no transparent huge pages the block keeps 4 KiB pages.
  ::madvise(block, size, MADV_HUGEPAGE);
#endif
  return block;
}

void GiveHugePageBlock(void* block, uint64_t bytes) {
  const uint64_t size = HugePageBlockSize(bytes);
  if (!Kept().Give(block, size)) ::munmap(block, size);
}

}  // namespace cairn
