// Bit-level conversions between float/double and the narrow floating formats that have no C++
// type: float16 (IEEE binary16), bfloat16, float8_e4m3fn and float8_e5m2.
//
// Narrowing rounds to nearest, ties to even, and produces subnormals where the format has them.
// Values too large for a format become infinity where the format has one (float16, bfloat16,
// float8_e5m2) and NaN in float8_e4m3fn, which has none (as ml_dtypes does). NaN stays NaN, and
// comes out quiet. Widening to float is exact.
//
// Everything here is inline and branch-free on purpose: CastElements calls these once per element
// in loops that the compiler must be able to vectorise.
#ifndef CAIRN_STORAGE_FLOAT_FORMATS_H_
#define CAIRN_STORAGE_FLOAT_FORMATS_H_

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

// The layout of the wide formats converted from.
template <typename F>
struct WideFormat;
template <>
struct WideFormat<float> {
  using Bits = uint32_t;
  static constexpr int kManBits = 23;
  static constexpr int kBias = 127;
};
template <>
struct WideFormat<double> {
  using Bits = uint64_t;
  static constexpr int kManBits = 52;
  static constexpr int kBias = 1023;
};

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

// Rounds a float or double to the narrow format, returning its bits.
template <typename Format, typename F>
inline uint32_t Encode(F value) {
  using Wide = WideFormat<F>;
  using Bits = typename Wide::Bits;
  constexpr int kWideBits = static_cast<int>(sizeof(Bits)) * 8;
  constexpr int kShift = Wide::kManBits - Format::kManBits;
  constexpr Bits kWideAbsMask = (Bits{1} << (kWideBits - 1)) - 1;
  constexpr Bits kWideInf = kWideAbsMask & ~((Bits{1} << Wide::kManBits) - 1);
  constexpr Bits kMinNormal = static_cast<Bits>(Wide::kBias + 1 - Format::kBias) << Wide::kManBits;
  constexpr Bits kRebias = static_cast<Bits>(Wide::kBias - Format::kBias) << Wide::kManBits;
  // A power of two whose spacing in the wide format equals the narrow format's subnormal step:
  // adding it to a tiny magnitude makes the hardware round to that step (to nearest even), and
  // the low bits of the sum are then the subnormal's encoding. Rounding up to the smallest
  // normal lands exactly on its encoding too.
  constexpr Bits kSubnormalMagic =
      static_cast<Bits>(Wide::kBias + Wide::kManBits + 1 - Format::kBias - Format::kManBits)
      << Wide::kManBits;

  const Bits bits = BitCast<Bits>(value);
  const Bits abs = bits & kWideAbsMask;
  const uint32_t sign = static_cast<uint32_t>(bits >> (kWideBits - 1))
                        << (Format::kExpBits + Format::kManBits);

  // Both results are computed and one is selected, so the loop has no branches. The rebias
  // wraps around for magnitudes below the smallest normal; that result is then not selected.
  const Bits rebiased = abs - kRebias;
  const Bits half_minus_one = (Bits{1} << (kShift - 1)) - 1;
  // A carry out of the mantissa moves into the exponent, which is the correct rounding up.
  const Bits normal = (rebiased + half_minus_one + ((rebiased >> kShift) & 1)) >> kShift;
  const Bits subnormal =
      BitCast<Bits>(BitCast<F>(abs) + BitCast<F>(kSubnormalMagic)) - kSubnormalMagic;
  Bits result = Select(abs < kMinNormal, subnormal, normal);

  if constexpr (Format::kFiniteOnly) {
    // Past the largest finite value (infinity included) there is only NaN.
    result = Select(result > Format::kAbsMask - 1, Bits{Format::kAbsMask}, result);
    result = Select(abs > kWideInf, Bits{Format::kAbsMask}, result);
  } else {
    result = Select(result > Format::kExpAllOnes, Bits{Format::kExpAllOnes}, result);
    // Keep what fits of the payload, and set the quiet bit so it cannot turn into infinity.
    const Bits nan = Format::kExpAllOnes | Format::kQuietBit | ((abs >> kShift) & Format::kManMask);
    result = Select(abs > kWideInf, nan, result);
  }
  return sign | static_cast<uint32_t>(result);
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

}  // namespace float_formats_internal

// float16 (IEEE binary16).
inline uint16_t FloatToHalfBits(float value) {
  return static_cast<uint16_t>(
      float_formats_internal::Encode<float_formats_internal::HalfFormat>(value));
}
inline uint16_t DoubleToHalfBits(double value) {
  return static_cast<uint16_t>(
      float_formats_internal::Encode<float_formats_internal::HalfFormat>(value));
}
inline float HalfBitsToFloat(uint16_t bits) {
  return float_formats_internal::Decode<float_formats_internal::HalfFormat>(bits);
}

// bfloat16: the upper half of a float.
inline uint16_t FloatToBFloat16Bits(float value) {
  // Same exponent range as float, so float subnormals line up with bfloat16 subnormals and
  // plain rounding of the dropped half is the whole conversion.
  const uint32_t bits = float_formats_internal::BitCast<uint32_t>(value);
  const uint32_t rounded = (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  const uint32_t nan = (bits >> 16) | 0x0040u;
  return static_cast<uint16_t>((bits & 0x7fffffffu) > 0x7f800000u ? nan : rounded);
}
inline uint16_t DoubleToBFloat16Bits(double value) {
  // Not through float: two roundings can differ from one.
  return static_cast<uint16_t>(
      float_formats_internal::Encode<float_formats_internal::BFloat16Format>(value));
}
inline float BFloat16BitsToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  const uint32_t quiet = (wide & 0x7fffffffu) > 0x7f800000u ? 0x00400000u : 0;
  return float_formats_internal::BitCast<float>(wide | quiet);
}

// float8_e4m3fn: no infinities; S.1111.111 is NaN; largest finite 448.
inline uint8_t FloatToFloat8E4M3FNBits(float value) {
  return static_cast<uint8_t>(
      float_formats_internal::Encode<float_formats_internal::Float8E4M3FNFormat>(value));
}
inline uint8_t DoubleToFloat8E4M3FNBits(double value) {
  return static_cast<uint8_t>(
      float_formats_internal::Encode<float_formats_internal::Float8E4M3FNFormat>(value));
}
inline float Float8E4M3FNBitsToFloat(uint8_t bits) {
  return float_formats_internal::Decode<float_formats_internal::Float8E4M3FNFormat>(bits);
}

// float8_e5m2: IEEE-like; largest finite 57344.
inline uint8_t FloatToFloat8E5M2Bits(float value) {
  return static_cast<uint8_t>(
      float_formats_internal::Encode<float_formats_internal::Float8E5M2Format>(value));
}
inline uint8_t DoubleToFloat8E5M2Bits(double value) {
  return static_cast<uint8_t>(
      float_formats_internal::Encode<float_formats_internal::Float8E5M2Format>(value));
}
inline float Float8E5M2BitsToFloat(uint8_t bits) {
  return float_formats_internal::Decode<float_formats_internal::Float8E5M2Format>(bits);
}

}  // namespace cairn

#endif  // CAIRN_STORAGE_FLOAT_FORMATS_H_
