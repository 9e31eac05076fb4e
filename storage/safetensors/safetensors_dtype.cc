#include "cairn/storage/safetensors/safetensors_dtype.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace cairn {
namespace {

struct Mapping {
  DType dtype;
  absl::string_view name;
};

// float8_e4m3fn is what the format calls F8_E4M3 (PyTorch's torch.float8_e4m3fn).
constexpr Mapping kMappings[] = {
    {DType::kBool, "BOOL"},
    {DType::kUInt8, "U8"},
    {DType::kInt8, "I8"},
    {DType::kFloat8E5M2, "F8_E5M2"},
    {DType::kFloat8E4M3FN, "F8_E4M3"},
    {DType::kInt16, "I16"},
    {DType::kUInt16, "U16"},
    {DType::kFloat16, "F16"},
    {DType::kBFloat16, "BF16"},
    {DType::kInt32, "I32"},
    {DType::kUInt32, "U32"},
    {DType::kFloat32, "F32"},
    {DType::kComplex64, "C64"},
    {DType::kFloat64, "F64"},
    {DType::kInt64, "I64"},
    {DType::kUInt64, "U64"},
};

// Names the format defines that no cairn dtype stands for.
constexpr absl::string_view kUnmapped[] = {"F8_E8M0", "F4", "F6_E2M3", "F6_E3M2"};

}  // namespace

bool IsKnownSafetensorsDType(absl::string_view name) {
  if (DTypeFromSafetensors(name).has_value()) return true;
  for (absl::string_view unmapped : kUnmapped) {
    if (unmapped == name) return true;
  }
  return false;
}

absl::StatusOr<absl::string_view> SafetensorsDTypeName(DType dtype) {
  for (const Mapping& mapping : kMappings) {
    if (mapping.dtype == dtype) return mapping.name;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("safetensors has no dtype for ", DTypeName(dtype)));
}

std::optional<DType> DTypeFromSafetensors(absl::string_view name) {
  for (const Mapping& mapping : kMappings) {
    if (mapping.name == name) return mapping.dtype;
  }
  return std::nullopt;
}

}  // namespace cairn
