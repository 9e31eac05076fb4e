// The encoding side of byte_reader.h: appends varints and fixed-width little-endian fields to
// the body of an OCDBT object being written.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_WRITER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_WRITER_H_

#include <cstddef>
#include <cstdint>
#include <string>

namespace cairn::ocdbt_internal {

// Bytes the varint of `value` takes: 1 to 10.
inline size_t VarintLength(uint64_t value) {
  size_t n = 1;
  while (value >= 0x80) {
    value >>= 7;
    ++n;
  }
  return n;
}

inline void AppendVarint(std::string* out, uint64_t value) {
  while (value >= 0x80) {
    out->push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out->push_back(static_cast<char>(value));
}

inline void AppendByte(std::string* out, uint8_t value) {
  out->push_back(static_cast<char>(value));
}

// The low `bytes` bytes of `value`, least significant first.
inline void AppendLittleEndian(std::string* out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_WRITER_H_
