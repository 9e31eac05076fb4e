#include "cairn/utils/checksum.h"

// The state's layout is needed to hold it by value rather than allocate it with a call that
// can fail.
#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

namespace cairn {

uint64_t Checksum64(const void* data, size_t size) { return XXH3_64bits(data, size); }

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
