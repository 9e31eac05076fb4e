// An allocator for the large temporary arrays of one operation (a save's list of 100,000 pieces,
// its chunks): from kLargeBlockBytes on, huge-page blocks kept across operations
// (utils/fresh_memory.h). Filling one then faults once per 2 MiB, or not at all when an earlier
// operation's block is reused, where the heap maps every large block afresh and faults per 4 KiB.
#ifndef CAIRN_UTILS_LARGE_BLOCK_ALLOCATOR_H_
#define CAIRN_UTILS_LARGE_BLOCK_ALLOCATOR_H_

#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <vector>

#include "cairn/utils/fresh_memory.h"

namespace cairn {

// From here on a block is rounded up to whole huge pages: at most three quarters of it wasted,
// for arrays that live as long as one save.
inline constexpr size_t kLargeBlockBytes = size_t{512} << 10;

// Stateless; every instance frees what any other allocated. Throws std::bad_alloc when there is
// no memory, as std::allocator does.
template <typename T>
class LargeBlockAllocator {
 public:
  using value_type = T;

  LargeBlockAllocator() = default;
  template <typename U>
  LargeBlockAllocator(const LargeBlockAllocator<U>&) noexcept {}  // NOLINT: rebinding

  T* allocate(size_t n) {
    if (n > std::numeric_limits<size_t>::max() / sizeof(T)) throw std::bad_array_new_length();
    const size_t bytes = n * sizeof(T);
    if (bytes < kLargeBlockBytes) return std::allocator<T>().allocate(n);
    void* block = TakeHugePageBlock(bytes);
    if (block == nullptr) throw std::bad_alloc();
    return static_cast<T*>(block);
  }

  void deallocate(T* p, size_t n) noexcept {
    const size_t bytes = n * sizeof(T);
    if (bytes < kLargeBlockBytes) {
      std::allocator<T>().deallocate(p, n);
    } else {
      GiveHugePageBlock(p, bytes);
    }
  }

  template <typename U>
  bool operator==(const LargeBlockAllocator<U>&) const noexcept {
    return true;
  }
  template <typename U>
  bool operator!=(const LargeBlockAllocator<U>&) const noexcept {
    return false;
  }
};

template <typename T>
using LargeVector = std::vector<T, LargeBlockAllocator<T>>;

}  // namespace cairn

#endif  // CAIRN_UTILS_LARGE_BLOCK_ALLOCATOR_H_
