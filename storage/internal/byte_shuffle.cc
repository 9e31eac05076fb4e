#include "cairn/storage/internal/byte_shuffle.h"

#include <cstring>

namespace cairn {
namespace {

// Elements at a time: a block of the source and the matching run of every plane stay in the
// first-level cache, whichever way the bytes go.
constexpr uint64_t kBlock = 4096;

// kWidth is the element width when known at compile time (every multi-byte dtype's, so that the
// compiler unrolls and vectorises each), 0 to take `runtime_width`.
template <size_t kWidth, bool kForward>
void Transpose(const char* src, size_t runtime_width, uint64_t count, char* dst) {
  const size_t width = kWidth != 0 ? kWidth : runtime_width;
  const auto* s = reinterpret_cast<const unsigned char*>(src);
  auto* d = reinterpret_cast<unsigned char*>(dst);
  for (uint64_t first = 0; first < count; first += kBlock) {
    const uint64_t n = count - first < kBlock ? count - first : kBlock;
    for (size_t b = 0; b < width; ++b) {
      for (uint64_t i = 0; i < n; ++i) {
        if constexpr (kForward) {
          d[b * count + first + i] = s[(first + i) * width + b];
        } else {
          d[(first + i) * width + b] = s[b * count + first + i];
        }
      }
    }
  }
}

template <bool kForward>
void Dispatch(const char* src, size_t width, uint64_t count, char* dst) {
  switch (width) {
    case 1:
      std::memcpy(dst, src, count);
      return;
    case 2:
      return Transpose<2, kForward>(src, 2, count, dst);
    case 4:
      return Transpose<4, kForward>(src, 4, count, dst);
    case 8:
      return Transpose<8, kForward>(src, 8, count, dst);
    case 16:
      return Transpose<16, kForward>(src, 16, count, dst);
    default:
      return Transpose<0, kForward>(src, width, count, dst);
  }
}

}  // namespace

void ByteShuffle(const char* src, size_t width, uint64_t count, char* dst) {
  Dispatch<true>(src, width, count, dst);
}

void ByteUnshuffle(const char* src, size_t width, uint64_t count, char* dst) {
  Dispatch<false>(src, width, count, dst);
}

}  // namespace cairn
