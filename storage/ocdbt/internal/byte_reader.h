// A bounds-checked cursor over the decoded bytes of one OCDBT object: every read that would run
// past the end, and every varint that is malformed or too large for its field, is DataLoss.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_READER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_READER_H_

#include <cstddef>
#include <cstdint>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace cairn::ocdbt_internal {

class ByteReader {
 public:
  explicit ByteReader(absl::string_view data) : data_(data) {}

  size_t position() const { return pos_; }
  size_t remaining() const { return data_.size() - pos_; }

  // DataLoss naming the byte position, for the caller's own checks.
  absl::Status Error(absl::string_view what) const {
    return absl::DataLossError(absl::StrCat(what, " (at byte ", pos_, ")"));
  }

  absl::Status ReadByte(uint8_t* out, absl::string_view field) {
    if (remaining() < 1) return Truncated(field);
    *out = static_cast<uint8_t>(data_[pos_++]);
    return absl::OkStatus();
  }

  // A little-endian base-128 varint of at most 10 bytes whose value is at most `max`.
  absl::Status ReadVarint(uint64_t* out, absl::string_view field,
                          uint64_t max = std::numeric_limits<uint64_t>::max()) {
    uint64_t value = 0;
    for (int shift = 0;; shift += 7) {
      if (remaining() < 1) return Truncated(field);
      uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      if (shift == 63 && byte > 1) return Error(absl::StrCat(field, ": varint overflows 64 bits"));
      value |= static_cast<uint64_t>(byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) break;
      if (shift == 63) return Error(absl::StrCat(field, ": varint longer than 10 bytes"));
    }
    if (value > max) {
      return Error(absl::StrCat(field, " = ", value, " exceeds its limit of ", max));
    }
    *out = value;
    return absl::OkStatus();
  }

  absl::Status ReadLittleEndian32(uint32_t* out, absl::string_view field) {
    uint64_t value;
    absl::Status status = ReadFixed(4, &value, field);
    *out = static_cast<uint32_t>(value);
    return status;
  }
  absl::Status ReadLittleEndian64(uint64_t* out, absl::string_view field) {
    return ReadFixed(8, out, field);
  }

  absl::Status ReadBytes(size_t n, absl::string_view* out, absl::string_view field) {
    if (remaining() < n) return Truncated(field);
    *out = data_.substr(pos_, n);
    pos_ += n;
    return absl::OkStatus();
  }

  // OK only when every byte was consumed: trailing bytes mean the object is not what it says.
  absl::Status ExpectEnd() const {
    if (remaining() != 0) return Error(absl::StrCat(remaining(), " unexpected trailing bytes"));
    return absl::OkStatus();
  }

 private:
  absl::Status Truncated(absl::string_view field) const {
    return Error(absl::StrCat("truncated reading ", field));
  }
  absl::Status ReadFixed(int n, uint64_t* out, absl::string_view field) {
    if (remaining() < static_cast<size_t>(n)) return Truncated(field);
    uint64_t value = 0;
    for (int i = 0; i < n; ++i) {
      value |= static_cast<uint64_t>(static_cast<uint8_t>(data_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    *out = value;
    return absl::OkStatus();
  }

  absl::string_view data_;
  size_t pos_ = 0;
};

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_BYTE_READER_H_
