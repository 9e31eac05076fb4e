#include "cairn/utils/checksum.h"

#include <xxhash.h>

namespace cairn {

uint64_t Checksum64(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace cairn
