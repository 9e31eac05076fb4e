#include "cairn/storage/internal/scratch_buffer.h"

namespace cairn {
namespace {

// Chunks are 8 MiB by default; a few times that covers compression bounds and larger choices.
constexpr uint64_t kMaxKeptBytes = uint64_t{64} << 20;

struct ThreadBuffers {
  std::unique_ptr<char[]> data[static_cast<int>(ScratchUse::kCount)];
  uint64_t size[static_cast<int>(ScratchUse::kCount)] = {};
};

}  // namespace

ScratchBuffer::ScratchBuffer(ScratchUse use, uint64_t size) {
  if (size > kMaxKeptBytes) {
    own_.reset(new char[size]);
    data_ = own_.get();
    return;
  }
  thread_local ThreadBuffers buffers;
  const int i = static_cast<int>(use);
  if (buffers.size[i] < size) {
    buffers.data[i].reset();  // freed before the larger one is mapped
    buffers.data[i].reset(new char[size]);
    buffers.size[i] = size;
  }
  data_ = buffers.data[i].get();
}

}  // namespace cairn
