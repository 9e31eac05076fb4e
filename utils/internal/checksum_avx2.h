// XXH3-64 compiled for AVX2, which utils/checksum.cc picks at run time on CPUs that have it.
#ifndef CAIRN_UTILS_INTERNAL_CHECKSUM_AVX2_H_
#define CAIRN_UTILS_INTERNAL_CHECKSUM_AVX2_H_

#include <cstddef>
#include <cstdint>

namespace cairn::internal {

// The same hash as the system library's XXH3_64bits; call only where the CPU has AVX2.
uint64_t Checksum64Avx2(const void* data, size_t size);

}  // namespace cairn::internal

#endif  // CAIRN_UTILS_INTERNAL_CHECKSUM_AVX2_H_
