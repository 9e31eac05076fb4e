// Where a load's fresh arrays get their memory (StoreLoadOptions::memory): the caller's own
// allocator, or an arena that keeps the memory of one load's arrays, once they are destroyed,
// for the next load, so that repeated loads stop paying a page fault per 4 KiB of fresh memory.
#ifndef CAIRN_STORAGE_ARRAY_MEMORY_H_
#define CAIRN_STORAGE_ARRAY_MEMORY_H_

#include <cstdint>
#include <memory>

#include "absl/status/statusor.h"

namespace cairn {

class ArrayMemory {
 public:
  virtual ~ArrayMemory() = default;

  // At least `bytes` (> 0) of writable memory, 64-byte aligned, whose contents the load then
  // overwrites; the returned owner keeps it alive and gives it back when the last array using
  // it is destroyed. Called from the loading thread. ResourceExhausted when there is none.
  virtual absl::StatusOr<std::shared_ptr<void>> Allocate(uint64_t bytes) = 0;
};

struct ArrayArenaOptions {
  // Advise the arena's mappings for transparent huge pages (madvise MADV_HUGEPAGE): a first
  // touch then costs a fault per 2 MiB instead of per 4 KiB. On by default, as for plain loads'
  // large arrays: even with the page cache full and the kernel compacting synchronously, fresh
  // 1 GiB loads into advised memory were 3 to 4 times faster than into 4 KiB pages on this
  // project's machine (docs/BENCHMARKS.md). Off for memory that must stay in small pages.
  bool huge_pages = true;
  // Freed blocks kept for reuse beyond this are unmapped, largest first.
  uint64_t max_kept_bytes = uint64_t{64} << 30;
};

// Anonymous mappings, one per array, kept for reuse: an array's memory returns to the arena when
// the last array using it is destroyed, and the next request of the same size (rounded up to
// whole pages) gets it back, already faulted in. Loads of the same tree ask for the same sizes,
// so a trainer that drops its last loaded state before loading the next reuses all of it.
// Thread-safe; arrays may outlive the arena (their memory is then unmapped when they go).
class ArrayArena final : public ArrayMemory {
 public:
  explicit ArrayArena(ArrayArenaOptions options = ArrayArenaOptions());
  ~ArrayArena() override;
  ArrayArena(const ArrayArena&) = delete;
  ArrayArena& operator=(const ArrayArena&) = delete;

  absl::StatusOr<std::shared_ptr<void>> Allocate(uint64_t bytes) override;

  // Bytes of freed blocks held for reuse.
  uint64_t kept_bytes() const;
  // Unmaps every block held for reuse.
  void Release();

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_ARRAY_MEMORY_H_
