#include "cairn/utils/checksum.h"

// The state's layout is needed to hold it by value rather than allocate it with a call that
// can fail.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#ifdef CAIRN_CHECKSUM_AVX2
#include "cairn/utils/internal/checksum_avx2.h"
#endif

namespace cairn {
namespace {

using Hash64 = uint64_t (*)(const void*, size_t);

Hash64 PickHash64() {
#ifdef CAIRN_CHECKSUM_AVX2
  // Initialised here, as the first checksum may be taken before the runtime's own constructor
  // has filled in the CPU's features.
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) return &internal::Checksum64Avx2;
#endif
  return [](const void* data, size_t size) -> uint64_t { return XXH3_64bits(data, size); };
}

}  // namespace

uint64_t Checksum64(const void* data, size_t size) {
  static const Hash64 hash = PickHash64();
  return hash(data, size);
}

struct StreamingChecksum64::State {
  XXH3_state_t xxh;
};

StreamingChecksum64::StreamingChecksum64() : state_(std::make_unique<State>()) {
  XXH3_64bits_reset(&state_->xxh);
}
StreamingChecksum64::~StreamingChecksum64() = default;

void StreamingChecksum64::Update(absl::string_view data) {
  XXH3_64bits_update(&state_->xxh, data.data(), data.size());
}

uint64_t StreamingChecksum64::Digest() const { return XXH3_64bits_digest(&state_->xxh); }

}  // namespace cairn
