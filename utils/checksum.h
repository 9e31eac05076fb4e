// The checksum cairn stores with every chunk and index: XXH3, 64 bits, seed 0.
#ifndef CAIRN_UTILS_CHECKSUM_H_
#define CAIRN_UTILS_CHECKSUM_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace cairn {

uint64_t Checksum64(const void* data, size_t size);
inline uint64_t Checksum64(absl::string_view data) { return Checksum64(data.data(), data.size()); }

}  // namespace cairn

#endif  // CAIRN_UTILS_CHECKSUM_H_
