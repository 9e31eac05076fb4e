#include "cairn/storage/float_formats.h"

#include <cmath>
#include <cstring>
#include <limits>

namespace cairn {
namespace {

// A binary floating format with `kExp` exponent bits and `kMan` mantissa bits. IEEE-like
// formats reserve the all-ones exponent for infinities and NaN; "fn" formats (finite, NaN)
// use it for numbers too, except the all-ones mantissa, which is their only NaN.
template <int kExp, int kMan, bool kIeee>
struct Minifloat {
  static constexpr int kBias = (1 << (kExp - 1)) - 1;
  static constexpr uint32_t kExpMask = (1u << kExp) - 1;
  static constexpr uint32_t kManMask = (1u << kMan) - 1;
  static constexpr uint32_t kSign = 1u << (kExp + kMan);
  static constexpr uint32_t kInf = kExpMask << kMan;  // IEEE-like only
  static constexpr uint32_t kNaN =
      kIeee ? (kExpMask << kMan) | (1u << (kMan - 1)) : (kExpMask << kMan) | kManMask;

  static uint32_t Encode(double value) {
    const uint32_t sign = std::signbit(value) ? kSign : 0;
    if (std::isnan(value)) return sign | kNaN;
    const double magnitude = std::fabs(value);
    if (std::isinf(magnitude)) return sign | (kIeee ? kInf : kNaN);
    if (magnitude == 0) return sign;
    int exponent;
    std::frexp(magnitude, &exponent);  // magnitude = f * 2^exponent, f in [0.5, 1)
    int e = exponent - 1;              // magnitude = 1.xxx * 2^e
    constexpr int kMinExp = 1 - kBias;
    if (e < kMinExp) {
      // Subnormal: a multiple of the smallest step. Rounding up to 2^kMan lands exactly on the
      // smallest normal's encoding.
      const double steps = std::nearbyint(std::ldexp(magnitude, kMan - kMinExp));
      return sign | static_cast<uint32_t>(steps);
    }
    double steps = std::nearbyint(std::ldexp(magnitude, kMan - e));  // in [2^kMan, 2^(kMan+1)]
    if (steps == std::ldexp(1.0, kMan + 1)) {
      steps = std::ldexp(1.0, kMan);
      ++e;
    }
    const int64_t biased = e + kBias;
    const uint32_t mantissa = static_cast<uint32_t>(steps) & kManMask;
    if (kIeee) {
      if (biased >= static_cast<int64_t>(kExpMask)) return sign | kInf;
    } else if (biased > static_cast<int64_t>(kExpMask) ||
               (biased == static_cast<int64_t>(kExpMask) && mantissa == kManMask)) {
      return sign | kNaN;
    }
    return sign | (static_cast<uint32_t>(biased) << kMan) | mantissa;
  }

  static float Decode(uint32_t bits) {
    const bool negative = (bits & kSign) != 0;
    const uint32_t exp = (bits >> kMan) & kExpMask;
    const uint32_t man = bits & kManMask;
    float magnitude;
    if (kIeee && exp == kExpMask) {
      magnitude = man == 0 ? std::numeric_limits<float>::infinity()
                           : std::numeric_limits<float>::quiet_NaN();
    } else if (!kIeee && exp == kExpMask && man == kManMask) {
      magnitude = std::numeric_limits<float>::quiet_NaN();
    } else if (exp == 0) {
      magnitude = std::ldexp(static_cast<float>(man), 1 - kBias - kMan);
    } else {
      magnitude =
          std::ldexp(static_cast<float>(man | (1u << kMan)), static_cast<int>(exp) - kBias - kMan);
    }
    return negative ? -magnitude : magnitude;
  }
};

using Half = Minifloat<5, 10, true>;
using BFloat16 = Minifloat<8, 7, true>;
using E4M3FN = Minifloat<4, 3, false>;
using E5M2 = Minifloat<5, 2, true>;

}  // namespace

uint16_t DoubleToHalfBits(double value) { return static_cast<uint16_t>(Half::Encode(value)); }
float HalfBitsToFloat(uint16_t bits) { return Half::Decode(bits); }

uint16_t DoubleToBFloat16Bits(double value) {
  return static_cast<uint16_t>(BFloat16::Encode(value));
}

uint16_t FloatToBFloat16Bits(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, sizeof(bits));
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40);
  // Round to nearest even on the dropped 16 bits; a carry into the exponent is correct,
  // including the overflow of the largest finite values to infinity.
  bits += 0x7fffu + ((bits >> 16) & 1u);
  return static_cast<uint16_t>(bits >> 16);
}

float BFloat16BitsToFloat(uint16_t bits) {
  const uint32_t wide = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &wide, sizeof(value));
  return value;
}

uint8_t DoubleToFloat8E4M3FNBits(double value) {
  return static_cast<uint8_t>(E4M3FN::Encode(value));
}
float Float8E4M3FNBitsToFloat(uint8_t bits) { return E4M3FN::Decode(bits); }

uint8_t DoubleToFloat8E5M2Bits(double value) { return static_cast<uint8_t>(E5M2::Encode(value)); }
float Float8E5M2BitsToFloat(uint8_t bits) { return E5M2::Decode(bits); }

}  // namespace cairn
