#include "cairn/storage/internal/byte_shuffle.h"

#include <cstring>

namespace cairn {
namespace {

// Fixed widths (those of every multi-byte dtype) let the compiler unroll and vectorise.
// Elements at a time: a block of the source and the matching run of every plane stay in the
// first-level cache, whichever way the bytes go.
constexpr uint64_t kBlock = 4096;

template <size_t kWidth, bool kForward>
void Blocked(const char* src, uint64_t count, char* dst) {
  const auto* s = reinterpret_cast<const unsigned char*>(src);
  auto* d = reinterpret_cast<unsigned char*>(dst);
  for (uint64_t first = 0; first < count; first += kBlock) {
    const uint64_t n = count - first < kBlock ? count - first : kBlock;
    for (size_t b = 0; b < kWidth; ++b) {
      for (uint64_t i = 0; i < n; ++i) {
        if constexpr (kForward) {
          d[b * count + first + i] = s[(first + i) * kWidth + b];
        } else {
          d[(first + i) * kWidth + b] = s[b * count + first + i];
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
      return Blocked<2, kForward>(src, count, dst);
    case 4:
      return Blocked<4, kForward>(src, count, dst);
    case 8:
      return Blocked<8, kForward>(src, count, dst);
    case 16:
      return Blocked<16, kForward>(src, count, dst);
    default:
      break;
  }
  const auto* s = reinterpret_cast<const unsigned char*>(src);
  auto* d = reinterpret_cast<unsigned char*>(dst);
  for (uint64_t i = 0; i < count; ++i) {
    for (size_t b = 0; b < width; ++b) {
      if constexpr (kForward) {
        d[b * count + i] = s[i * width + b];
      } else {
        d[i * width + b] = s[b * count + i];
      }
    }
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
