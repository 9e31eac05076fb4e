// Element types of the arrays cairn stores, named as numpy and ml_dtypes name them.
#ifndef CAIRN_STORAGE_DTYPE_H_
#define CAIRN_STORAGE_DTYPE_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn {

// The numeric values are part of the on-disk format (docs/FORMAT.md): never renumber.
enum class DType : uint8_t {
  kBool = 1,
  kInt8 = 2,
  kInt16 = 3,
  kInt32 = 4,
  kInt64 = 5,
  kUInt8 = 6,
  kUInt16 = 7,
  kUInt32 = 8,
  kUInt64 = 9,
  kFloat16 = 10,
  kBFloat16 = 11,
  kFloat32 = 12,
  kFloat64 = 13,
  kComplex64 = 14,
  kComplex128 = 15,
  kFloat8E4M3FN = 16,
  kFloat8E5M2 = 17,
};

// Bytes per element.
size_t DTypeSize(DType dtype);
// "bool", "int8", ..., "bfloat16", "float8_e4m3fn", "complex128".
absl::string_view DTypeName(DType dtype);
// The inverse of DTypeName; InvalidArgument for an unknown name.
absl::StatusOr<DType> ParseDType(absl::string_view name);
// Whether `value` is the number of a DType (for values read from disk).
bool IsValidDType(int value);

bool IsComplex(DType dtype);
bool IsFloatingPoint(DType dtype);  // real floating types, float8 through float64
bool IsInteger(DType dtype);        // signed and unsigned integers, not bool

// OK when elements of `from` can be converted to `to`. Every pair of real types converts; a real
// type converts to a complex one (imaginary part zero). Complex to real is InvalidArgument: it
// would silently drop the imaginary part.
absl::Status CheckCastable(DType from, DType to);

// Converts `count` elements from `src` (of type `from`) into `dst` (of type `to`). Requires
// CheckCastable(from, to).ok(); `src` and `dst` must not overlap unless from == to. Rules:
// floating to integer truncates toward zero; a value an integer type cannot hold (NaN, an
// infinity, one past its range) saturates at the nearest end of the range, NaN becoming 0;
// anything to bool is `value != 0`; narrowing between floating types rounds to nearest even;
// values too large for float8_e4m3fn (no infinity) become NaN, as ml_dtypes does. Loads and saves
// do not let a value saturate silently: they check with FindUnrepresentable first.
void CastElements(DType from, const void* src, DType to, void* dst, size_t count);

// Whether some value of `from` is one `to` cannot hold: floating to integer, and integer to an
// integer type with a narrower range. False for every other pair.
bool CastCanLoseValues(DType from, DType to);

// The index of the first of `count` elements at `src` that CastElements would saturate (or map
// from NaN to 0) on the way to `to`; `count` when every one keeps its value, truncated toward
// zero. Requires CheckCastable(from, to).ok().
size_t FindUnrepresentable(DType from, const void* src, DType to, size_t count);

// Element `index` of the array at `src`, as text for messages: "nan", "-inf", "1e+20", "300".
std::string ElementToString(DType dtype, const void* src, size_t index);

}  // namespace cairn

#endif  // CAIRN_STORAGE_DTYPE_H_
