// The build compiles this file alone with -mavx2 (CMakeLists.txt), on x86-64. The system's
// xxHash is built for baseline x86-64, whose SSE2 loop hashes warm memory at about 60% of the
// speed of its AVX2 loop here (docs/BENCHMARKS.md, "Checksums, chunk placement and the staged
// index"); its run-time dispatch picks AVX-512, which was no faster. So the library's own
// header is compiled a second time for AVX2.
//
// Besides this file's own header (declarations and integer types), only xxHash's C header is
// included: every function it defines is static (inlined into this file), so no AVX2 code can
// stand in for an inline function of another file.
#include "cairn/utils/internal/checksum_avx2.h"

#ifndef __AVX2__
#error "checksum_avx2.cc must be compiled with -mavx2"
#endif

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace cairn::internal {

uint64_t Checksum64Avx2(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace cairn::internal
