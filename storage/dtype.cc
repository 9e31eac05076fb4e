#include "cairn/storage/dtype.h"

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
#include <type_traits>

#include "absl/strings/str_cat.h"
#include "cairn/storage/float_formats.h"

namespace cairn {
namespace {

struct DTypeInfo {
  DType dtype;
  absl::string_view name;
  size_t size;
};

constexpr DTypeInfo kDTypes[] = {
    {DType::kBool, "bool", 1},
    {DType::kInt8, "int8", 1},
    {DType::kInt16, "int16", 2},
    {DType::kInt32, "int32", 4},
    {DType::kInt64, "int64", 8},
    {DType::kUInt8, "uint8", 1},
    {DType::kUInt16, "uint16", 2},
    {DType::kUInt32, "uint32", 4},
    {DType::kUInt64, "uint64", 8},
    {DType::kFloat16, "float16", 2},
    {DType::kBFloat16, "bfloat16", 2},
    {DType::kFloat32, "float32", 4},
    {DType::kFloat64, "float64", 8},
    {DType::kComplex64, "complex64", 8},
    {DType::kComplex128, "complex128", 16},
    {DType::kFloat8E4M3FN, "float8_e4m3fn", 1},
    {DType::kFloat8E5M2, "float8_e5m2", 1},
};

const DTypeInfo& Info(DType dtype) {
  const int index = static_cast<int>(dtype) - 1;
  return kDTypes[IsValidDType(static_cast<int>(dtype)) ? index : 0];
}

// Storage types of the narrow float formats, so that each dtype has one C++ type to dispatch on.
struct Half {
  uint16_t bits;
};
struct BFloat16 {
  uint16_t bits;
};
struct F8E4M3FN {
  uint8_t bits;
};
struct F8E5M2 {
  uint8_t bits;
};

template <typename T>
constexpr bool kIsNarrowFloat = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16> ||
                                std::is_same_v<T, F8E4M3FN> || std::is_same_v<T, F8E5M2>;
template <typename T>
constexpr bool kIsComplex =
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;
template <typename T>
constexpr bool kIsInt = std::is_integral_v<T> && !std::is_same_v<T, bool>;

// A real element as a double (exact for every real dtype except 64-bit integers beyond 2^53,
// which are converted to integers without passing through here).
template <typename T>
double ToDouble(T v) {
  if constexpr (std::is_same_v<T, Half>)
    return HalfBitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, BFloat16>)
    return BFloat16BitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, F8E4M3FN>)
    return Float8E4M3FNBitsToFloat(v.bits);
  else if constexpr (std::is_same_v<T, F8E5M2>)
    return Float8E5M2BitsToFloat(v.bits);
  else
    return static_cast<double>(v);
}

// A double to an integer type: truncation toward zero, saturation, NaN to 0.
template <typename To>
To DoubleToInt(double d) {
  if (std::isnan(d)) return 0;
  constexpr int kDigits = std::numeric_limits<To>::digits;
  if (d >= std::ldexp(1.0, kDigits)) return std::numeric_limits<To>::max();
  if constexpr (std::is_signed_v<To>) {
    if (d < -std::ldexp(1.0, kDigits)) return std::numeric_limits<To>::min();
  } else {
    if (d <= -1.0) return 0;
  }
  return static_cast<To>(std::trunc(d));
}

// An integer to another integer type, saturating instead of wrapping.
template <typename To, typename From>
To IntToInt(From v) {
  if constexpr (std::is_signed_v<From>) {
    if (v < 0) {
      if constexpr (std::is_unsigned_v<To>) {
        return 0;
      } else {
        return static_cast<int64_t>(v) < static_cast<int64_t>(std::numeric_limits<To>::min())
                   ? std::numeric_limits<To>::min()
                   : static_cast<To>(v);
      }
    }
  }
  const uint64_t u = static_cast<uint64_t>(v);
  return u > static_cast<uint64_t>(std::numeric_limits<To>::max()) ? std::numeric_limits<To>::max()
                                                                   : static_cast<To>(u);
}

template <typename To, typename From>
To Convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (kIsComplex<From>) {
    if constexpr (std::is_same_v<To, bool>) {
      return v.real() != 0 || v.imag() != 0;
    } else {
      static_assert(kIsComplex<To>, "complex converts only to complex or bool");
      return To(static_cast<typename To::value_type>(v.real()),
                static_cast<typename To::value_type>(v.imag()));
    }
  } else if constexpr (kIsComplex<To>) {
    if constexpr (std::is_integral_v<From>) {
      return To(static_cast<typename To::value_type>(v), 0);
    } else {
      return To(static_cast<typename To::value_type>(ToDouble(v)), 0);
    }
  } else if constexpr (std::is_same_v<To, bool>) {
    if constexpr (std::is_integral_v<From>)
      return v != 0;
    else
      return ToDouble(v) != 0;
  } else if constexpr (std::is_same_v<From, bool>) {
    return Convert<To>(static_cast<uint8_t>(v ? 1 : 0));
  } else if constexpr (kIsInt<To>) {
    if constexpr (kIsInt<From>)
      return IntToInt<To>(v);
    else
      return DoubleToInt<To>(ToDouble(v));
  } else if constexpr (std::is_same_v<To, Half>) {
    return Half{DoubleToHalfBits(ToDouble(v))};
  } else if constexpr (std::is_same_v<To, BFloat16>) {
    if constexpr (std::is_same_v<From, float>)
      return BFloat16{FloatToBFloat16Bits(v)};
    else
      return BFloat16{DoubleToBFloat16Bits(ToDouble(v))};
  } else if constexpr (std::is_same_v<To, F8E4M3FN>) {
    return F8E4M3FN{DoubleToFloat8E4M3FNBits(ToDouble(v))};
  } else if constexpr (std::is_same_v<To, F8E5M2>) {
    return F8E5M2{DoubleToFloat8E5M2Bits(ToDouble(v))};
  } else if constexpr (kIsInt<From>) {
    return static_cast<To>(v);  // one rounding, straight from the integer
  } else {
    return static_cast<To>(ToDouble(v));  // float or double from a real floating type
  }
}

template <typename From, typename To>
void CastLoop(const void* src, void* dst, size_t count) {
  if constexpr (kIsComplex<From> && !kIsComplex<To> && !std::is_same_v<To, bool>) {
    // Refused by CheckCastable; never reached.
    return;
  } else {
    const From* in = static_cast<const From*>(src);
    To* out = static_cast<To*>(dst);
    for (size_t i = 0; i < count; ++i) out[i] = Convert<To>(in[i]);
  }
}

template <typename F>
void DispatchType(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kBool:
      f(bool{});
      return;
    case DType::kInt8:
      f(int8_t{});
      return;
    case DType::kInt16:
      f(int16_t{});
      return;
    case DType::kInt32:
      f(int32_t{});
      return;
    case DType::kInt64:
      f(int64_t{});
      return;
    case DType::kUInt8:
      f(uint8_t{});
      return;
    case DType::kUInt16:
      f(uint16_t{});
      return;
    case DType::kUInt32:
      f(uint32_t{});
      return;
    case DType::kUInt64:
      f(uint64_t{});
      return;
    case DType::kFloat16:
      f(Half{});
      return;
    case DType::kBFloat16:
      f(BFloat16{});
      return;
    case DType::kFloat32:
      f(float{});
      return;
    case DType::kFloat64:
      f(double{});
      return;
    case DType::kComplex64:
      f(std::complex<float>{});
      return;
    case DType::kComplex128:
      f(std::complex<double>{});
      return;
    case DType::kFloat8E4M3FN:
      f(F8E4M3FN{});
      return;
    case DType::kFloat8E5M2:
      f(F8E5M2{});
      return;
  }
}

}  // namespace

size_t DTypeSize(DType dtype) { return Info(dtype).size; }

absl::string_view DTypeName(DType dtype) {
  return IsValidDType(static_cast<int>(dtype)) ? Info(dtype).name : "invalid";
}

absl::StatusOr<DType> ParseDType(absl::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype '", name, "'"));
}

bool IsValidDType(int value) {
  return value >= static_cast<int>(DType::kBool) && value <= static_cast<int>(DType::kFloat8E5M2);
}

bool IsComplex(DType dtype) { return dtype == DType::kComplex64 || dtype == DType::kComplex128; }

bool IsFloatingPoint(DType dtype) {
  switch (dtype) {
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kFloat32:
    case DType::kFloat64:
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
      return true;
    default:
      return false;
  }
}

bool IsInteger(DType dtype) {
  return !IsComplex(dtype) && !IsFloatingPoint(dtype) && dtype != DType::kBool &&
         IsValidDType(static_cast<int>(dtype));
}

absl::Status CheckCastable(DType from, DType to) {
  if (!IsValidDType(static_cast<int>(from)) || !IsValidDType(static_cast<int>(to))) {
    return absl::InvalidArgumentError("invalid dtype");
  }
  if (IsComplex(from) && !IsComplex(to) && to != DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat("cannot cast ", DTypeName(from), " to ",
                                                   DTypeName(to),
                                                   ": it would drop the imaginary part"));
  }
  return absl::OkStatus();
}

void CastElements(DType from, const void* src, DType to, void* dst, size_t count) {
  if (from == to) {
    if (count > 0 && src != dst) std::memcpy(dst, src, count * DTypeSize(from));
    return;
  }
  DispatchType(from, [&](auto from_tag) {
    DispatchType(
        to, [&](auto to_tag) { CastLoop<decltype(from_tag), decltype(to_tag)>(src, dst, count); });
  });
}

}  // namespace cairn
