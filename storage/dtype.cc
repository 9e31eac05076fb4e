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

// Indexed by the DType's number minus one.
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

// Tags for the dtypes with no C++ type of their own; every other dtype is its own tag.
struct BoolTag {};
struct HalfTag {};
struct BFloat16Tag {};
struct Float8E4M3FNTag {};
struct Float8E5M2Tag {};

// How a dtype's elements are held in memory. bool is read as a byte because a stored byte other
// than 0 or 1 would be undefined behaviour as a C++ bool.
template <typename T>
struct Traits {
  using Storage = T;
  static constexpr bool kNarrowFloat = false;
};
template <>
struct Traits<BoolTag> {
  using Storage = uint8_t;
};

// The narrow formats convert through the inline templates rather than the out-of-line
// functions of float_formats.h, so that the loops below see every operation and can vectorise.
template <typename Storage_, typename Format>
struct NarrowTraits {
  using Storage = Storage_;
  static constexpr bool kNarrowFloat = true;
  static constexpr uint32_t kAbsMask = Format::kAbsMask;
  static Storage FromFloat(float v) {
    return static_cast<Storage>(float_formats_internal::Encode<Format>(v));
  }
  static Storage FromDouble(double v) {
    return FromFloat(float_formats_internal::DoubleToFloatRoundToOdd(v));
  }
  static float ToFloat(Storage bits) { return float_formats_internal::Decode<Format>(bits); }
};

template <>
struct Traits<HalfTag> : NarrowTraits<uint16_t, float_formats_internal::HalfFormat> {};
template <>
struct Traits<BFloat16Tag> : NarrowTraits<uint16_t, float_formats_internal::BFloat16Format> {
  // Cheaper than the generic templates, for the most common narrowing of all.
  static uint16_t FromFloat(float v) { return float_formats_internal::EncodeBFloat16(v); }
  static uint16_t FromDouble(double v) {
    return FromFloat(float_formats_internal::DoubleToFloatRoundToOdd(v));
  }
  static float ToFloat(uint16_t bits) { return float_formats_internal::DecodeBFloat16(bits); }
};
template <>
struct Traits<Float8E4M3FNTag> : NarrowTraits<uint8_t, float_formats_internal::Float8E4M3FNFormat> {
};
template <>
struct Traits<Float8E5M2Tag> : NarrowTraits<uint8_t, float_formats_internal::Float8E5M2Format> {};

template <typename T>
using StorageOf = typename Traits<T>::Storage;

template <typename T>
constexpr bool kIsComplex =
    std::is_same_v<T, std::complex<float>> || std::is_same_v<T, std::complex<double>>;
template <typename T>
constexpr bool kIsInt = std::is_integral_v<T>;  // bool has its own tag, so never here
template <typename T>
constexpr bool kIsWideFloat = std::is_same_v<T, float> || std::is_same_v<T, double>;

// An integer as a double, rounded to odd: exact when it fits in 53 bits, else truncated with the
// lowest kept bit set when anything nonzero was dropped. Rounding that result to a format of at
// most 51 significant bits gives what rounding the integer directly would. Rounding to nearest
// here could move the value onto a tie, which the second rounding might then break the wrong way.
template <typename I>
double IntToDoubleRoundToOdd(I value) {
  constexpr uint64_t kExactLimit = uint64_t{1} << 53;
  const bool negative = value < 0;
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(value) : static_cast<uint64_t>(value);
  if (magnitude >= kExactLimit) {
    int dropped = 1;
    while ((magnitude >> dropped) >= kExactLimit) ++dropped;
    const uint64_t low = magnitude & ((uint64_t{1} << dropped) - 1);
    magnitude = ((magnitude >> dropped) | (low != 0 ? 1 : 0)) << dropped;
  }
  const double result = static_cast<double>(magnitude);
  return negative ? -result : result;
}

// Floating to integer: truncation toward zero, saturation at the target's range, NaN to 0.
template <typename To, typename F>
To FloatToInt(F value) {
  // 2^digits, the first magnitude past the range (max() itself may not be representable in F).
  constexpr F kLimit = F{2} * static_cast<F>(std::numeric_limits<To>::max() / 2 + 1);
  if (value != value) return 0;
  if (value >= kLimit) return std::numeric_limits<To>::max();
  if constexpr (std::is_signed_v<To>) {
    // -2^digits is min() itself, so <= is exact either way.
    if (value <= -kLimit) return std::numeric_limits<To>::min();
  } else {
    if (value <= F{-1}) return 0;
  }
  return static_cast<To>(value);
}

// Integer to integer saturates at the target's range rather than wrapping (C++'s conversion,
// and numpy's astype, keep the low bits: int32 300 would become int8 44 and -1 would become
// uint16 65535). A checkpoint restored into a narrower type should clamp, not scramble.
template <typename To, typename From>
To IntToInt(From value) {
  using ToLimits = std::numeric_limits<To>;
  if constexpr (std::is_signed_v<From> == std::is_signed_v<To>) {
    if constexpr (sizeof(To) >= sizeof(From)) {
      return static_cast<To>(value);
    } else {
      const From high = static_cast<From>(ToLimits::max());
      const From low = static_cast<From>(ToLimits::min());
      return static_cast<To>(value > high ? high : (value < low ? low : value));
    }
  } else if constexpr (std::is_signed_v<From>) {
    using UFrom = std::make_unsigned_t<From>;
    if constexpr (sizeof(To) >= sizeof(From)) {
      return value < 0 ? To{0} : static_cast<To>(value);
    } else {
      const UFrom high = static_cast<UFrom>(ToLimits::max());
      const UFrom clamped = value < 0 ? UFrom{0} : static_cast<UFrom>(value);
      return static_cast<To>(clamped > high ? high : clamped);
    }
  } else {
    if constexpr (sizeof(To) > sizeof(From)) {
      return static_cast<To>(value);
    } else {
      const From high = static_cast<From>(ToLimits::max());
      return static_cast<To>(value > high ? high : value);
    }
  }
}

// One element of type tag From to type tag To. Every branch is resolved at compile time.
template <typename To, typename From>
StorageOf<To> Convert(StorageOf<From> v) {
  using FromTraits = Traits<From>;
  using ToTraits = Traits<To>;
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<From, BoolTag>) {
    return Convert<To, uint8_t>(v != 0 ? 1 : 0);
  } else if constexpr (kIsComplex<From>) {
    if constexpr (std::is_same_v<To, BoolTag>) {
      return v.real() != 0 || v.imag() != 0 ? 1 : 0;
    } else {
      static_assert(kIsComplex<To>, "complex converts only to complex and bool");
      using Part = typename To::value_type;
      return To(static_cast<Part>(v.real()), static_cast<Part>(v.imag()));
    }
  } else if constexpr (std::is_same_v<To, BoolTag>) {
    if constexpr (FromTraits::kNarrowFloat) {
      return (v & FromTraits::kAbsMask) != 0 ? 1 : 0;  // -0 is zero, NaN is not
    } else {
      return v != 0 ? 1 : 0;
    }
  } else if constexpr (kIsComplex<To>) {
    using Part = typename To::value_type;
    return To(Convert<Part, From>(v), Part{0});
  } else if constexpr (FromTraits::kNarrowFloat) {
    // Widening to float is exact, so this rounds once whatever the target.
    if constexpr (ToTraits::kNarrowFloat) {
      return ToTraits::FromFloat(FromTraits::ToFloat(v));
    } else {
      return Convert<To, float>(FromTraits::ToFloat(v));
    }
  } else if constexpr (ToTraits::kNarrowFloat) {
    if constexpr (std::is_same_v<From, float>) {
      return ToTraits::FromFloat(v);
    } else if constexpr (std::is_same_v<From, double>) {
      return ToTraits::FromDouble(v);
    } else if constexpr (sizeof(From) <= 2) {
      return ToTraits::FromFloat(static_cast<float>(v));  // exact
    } else if constexpr (sizeof(From) == 4) {
      return ToTraits::FromDouble(static_cast<double>(v));  // exact
    } else {
      return ToTraits::FromDouble(IntToDoubleRoundToOdd(v));
    }
  } else if constexpr (kIsInt<To>) {
    if constexpr (kIsInt<From>) {
      return IntToInt<To>(v);
    } else {
      return FloatToInt<To>(v);
    }
  } else {
    static_assert(kIsWideFloat<To>, "unhandled conversion");
    // One correctly rounded conversion, from an integer or between float and double.
    return static_cast<To>(v);
  }
}

// Elements are loaded and stored through memcpy: buffers need not be aligned to their element
// type, and the byte pointers may then be marked as not aliasing each other.
template <typename To, typename From>
void CastLoop(const unsigned char* __restrict src, unsigned char* __restrict dst, size_t count) {
  using In = StorageOf<From>;
  using Out = StorageOf<To>;
  if constexpr (kIsComplex<From> && !kIsComplex<To> && !std::is_same_v<To, BoolTag>) {
    // Refused by CheckCastable. Zeros are better than leaving the caller's memory unwritten.
    std::memset(dst, 0, count * sizeof(Out));
  } else {
    const auto one = [src, dst](size_t i) {
      In in;
      std::memcpy(&in, src + i * sizeof(In), sizeof(In));
      const Out out = Convert<To, From>(in);
      std::memcpy(dst + i * sizeof(Out), &out, sizeof(Out));
    };
    // A fixed trip count inner loop gets vectorised even under GCC's -O2 cost model, which
    // refuses loops that would need a scalar remainder; the remainder is the tail loop below.
    constexpr size_t kBlock = 64;
    size_t i = 0;
    for (; i + kBlock <= count; i += kBlock) {
      for (size_t j = 0; j < kBlock; ++j) one(i + j);
    }
    for (; i < count; ++i) one(i);
  }
}

// Whether Convert<To, From> gives `v`'s own value, truncated toward zero: false where it
// saturates or maps NaN to 0. Only integer targets can lose a value so.
template <typename To, typename From>
bool Fits(StorageOf<From> v) {
  if constexpr (!kIsInt<To> || std::is_same_v<From, BoolTag> || kIsComplex<From>) {
    return true;  // complex to an integer is refused before any element is seen
  } else if constexpr (Traits<From>::kNarrowFloat) {
    return Fits<To, float>(Traits<From>::ToFloat(v));
  } else if constexpr (kIsInt<From>) {
    // Saturation is the only change IntToInt makes: compare in the wider of the two types.
    const To converted = IntToInt<To>(v);
    if constexpr (std::is_signed_v<From>) {
      if (v < 0) {
        return std::is_signed_v<To> && static_cast<int64_t>(converted) == static_cast<int64_t>(v);
      }
    }
    return static_cast<uint64_t>(converted) == static_cast<uint64_t>(v);
  } else {
    constexpr From kLimit = From{2} * static_cast<From>(std::numeric_limits<To>::max() / 2 + 1);
    if (!(v < kLimit)) return false;  // NaN too
    const From truncated = std::trunc(v);
    return std::is_signed_v<To> ? truncated >= -kLimit : truncated >= From{0};
  }
}

template <typename To, typename From>
size_t FirstMisfit(const unsigned char* src, size_t count) {
  using In = StorageOf<From>;
  for (size_t i = 0; i < count; ++i) {
    In in;
    std::memcpy(&in, src + i * sizeof(In), sizeof(In));
    if (!Fits<To, From>(in)) return i;
  }
  return count;
}

// Calls f with a value of the type tag of `dtype`; nothing for an invalid one.
template <typename F>
void DispatchType(DType dtype, F&& f) {
  switch (dtype) {
    case DType::kBool:
      return f(BoolTag{});
    case DType::kInt8:
      return f(int8_t{});
    case DType::kInt16:
      return f(int16_t{});
    case DType::kInt32:
      return f(int32_t{});
    case DType::kInt64:
      return f(int64_t{});
    case DType::kUInt8:
      return f(uint8_t{});
    case DType::kUInt16:
      return f(uint16_t{});
    case DType::kUInt32:
      return f(uint32_t{});
    case DType::kUInt64:
      return f(uint64_t{});
    case DType::kFloat16:
      return f(HalfTag{});
    case DType::kBFloat16:
      return f(BFloat16Tag{});
    case DType::kFloat32:
      return f(float{});
    case DType::kFloat64:
      return f(double{});
    case DType::kComplex64:
      return f(std::complex<float>{});
    case DType::kComplex128:
      return f(std::complex<double>{});
    case DType::kFloat8E4M3FN:
      return f(Float8E4M3FNTag{});
    case DType::kFloat8E5M2:
      return f(Float8E5M2Tag{});
  }
}

}  // namespace

bool IsValidDType(int value) {
  return value >= static_cast<int>(DType::kBool) && value <= static_cast<int>(DType::kFloat8E5M2);
}

size_t DTypeSize(DType dtype) {
  if (!IsValidDType(static_cast<int>(dtype))) return 0;
  return kDTypes[static_cast<int>(dtype) - 1].size;
}

absl::string_view DTypeName(DType dtype) {
  if (!IsValidDType(static_cast<int>(dtype))) return "invalid";
  return kDTypes[static_cast<int>(dtype) - 1].name;
}

absl::StatusOr<DType> ParseDType(absl::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.name == name) return info.dtype;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown dtype '", name, "'"));
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
  switch (dtype) {
    case DType::kInt8:
    case DType::kInt16:
    case DType::kInt32:
    case DType::kInt64:
    case DType::kUInt8:
    case DType::kUInt16:
    case DType::kUInt32:
    case DType::kUInt64:
      return true;
    default:
      return false;
  }
}

absl::Status CheckCastable(DType from, DType to) {
  for (DType dtype : {from, to}) {
    if (!IsValidDType(static_cast<int>(dtype))) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid dtype number ", static_cast<int>(dtype)));
    }
  }
  // bool is allowed: `value != 0` looks at both parts.
  if (IsComplex(from) && !IsComplex(to) && to != DType::kBool) {
    return absl::InvalidArgumentError(absl::StrCat("cannot cast ", DTypeName(from), " to ",
                                                   DTypeName(to),
                                                   ": it would drop the imaginary part"));
  }
  return absl::OkStatus();
}

void CastElements(DType from, const void* src, DType to, void* dst, size_t count) {
  if (count == 0) return;
  if (from == to) {
    // memmove: the contract lets src and dst coincide when the types match.
    std::memmove(dst, src, count * DTypeSize(from));
    return;
  }
  const auto* in = static_cast<const unsigned char*>(src);
  auto* out = static_cast<unsigned char*>(dst);
  DispatchType(from, [&](auto from_tag) {
    DispatchType(
        to, [&](auto to_tag) { CastLoop<decltype(to_tag), decltype(from_tag)>(in, out, count); });
  });
}

bool CastCanLoseValues(DType from, DType to) {
  if (!IsInteger(to) || from == to) return false;
  if (IsFloatingPoint(from)) return true;
  if (!IsInteger(from)) return false;  // bool fits anywhere, complex is refused
  const bool from_signed = DTypeName(from)[0] == 'i';
  const bool to_signed = DTypeName(to)[0] == 'i';
  if (from_signed && !to_signed) return true;
  if (from_signed == to_signed) return DTypeSize(to) < DTypeSize(from);
  return DTypeSize(to) <= DTypeSize(from);  // unsigned into signed needs a wider type
}

size_t FindUnrepresentable(DType from, const void* src, DType to, size_t count) {
  if (!CastCanLoseValues(from, to)) return count;
  const auto* in = static_cast<const unsigned char*>(src);
  size_t first = count;
  DispatchType(from, [&](auto from_tag) {
    DispatchType(to, [&](auto to_tag) {
      first = FirstMisfit<decltype(to_tag), decltype(from_tag)>(in, count);
    });
  });
  return first;
}

std::string ElementToString(DType dtype, const void* src, size_t index) {
  const auto* element = static_cast<const unsigned char*>(src) + index * DTypeSize(dtype);
  if (IsInteger(dtype) && DTypeName(dtype)[0] == 'u') {
    uint64_t value;
    CastElements(dtype, element, DType::kUInt64, &value, 1);
    return absl::StrCat(value);
  }
  if (IsInteger(dtype) || dtype == DType::kBool) {
    int64_t value;
    CastElements(dtype, element, DType::kInt64, &value, 1);
    return absl::StrCat(value);
  }
  if (IsComplex(dtype)) {
    std::complex<double> value;
    CastElements(dtype, element, DType::kComplex128, &value, 1);
    return absl::StrCat("(", value.real(), "+", value.imag(), "j)");
  }
  double value;
  CastElements(dtype, element, DType::kFloat64, &value, 1);
  return absl::StrCat(value);
}

}  // namespace cairn
