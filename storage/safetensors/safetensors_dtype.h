// The element types of the safetensors format and how they map to cairn's DTypes.
#ifndef CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_DTYPE_H_
#define CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_DTYPE_H_

#include <optional>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"

namespace cairn {

// Whether `name` is one of the format's dtype names ("F32", "BF16", "F8_E4M3", "F4", ...),
// whether or not cairn has an element type for it.
bool IsKnownSafetensorsDType(absl::string_view name);

// The safetensors name of `dtype`; InvalidArgument when the format has none (complex128).
absl::StatusOr<absl::string_view> SafetensorsDTypeName(DType dtype);

// The cairn dtype a safetensors dtype name stands for; nullopt for names cairn has no type for
// (F8_E8M0, the sub-byte F4 and F6 formats) and for names the format does not define.
std::optional<DType> DTypeFromSafetensors(absl::string_view name);

}  // namespace cairn

#endif  // CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_DTYPE_H_
