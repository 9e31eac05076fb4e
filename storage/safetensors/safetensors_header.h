// The safetensors header: an 8-byte little-endian size, then a JSON object naming each tensor's
// dtype, shape and byte range in the data buffer that follows, plus optional string metadata.
// Encoding lays tensors out; parsing enforces every rule a reader must (docs/SAFETENSORS.md).
#ifndef CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_HEADER_H_
#define CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_HEADER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn {

// The size of the little-endian header length that opens a file.
inline constexpr uint64_t kSafetensorsPrefixBytes = 8;
// The largest header a reader accepts, as the format's reference implementation caps it.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;
// The key of the optional string-to-string metadata object.
inline constexpr char kSafetensorsMetadataKey[] = "__metadata__";

struct SafetensorsTensor {
  std::string name;
  DType dtype = DType::kFloat32;
  Shape shape;
  // [begin, end) in the data buffer, which starts right after the header.
  uint64_t begin = 0;
  uint64_t end = 0;
};

struct SafetensorsHeader {
  // In data order: each tensor begins where the previous one ends.
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, std::string> metadata;
  // Bytes of the data buffer: the last tensor's end.
  uint64_t data_bytes() const { return tensors.empty() ? 0 : tensors.back().end; }
};

// Orders `tensors` as the format's reference writer does (larger elements first, then by name,
// so that every tensor starts at a multiple of its element size) and assigns their byte ranges
// back to back. InvalidArgument for a negative or overflowing shape.
absl::Status LayOutSafetensors(std::vector<SafetensorsTensor>& tensors);

// The 8-byte prefix and the JSON header of `header` (laid out already), padded with spaces so
// that the data buffer starts at a multiple of 8. InvalidArgument for an empty or reserved
// tensor name, text that is not UTF-8, ranges that are not back to back, or a header larger
// than kMaxSafetensorsHeaderBytes.
absl::StatusOr<std::string> EncodeSafetensorsHeader(const SafetensorsHeader& header);

// The header size the 8-byte `prefix` announces, checked against the cap and `file_bytes`.
// DataLoss naming `file` otherwise.
absl::StatusOr<uint64_t> DecodeSafetensorsHeaderSize(absl::string_view prefix, uint64_t file_bytes,
                                                     const std::string& file);

// Parses the JSON header `text` of a file whose data buffer holds `data_bytes` and checks every
// rule: a JSON object without duplicate keys; each tensor an object with a known dtype, a shape
// of non-negative integers and data_offsets [begin, end] with begin <= end; a byte size equal
// to the element count times the element size; ranges that do not overlap and cover the buffer
// with no hole; __metadata__ an object of strings. DataLoss naming `file`, the tensor and the
// rule for a violation; InvalidArgument for a valid dtype cairn has no type for.
absl::StatusOr<SafetensorsHeader> ParseSafetensorsHeader(absl::string_view text,
                                                         uint64_t data_bytes,
                                                         const std::string& file);

}  // namespace cairn

#endif  // CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_HEADER_H_
