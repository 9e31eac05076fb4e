// Byte shuffling of fixed-size elements before compression: the first bytes of every element,
// then the second bytes, and so on. Floats keep their sign and exponent in their high bytes,
// which vary little between neighbouring elements; gathered in one run they compress far
// better than interleaved with the near-random low mantissa bytes.
#ifndef CAIRN_STORAGE_INTERNAL_BYTE_SHUFFLE_H_
#define CAIRN_STORAGE_INTERNAL_BYTE_SHUFFLE_H_

#include <cstddef>
#include <cstdint>

namespace cairn {

// `src` holds `count` elements of `width` bytes; `dst` receives byte plane b (byte b of every
// element) at dst + b * count. The buffers must not overlap.
void ByteShuffle(const char* src, size_t width, uint64_t count, char* dst);

// The inverse of ByteShuffle.
void ByteUnshuffle(const char* src, size_t width, uint64_t count, char* dst);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_BYTE_SHUFFLE_H_
