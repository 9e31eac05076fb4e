// Fresh memory for large buffers that are written once in full right after they are allocated
// (a load's arrays, an async save's staging copies): large blocks can be mapped apart and advised
// for transparent huge pages, so that their first touch faults once per 2 MiB, not per 4 KiB.
#ifndef CAIRN_UTILS_FRESH_MEMORY_H_
#define CAIRN_UTILS_FRESH_MEMORY_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace cairn {

inline constexpr uint64_t kHugePageBytes = uint64_t{2} << 20;

// Blocks of at least this many bytes may get huge pages. Below it, rounding a block up to whole
// huge pages would waste up to half of it, and a mapping and unmapping per block costs more than
// the heap, which hands back small blocks already faulted in; from 4 MiB the rounding wastes at
// most a third, and a block's faults dwarf its two system calls.
inline constexpr uint64_t kHugePageMinBlockBytes = uint64_t{4} << 20;

enum class FreshPages {
  // The heap (glibc maps large blocks without advice): a fault per 4 KiB.
  kSmall,
  // Blocks of kHugePageMinBlockBytes or more are anonymous mappings rounded up to whole huge
  // pages and advised for them (MADV_HUGEPAGE, where the platform has it); smaller ones come
  // from the heap.
  kHugeWhenLarge,
};

// Huge-page blocks whose last owner went are kept, up to this many bytes in all, for the next
// block of the same size (already faulted in); beyond it they are unmapped at once.
inline constexpr uint64_t kKeptFreshBytes = uint64_t{64} << 20;

// At least `bytes` of writable, 64-byte aligned, uninitialised memory (a non-null block even for
// 0 bytes), freed (or kept, above) when the last owner goes. ResourceExhausted when there is
// none.
absl::StatusOr<std::shared_ptr<void>> AllocateFreshMemory(uint64_t bytes, FreshPages pages);
// The same, with the pages cairn's loads and async staging copies use.
absl::StatusOr<std::shared_ptr<void>> AllocateFreshMemory(uint64_t bytes);

// Bytes of freed huge-page blocks kept for reuse now.
uint64_t KeptFreshMemoryBytes();

// The blocks behind kHugeWhenLarge, for owners that free by size (utils/large_block_allocator.h):
// `bytes` rounded up to whole huge pages, a kept block of that size first, else a new advised
// mapping. Null when the system has no memory.
void* TakeHugePageBlock(uint64_t bytes);
// Gives back (to be kept, or unmapped) a block TakeHugePageBlock returned for the same `bytes`.
void GiveHugePageBlock(void* block, uint64_t bytes);

}  // namespace cairn

#endif  // CAIRN_UTILS_FRESH_MEMORY_H_
