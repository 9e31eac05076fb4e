// Per-thread reusable buffers for the bytes of one chunk on its way to or from disk. A fresh
// allocation per chunk would map new memory each time and pay a page fault every 4 KiB.
#ifndef CAIRN_STORAGE_INTERNAL_SCRATCH_BUFFER_H_
#define CAIRN_STORAGE_INTERNAL_SCRATCH_BUFFER_H_

#include <cstdint>
#include <memory>

namespace cairn {

// What a scratch buffer holds; a thread may use one of each at once.
enum class ScratchUse {
  kStored,  // as in the data file: compressed, or raw
  kRaw,     // the elements in the stored dtype, in order
  kPlanes,  // the same bytes shuffled into planes
  kCount,
};

// Borrows the calling thread's buffer for `use`, grown to at least `size` bytes; valid until
// the next ScratchBuffer for the same use on the same thread. Sizes above a limit get a buffer
// of their own, freed with this object, so that no thread keeps a huge one.
class ScratchBuffer {
 public:
  ScratchBuffer(ScratchUse use, uint64_t size);
  ScratchBuffer(ScratchBuffer&&) = default;
  ScratchBuffer& operator=(ScratchBuffer&&) = default;

  char* data() const { return data_; }

 private:
  std::unique_ptr<char[]> own_;
  char* data_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_SCRATCH_BUFFER_H_
