// Bit-level conversions between float or double and the narrow floating formats that have no C++
// type: float16 (IEEE binary16), bfloat16, float8_e4m3fn and float8_e5m2.
//
// Narrowing rounds to nearest, ties to even, and produces subnormals where the format has them.
// Values too large for a format become infinity where the format has one (float16, bfloat16,
// float8_e5m2) and NaN in float8_e4m3fn, which has none (as ml_dtypes does). NaN stays NaN, and
// comes out quiet. A double rounds as if directly, never through the nearest float. Widening to
// float is exact.
//
// The functions at the end are the interface. The templates in float_formats_internal implement
// them inline and branch-free, for CastElements, whose loops the compiler must be able to
// vectorise.
#ifndef CAIRN_STORAGE_FLOAT_FORMATS_H_
#define CAIRN_STORAGE_FLOAT_FORMATS_H_

#include <cmath>
#include <cstdint>
#include <cstring>

namespace cairn {
namespace float_formats_internal {

template <typename To, typename From>
inline To BitCast(From value) {
  static_assert(sizeof(To) == sizeof(From), "BitCast needs equal sizes");
  To result;
  std::memcpy(&result, &value, sizeof(result));
  return result;
}

// `cond ? a : b` written with masks. The narrow-format conversions compute every candidate result
// and pick one; as a conditional expression the compiler may move a candidate's computation into
// a branch, and a loop with branches does not vectorise.
template <typename Bits>
inline Bits Select(bool cond, Bits a, Bits b) {
  const Bits mask = Bits{0} - static_cast<Bits>(cond);
  return (a & mask) | (b & ~mask);
}

// A narrow binary format with `kExpBits` exponent bits and `kManBits` mantissa bits. IEEE-like
// formats reserve the all-ones exponent for infinities and NaN; "finite only" formats use it for
// numbers too, except with the all-ones mantissa, which is their only NaN.
template <int kExpBits_, int kManBits_, bool kFiniteOnly_>
struct NarrowFormat {
  static constexpr int kExpBits = kExpBits_;
  static constexpr int kManBits = kManBits_;
  static constexpr bool kFiniteOnly = kFiniteOnly_;
  static constexpr int kBias = (1 << (kExpBits - 1)) - 1;
  static constexpr uint32_t kSignBit = 1u << (kExpBits + kManBits);
  static constexpr uint32_t kAbsMask = kSignBit - 1;
  static constexpr uint32_t kManMask = (1u << kManBits) - 1;
  // The all-ones exponent with a zero mantissa: infinity in IEEE-like formats.
  static constexpr uint32_t kExpAllOnes = ((1u << kExpBits) - 1) << kManBits;
  static constexpr uint32_t kQuietBit = 1u << (kManBits - 1);
};

using HalfFormat = NarrowFormat<5, 10, false>;
using BFloat16Format = NarrowFormat<8, 7, false>;
using Float8E4M3FNFormat = NarrowFormat<4, 3, true>;
using Float8E5M2Format = NarrowFormat<5, 2, false>;

// Rounds a float to the narrow format, returning its bits.
template <typename Format>
inline uint32_t Encode(float value) {
  constexpr int kShift = 23 - Format::kManBits;
  constexpr uint32_t kFloatInf = 0x7f800000u;
  constexpr uint32_t kMinNormal = static_cast<uint32_t>(127 + 1 - Format::kBias) << 23;
  constexpr uint32_t kRebias = static_cast<uint32_t>(127 - Format::kBias) << 23;
  // A power of two whose spacing among floats equals the narrow format's subnormal step: adding
  // it to a smaller magnitude makes the hardware round to that step (to nearest even, the
  // default rounding mode), and the low bits of the sum are then the subnormal's encoding.
  // Rounding up to the smallest normal lands exactly on its encoding too.
  constexpr uint32_t kSubnormalMagic =
      static_cast<uint32_t>(127 + 23 + 1 - Format::kBias - Format::kManBits) << 23;

  const uint32_t bits = BitCast<uint32_t>(value);
  const uint32_t abs = bits & 0x7fffffffu;
  const uint32_t sign = (bits >> 31) << (Format::kExpBits + Format::kManBits);

  // Both results are computed and one is selected, so the loop has no branches. The rebias
  // wraps around for magnitudes below the smallest normal; that result is then not selected.
  const uint32_t rebiased = abs - kRebias;
  const uint32_t half_minus_one = (1u << (kShift - 1)) - 1;
  // A carry out of the mantissa moves into the exponent, which is the correct rounding up.
  const uint32_t normal = (rebiased + half_minus_one + ((rebiased >> kShift) & 1u)) >> kShift;
  const uint32_t subnormal =
      BitCast<uint32_t>(BitCast<float>(abs) + BitCast<float>(kSubnormalMagic)) - kSubnormalMagic;
  uint32_t result = Select(abs < kMinNormal, subnormal, normal);

  if constexpr (Format::kFiniteOnly) {
    // Past the largest finite value (infinity included) there is only NaN.
    result = Select(result > Format::kAbsMask - 1, Format::kAbsMask, result);
    result = Select(abs > kFloatInf, Format::kAbsMask, result);
  } else {
    result = Select(result > Format::kExpAllOnes, Format::kExpAllOnes, result);
    // Keep what fits of the payload, and set the quiet bit so it cannot turn into infinity.
    const uint32_t nan =
        Format::kExpAllOnes | Format::kQuietBit | ((abs >> kShift) & Format::kManMask);
    result = Select(abs > kFloatInf, nan, result);
  }
  return sign | result;
}

// Widens the narrow format's bits to a float, exactly.
template <typename Format>
inline float Decode(uint32_t bits) {
  constexpr int kShift = 23 - Format::kManBits;
  constexpr uint32_t kRebias = static_cast<uint32_t>(127 - Format::kBias) << 23;
  constexpr uint32_t kMinNormal = static_cast<uint32_t>(127 + 1 - Format::kBias) << 23;
  constexpr uint32_t kFloatQuietNaN = 0x7fc00000u;

  const uint32_t abs = bits & Format::kAbsMask;
  const uint32_t sign = (bits & Format::kSignBit) << (31 - Format::kExpBits - Format::kManBits);
  const uint32_t shifted = abs << kShift;
  const uint32_t normal = shifted + kRebias;
  // A subnormal's mantissa under the smallest normal's exponent reads as that normal plus the
  // subnormal's value; subtracting the normal is exact.
  const uint32_t subnormal =
      BitCast<uint32_t>(BitCast<float>(shifted + kMinNormal) - BitCast<float>(kMinNormal));
  uint32_t result = Select(abs <= Format::kManMask, subnormal, normal);
  if constexpr (Format::kFiniteOnly) {
    result = Select(abs == Format::kAbsMask, kFloatQuietNaN, result);
  } else {
    const uint32_t special =
        shifted | 0x7f800000u | Select(abs > Format::kExpAllOnes, 0x00400000u, 0u);
    result = Select(abs >= Format::kExpAllOnes, special, result);
  }
  return BitCast<float>(sign | result);
}

// A double as a float, rounded to odd: truncated toward zero, with the lowest bit set when that
// dropped anything. float has at least two more significant bits than any narrow format, which
// is enough for rounding this float to nearest even to give what rounding the double directly
// would. Rounding the double to the nearest float instead could land it on a tie it was not on,
// and the second rounding would then go the wrong way. One float Encode then serves both.
inline float DoubleToFloatRoundToOdd(double value) {
  const float nearest = static_cast<float>(value);
  const double back = static_cast<double>(nearest);
  const uint32_t bits = BitCast<uint32_t>(nearest);
  // Bitwise rather than logical operators: the short-circuits would be branches.
  const bool inexact = (back != value) & (value == value);
  // Rounded away from zero (an overflow to infinity included): step back toward zero.
  const uint32_t away = Select(inexact & (std::fabs(back) > std::fabs(value)), 1u, 0u);
  return BitCast<float>((bits - away) | Select(inexact, 1u, 0u));
}

// bfloat16 has float's exponent range, so float subnormals line up with bfloat16 subnormals and
// rounding away the low half is the whole conversion; the generic Encode would work but costs
// more.
inline uint16_t EncodeBFloat16(float value) {
  const uint32_t bits = BitCast<uint32_t>(value);
  // A carry out of the mantissa moves into the exponent, up to infinity, as rounding requires.
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t nan = (bits >> 16) | 0x0040u;  // quiet, so a low-bits payload stays a NaN
  return static_cast<uint16_t>(Select((bits & 0x7fffffffu) > 0x7f800000u, nan, rounded));
}

inline float DecodeBFloat16(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  return BitCast<float>(wide | Select((wide & 0x7fffffffu) > 0x7f800000u, 0x00400000u, 0u));
}

}  // namespace float_formats_internal

// float16 (IEEE binary16).
uint16_t FloatToHalfBits(float value);
uint16_t DoubleToHalfBits(double value);
float HalfBitsToFloat(uint16_t bits);

// bfloat16: the upper half of a float.
uint16_t FloatToBFloat16Bits(float value);
uint16_t DoubleToBFloat16Bits(double value);
float BFloat16BitsToFloat(uint16_t bits);

// float8_e4m3fn: no infinities; S.1111.111 is NaN; largest finite 448.
uint8_t FloatToFloat8E4M3FNBits(float value);
uint8_t DoubleToFloat8E4M3FNBits(double value);
float Float8E4M3FNBitsToFloat(uint8_t bits);

// float8_e5m2: IEEE-like; largest finite 57344.
uint8_t FloatToFloat8E5M2Bits(float value);
uint8_t DoubleToFloat8E5M2Bits(double value);
float Float8E5M2BitsToFloat(uint8_t bits);

}  // namespace cairn

#endif  // CAIRN_STORAGE_FLOAT_FORMATS_H_
