#include "cairn/storage/array_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/fresh_memory.h"

namespace cairn {
namespace {

constexpr uint64_t kPageBytes = 4096;

uint64_t RoundUp(uint64_t bytes, uint64_t unit) { return (bytes + unit - 1) / unit * unit; }

}  // namespace

struct ArrayArena::State {
  explicit State(ArrayArenaOptions o) : options(o) {}

  // Takes back a block whose last array is gone: kept for reuse, or unmapped.
  void Return(void* block, uint64_t size) {
    {
      absl::MutexLock lock(&mu);
      if (!closed && kept + size <= options.max_kept_bytes) {
        free.emplace(size, block);
        kept += size;
        return;
      }
    }
    ::munmap(block, size);
  }

  const ArrayArenaOptions options;
  mutable absl::Mutex mu;
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::multimap<uint64_t, void*> free ABSL_GUARDED_BY(mu);  // by size
  uint64_t kept ABSL_GUARDED_BY(mu) = 0;
};

ArrayArena::ArrayArena(ArrayArenaOptions options) : state_(std::make_shared<State>(options)) {}

ArrayArena::~ArrayArena() {
  Release();
  absl::MutexLock lock(&state_->mu);
  state_->closed = true;  // blocks still in use are unmapped when their arrays go
}

absl::StatusOr<std::shared_ptr<void>> ArrayArena::Allocate(uint64_t bytes) {
  // Blocks of a huge page or more are whole huge pages, so that all of them can be huge.
  const uint64_t size = state_->options.huge_pages && bytes >= kHugePageBytes
                            ? RoundUp(bytes, kHugePageBytes)
                            : RoundUp(std::max<uint64_t>(bytes, 1), kPageBytes);
  void* block = nullptr;
  {
    absl::MutexLock lock(&state_->mu);
    const auto it = state_->free.find(size);
    if (it != state_->free.end()) {
      block = it->second;
      state_->free.erase(it);
      state_->kept -= size;
    }
  }
  if (block == nullptr) {
    block = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (block == MAP_FAILED) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot map ", size, " bytes for an array: ", std::strerror(errno)));
    }
    if (state_->options.huge_pages) ::madvise(block, size, MADV_HUGEPAGE);
  }
  std::shared_ptr<State> state = state_;
  return std::shared_ptr<void>(block, [state, size](void* p) { state->Return(p, size); });
}

uint64_t ArrayArena::kept_bytes() const {
  absl::MutexLock lock(&state_->mu);
  return state_->kept;
}

void ArrayArena::Release() {
  std::multimap<uint64_t, void*> blocks;
  {
    absl::MutexLock lock(&state_->mu);
    blocks.swap(state_->free);
    state_->kept = 0;
  }
  for (const auto& [size, block] : blocks) ::munmap(block, size);
}

}  // namespace cairn
