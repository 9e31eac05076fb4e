// CRC-32C (Castagnoli), the checksum of formats that cairn reads but did not define (OCDBT).
// Uses the SSE4.2 crc32 instruction when the CPU has it, a table otherwise; both give the same
// value.
#ifndef CAIRN_UTILS_CRC32C_H_
#define CAIRN_UTILS_CRC32C_H_

#include <cstddef>
#include <cstdint>

#include "absl/strings/string_view.h"

namespace cairn {

// The CRC-32C of `data` continued from `crc`, the CRC-32C of the bytes before it (0 for none):
// Crc32cExtend(Crc32c(a), b) == Crc32c(a + b).
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t size);

inline uint32_t Crc32c(const void* data, size_t size) { return Crc32cExtend(0, data, size); }
inline uint32_t Crc32c(absl::string_view data) { return Crc32c(data.data(), data.size()); }

// The table implementation alone, whatever the CPU: lets tests hold the fast path to it.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t size);

}  // namespace cairn

#endif  // CAIRN_UTILS_CRC32C_H_
