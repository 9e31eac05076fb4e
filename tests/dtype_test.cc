// DType names and sizes, the narrow float formats bit for bit, and CastElements' rules.
#include "cairn/storage/dtype.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "cairn/storage/float_formats.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

constexpr DType kAll[] = {
    DType::kBool,         DType::kInt8,      DType::kInt16,   DType::kInt32,     DType::kInt64,
    DType::kUInt8,        DType::kUInt16,    DType::kUInt32,  DType::kUInt64,    DType::kFloat16,
    DType::kBFloat16,     DType::kFloat32,   DType::kFloat64, DType::kComplex64, DType::kComplex128,
    DType::kFloat8E4M3FN, DType::kFloat8E5M2};

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

template <typename To, typename From>
To Cast(DType from, DType to, From value) {
  To out{};
  CastElements(from, &value, to, &out, 1);
  return out;
}

template <typename T, typename F>
T Bits(F value) {
  static_assert(sizeof(T) == sizeof(F));
  T bits;
  std::memcpy(&bits, &value, sizeof(bits));
  return bits;
}

// ---------------------------------------------------------------------------------------------
// Names, sizes, categories.

TEST(DTypeNames, EveryNameParsesBackToItsDType) {
  for (DType dtype : kAll) {
    absl::StatusOr<DType> parsed = ParseDType(DTypeName(dtype));
    ASSERT_TRUE(parsed.ok()) << DTypeName(dtype);
    EXPECT_EQ(*parsed, dtype);
  }
}

TEST(DTypeNames, AreNumpyNames) {
  const char* const expected[] = {
      "bool",    "int8",      "int16",      "int32",         "int64",      "uint8",
      "uint16",  "uint32",    "uint64",     "float16",       "bfloat16",   "float32",
      "float64", "complex64", "complex128", "float8_e4m3fn", "float8_e5m2"};
  for (size_t i = 0; i < std::size(kAll); ++i) EXPECT_EQ(DTypeName(kAll[i]), expected[i]);
}

TEST(DTypeNames, UnknownNameIsInvalidArgument) {
  for (const char* name : {"float128", "", "Float32", "int", "float8_e4m3", "float32 "}) {
    EXPECT_EQ(ParseDType(name).status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
}

TEST(DTypeSize, IsTheElementWidth) {
  const size_t expected[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 8, 16, 1, 1};
  for (size_t i = 0; i < std::size(kAll); ++i) {
    EXPECT_EQ(DTypeSize(kAll[i]), expected[i]) << DTypeName(kAll[i]);
  }
}

TEST(IsValidDType, AcceptsExactlyTheEnumeratedNumbers) {
  for (DType dtype : kAll) EXPECT_TRUE(IsValidDType(static_cast<int>(dtype)));
  for (int value : {-1, 0, 18, 255, 256}) EXPECT_FALSE(IsValidDType(value)) << value;
}

TEST(DTypeCategories, PartitionTheDTypes) {
  for (DType dtype : kAll) {
    const int categories = IsComplex(dtype) + IsFloatingPoint(dtype) + IsInteger(dtype);
    EXPECT_EQ(categories, dtype == DType::kBool ? 0 : 1) << DTypeName(dtype);
  }
  EXPECT_TRUE(IsComplex(DType::kComplex64));
  EXPECT_TRUE(IsFloatingPoint(DType::kFloat8E4M3FN));
  EXPECT_TRUE(IsFloatingPoint(DType::kBFloat16));
  EXPECT_FALSE(IsFloatingPoint(DType::kComplex128));
  EXPECT_TRUE(IsInteger(DType::kUInt64));
  EXPECT_FALSE(IsInteger(DType::kBool));
}

// ---------------------------------------------------------------------------------------------
// CheckCastable.

TEST(CheckCastable, ComplexToRealIsRefused) {
  const absl::Status status = CheckCastable(DType::kComplex64, DType::kFloat32);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(status.message(), "cannot cast complex64 to float32: it would drop the imaginary part");
  EXPECT_EQ(CheckCastable(DType::kComplex128, DType::kInt8).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CheckCastable, AllowsEveryOtherPair) {
  for (DType from : kAll) {
    for (DType to : kAll) {
      const bool drops_imaginary = IsComplex(from) && !IsComplex(to) && to != DType::kBool;
      EXPECT_EQ(CheckCastable(from, to).ok(), !drops_imaginary)
          << DTypeName(from) << " -> " << DTypeName(to);
    }
  }
}

TEST(CheckCastable, InvalidDTypeIsRefused) {
  EXPECT_EQ(CheckCastable(static_cast<DType>(0), DType::kFloat32).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(CheckCastable(DType::kFloat32, static_cast<DType>(99)).code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// float16.

TEST(Float16, EncodesNormalNumbers) {
  EXPECT_EQ(FloatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalfBits(0.333251953125f), 0x3555);
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -14)), 0x0400);  // smallest normal
}

TEST(Float16, EncodesSubnormals) {
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -24)), 0x0001);     // smallest
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1023.0f, -24)), 0x03ff);  // largest
  EXPECT_EQ(FloatToHalfBits(-std::ldexp(5.0f, -24)), 0x8005);
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -26)), 0x0000);  // below half a step
  EXPECT_EQ(FloatToHalfBits(std::numeric_limits<float>::denorm_min()), 0x0000);
}

TEST(Float16, RoundsTiesToEven) {
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // even is down
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // even is up
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -23)), 0x3c01);
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -25)), 0x0000);     // subnormal tie, down to zero
  EXPECT_EQ(FloatToHalfBits(std::ldexp(3.0f, -25)), 0x0002);     // subnormal tie, up
  EXPECT_EQ(FloatToHalfBits(std::ldexp(2047.0f, -25)), 0x0400);  // into the smallest normal
}

TEST(Float16, OverflowsToInfinity) {
  EXPECT_EQ(FloatToHalfBits(65504.0f), 0x7bff);  // largest finite
  EXPECT_EQ(FloatToHalfBits(65519.0f), 0x7bff);  // below the tie
  EXPECT_EQ(FloatToHalfBits(65520.0f), 0x7c00);  // the tie rounds to the even "mantissa" of inf
  EXPECT_EQ(FloatToHalfBits(1e10f), 0x7c00);
  EXPECT_EQ(FloatToHalfBits(-1e10f), 0xfc00);
  EXPECT_EQ(FloatToHalfBits(kInf), 0x7c00);
  EXPECT_EQ(FloatToHalfBits(-kInf), 0xfc00);
}

TEST(Float16, KeepsNegativeZeroAndNaN) {
  EXPECT_EQ(FloatToHalfBits(-0.0f), 0x8000);
  EXPECT_EQ(FloatToHalfBits(kNaN), 0x7e00);
  // A NaN whose payload lies only in bits that are dropped must not become infinity.
  EXPECT_EQ(FloatToHalfBits(Bits<float>(0x7f800001u)) & 0x7e00, 0x7e00);
  EXPECT_EQ(FloatToHalfBits(-kNaN) & 0x8000, 0x8000);
}

TEST(Float16, DecodesKnownBits) {
  EXPECT_EQ(HalfBitsToFloat(0x3c00), 1.0f);
  EXPECT_EQ(HalfBitsToFloat(0x7bff), 65504.0f);
  EXPECT_EQ(HalfBitsToFloat(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(HalfBitsToFloat(0x83ff), -std::ldexp(1023.0f, -24));
  EXPECT_EQ(HalfBitsToFloat(0x3555), 0.333251953125f);
  EXPECT_EQ(HalfBitsToFloat(0x7c00), kInf);
  EXPECT_EQ(HalfBitsToFloat(0xfc00), -kInf);
  EXPECT_EQ(Bits<uint32_t>(HalfBitsToFloat(0x8000)), 0x80000000u);
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(0x7c01)));
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(0xfe00)));
}

// ---------------------------------------------------------------------------------------------
// bfloat16.

TEST(BFloat16, EncodesByRoundingTheLowHalf) {
  EXPECT_EQ(FloatToBFloat16Bits(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x3f808000u)), 0x3f80);  // tie, even is down
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x3f818000u)), 0x3f82);  // tie, even is up
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x3f808001u)), 0x3f81);  // past the tie
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x3f807fffu)), 0x3f80);  // short of it
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0xc0490fdbu)), 0xc049);  // -pi
}

TEST(BFloat16, EncodesSubnormals) {
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x00010000u)), 0x0001);
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x00008000u)), 0x0000);  // tie, down to zero
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x00018000u)), 0x0002);  // tie, up
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x007fffffu)), 0x0080);  // into the smallest normal
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x80000001u)), 0x8000);
}

TEST(BFloat16, OverflowsToInfinity) {
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x7f7f7fffu)), 0x7f7f);  // largest finite
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x7f7f8000u)), 0x7f80);  // tie goes to infinity
  EXPECT_EQ(FloatToBFloat16Bits(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(FloatToBFloat16Bits(-kInf), 0xff80);
}

TEST(BFloat16, KeepsNegativeZeroAndNaN) {
  EXPECT_EQ(FloatToBFloat16Bits(-0.0f), 0x8000);
  EXPECT_EQ(FloatToBFloat16Bits(kNaN), 0x7fc0);
  // Truncation alone would turn this NaN into infinity; it must stay NaN (and become quiet).
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0x7f800001u)), 0x7fc0);
  EXPECT_EQ(FloatToBFloat16Bits(Bits<float>(0xff800001u)), 0xffc0);
  EXPECT_TRUE(std::isnan(BFloat16BitsToFloat(0x7f81)));
  EXPECT_EQ(BFloat16BitsToFloat(0x7f80), kInf);
}

TEST(BFloat16, DecodesKnownBits) {
  EXPECT_EQ(BFloat16BitsToFloat(0x3f80), 1.0f);
  EXPECT_EQ(BFloat16BitsToFloat(0xc049), Bits<float>(0xc0490000u));
  EXPECT_EQ(BFloat16BitsToFloat(0x0001), Bits<float>(0x00010000u));
  EXPECT_EQ(Bits<uint32_t>(BFloat16BitsToFloat(0x8000)), 0x80000000u);
}

// ---------------------------------------------------------------------------------------------
// float8_e4m3fn.

TEST(Float8E4M3FN, EncodesNormalsAndSubnormals) {
  EXPECT_EQ(FloatToFloat8E4M3FNBits(1.0f), 0x38);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-1.5f), 0xbc);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(256.0f), 0x78);  // the all-ones exponent is a number here
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(1.0f, -6)), 0x08);  // smallest normal
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(1.0f, -9)), 0x01);  // smallest subnormal
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(7.0f, -9)), 0x07);  // largest subnormal
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(1.0f, -11)), 0x00);
}

TEST(Float8E4M3FN, RoundsTiesToEven) {
  EXPECT_EQ(FloatToFloat8E4M3FNBits(1.0625f), 0x38);                 // 1 + 1/16, even is down
  EXPECT_EQ(FloatToFloat8E4M3FNBits(1.1875f), 0x3a);                 // 1 + 3/16, even is up
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(1.0f, -10)), 0x00);   // subnormal tie, down
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(3.0f, -10)), 0x02);   // subnormal tie, up
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(15.0f, -10)), 0x08);  // into the smallest normal
}

TEST(Float8E4M3FN, OverflowsToNaN) {
  EXPECT_EQ(FloatToFloat8E4M3FNBits(448.0f), 0x7e);  // largest finite
  EXPECT_EQ(FloatToFloat8E4M3FNBits(464.0f), 0x7e);  // tie rounds to even, 448
  EXPECT_EQ(FloatToFloat8E4M3FNBits(464.5f), 0x7f);  // rounds past 448: no infinity, NaN
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-480.0f), 0xff);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(1e30f), 0x7f);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(kInf), 0x7f);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-kInf), 0xff);
}

TEST(Float8E4M3FN, KeepsNegativeZeroAndNaN) {
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-0.0f), 0x80);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(kNaN), 0x7f);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-kNaN), 0xff);
}

TEST(Float8E4M3FN, DecodesKnownBits) {
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x38), 1.0f);
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x7e), 448.0f);
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0xfe), -448.0f);
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x78), 256.0f);
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x01), std::ldexp(1.0f, -9));
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x07), std::ldexp(7.0f, -9));
  EXPECT_EQ(Bits<uint32_t>(Float8E4M3FNBitsToFloat(0x80)), 0x80000000u);
  EXPECT_TRUE(std::isnan(Float8E4M3FNBitsToFloat(0x7f)));
  EXPECT_TRUE(std::isnan(Float8E4M3FNBitsToFloat(0xff)));
}

// ---------------------------------------------------------------------------------------------
// float8_e5m2.

TEST(Float8E5M2, EncodesNormalsAndSubnormals) {
  EXPECT_EQ(FloatToFloat8E5M2Bits(1.0f), 0x3c);
  EXPECT_EQ(FloatToFloat8E5M2Bits(-3.0f), 0xc2);
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(1.0f, -14)), 0x04);  // smallest normal
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(1.0f, -16)), 0x01);  // smallest subnormal
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(3.0f, -16)), 0x03);  // largest subnormal
}

TEST(Float8E5M2, RoundsTiesToEven) {
  EXPECT_EQ(FloatToFloat8E5M2Bits(1.125f), 0x3c);  // 1 + 1/8, even is down
  EXPECT_EQ(FloatToFloat8E5M2Bits(1.375f), 0x3e);  // 1 + 3/8, even is up
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(1.0f, -17)), 0x00);
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(3.0f, -17)), 0x02);
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(7.0f, -17)), 0x04);  // into the smallest normal
}

TEST(Float8E5M2, OverflowsToInfinity) {
  EXPECT_EQ(FloatToFloat8E5M2Bits(57344.0f), 0x7b);  // largest finite
  EXPECT_EQ(FloatToFloat8E5M2Bits(61439.0f), 0x7b);
  EXPECT_EQ(FloatToFloat8E5M2Bits(61440.0f), 0x7c);  // tie goes to infinity
  EXPECT_EQ(FloatToFloat8E5M2Bits(kInf), 0x7c);
  EXPECT_EQ(FloatToFloat8E5M2Bits(-1e20f), 0xfc);
}

TEST(Float8E5M2, KeepsNegativeZeroAndNaN) {
  EXPECT_EQ(FloatToFloat8E5M2Bits(-0.0f), 0x80);
  EXPECT_EQ(FloatToFloat8E5M2Bits(kNaN), 0x7e);
  EXPECT_EQ(FloatToFloat8E5M2Bits(Bits<float>(0x7f800001u)) & 0x7e, 0x7e);  // stays NaN
}

TEST(Float8E5M2, DecodesKnownBits) {
  EXPECT_EQ(Float8E5M2BitsToFloat(0x3c), 1.0f);
  EXPECT_EQ(Float8E5M2BitsToFloat(0x7b), 57344.0f);
  EXPECT_EQ(Float8E5M2BitsToFloat(0x03), std::ldexp(3.0f, -16));
  EXPECT_EQ(Float8E5M2BitsToFloat(0x7c), kInf);
  EXPECT_EQ(Float8E5M2BitsToFloat(0xfc), -kInf);
  EXPECT_EQ(Bits<uint32_t>(Float8E5M2BitsToFloat(0x80)), 0x80000000u);
  EXPECT_TRUE(std::isnan(Float8E5M2BitsToFloat(0x7d)));
  EXPECT_TRUE(std::isnan(Float8E5M2BitsToFloat(0xff)));
}

// ---------------------------------------------------------------------------------------------
// Every bit pattern of every narrow format, and a slow reference for everything else.

struct NarrowCase {
  const char* name;
  int bits;  // 8 or 16
  float (*decode)(uint16_t);
  uint16_t (*from_float)(float);
  uint16_t (*from_double)(double);
};

const NarrowCase kNarrow[] = {
    {"float16", 16, [](uint16_t b) { return HalfBitsToFloat(b); }, FloatToHalfBits,
     DoubleToHalfBits},
    {"bfloat16", 16, [](uint16_t b) { return BFloat16BitsToFloat(b); }, FloatToBFloat16Bits,
     DoubleToBFloat16Bits},
    {"float8_e4m3fn", 8,
     [](uint16_t b) { return Float8E4M3FNBitsToFloat(static_cast<uint8_t>(b)); },
     [](float v) -> uint16_t { return FloatToFloat8E4M3FNBits(v); },
     [](double v) -> uint16_t { return DoubleToFloat8E4M3FNBits(v); }},
    {"float8_e5m2", 8, [](uint16_t b) { return Float8E5M2BitsToFloat(static_cast<uint8_t>(b)); },
     [](float v) -> uint16_t { return FloatToFloat8E5M2Bits(v); },
     [](double v) -> uint16_t { return DoubleToFloat8E5M2Bits(v); }},
};

TEST(NarrowFormats, EveryPatternRoundTripsThroughFloat) {
  for (const NarrowCase& format : kNarrow) {
    int failures = 0;
    for (uint32_t b = 0; b < (1u << format.bits) && failures < 10; ++b) {
      const uint16_t bits = static_cast<uint16_t>(b);
      const float value = format.decode(bits);
      const uint16_t back = format.from_float(value);
      if (std::isnan(value)) {
        EXPECT_TRUE(std::isnan(format.decode(back))) << format.name << " " << b;
        failures += !std::isnan(format.decode(back));
      } else {
        EXPECT_EQ(back, bits) << format.name;
        failures += back != bits;
      }
    }
  }
}

TEST(NarrowFormats, EveryPatternRoundTripsThroughDouble) {
  for (const NarrowCase& format : kNarrow) {
    int failures = 0;
    for (uint32_t b = 0; b < (1u << format.bits) && failures < 10; ++b) {
      const uint16_t bits = static_cast<uint16_t>(b);
      const double value = format.decode(bits);
      const uint16_t back = format.from_double(value);
      if (std::isnan(value)) {
        EXPECT_TRUE(std::isnan(format.decode(back))) << format.name << " " << b;
        failures += !std::isnan(format.decode(back));
      } else {
        EXPECT_EQ(back, bits) << format.name;
        failures += back != bits;
      }
    }
  }
}

// Rounds `value` to the format the slow, obvious way: scale to an integer count of steps, round
// that with the library's nearest-even, rebuild the bits.
uint16_t ReferenceBits(double value, int exp_bits, int man_bits, bool finite_only) {
  const int bias = (1 << (exp_bits - 1)) - 1;
  const uint16_t sign =
      std::signbit(value) ? static_cast<uint16_t>(1u << (exp_bits + man_bits)) : 0;
  const uint16_t all_ones_exp = static_cast<uint16_t>(((1u << exp_bits) - 1) << man_bits);
  const uint16_t nan = finite_only ? static_cast<uint16_t>(all_ones_exp | ((1u << man_bits) - 1))
                                   : static_cast<uint16_t>(all_ones_exp | (1u << (man_bits - 1)));
  const uint16_t overflow = finite_only ? nan : all_ones_exp;
  if (std::isnan(value)) return sign | nan;
  const double magnitude = std::fabs(value);
  if (std::isinf(magnitude)) return sign | overflow;
  if (magnitude == 0) return sign;
  int exponent;
  std::frexp(magnitude, &exponent);
  int e = std::max(exponent - 1, 1 - bias);  // subnormals share the smallest normal's scale
  double steps = std::nearbyint(std::ldexp(magnitude, man_bits - e));
  if (steps >= std::ldexp(1.0, man_bits + 1)) {
    steps /= 2;
    ++e;
  }
  const bool subnormal = steps < std::ldexp(1.0, man_bits);
  const int biased = subnormal ? 0 : e + bias;
  const uint32_t mantissa = static_cast<uint32_t>(steps) & ((1u << man_bits) - 1);
  const uint32_t bits = (static_cast<uint32_t>(biased) << man_bits) | mantissa;
  const uint32_t max_finite = finite_only ? (all_ones_exp | ((1u << man_bits) - 2))
                                          : static_cast<uint32_t>(all_ones_exp - 1);
  if (biased >= (1 << exp_bits) || bits > max_finite) return sign | overflow;
  return static_cast<uint16_t>(sign | bits);
}

struct FormatShape {
  int exp_bits;
  int man_bits;
  bool finite_only;
};
const FormatShape kShapes[] = {{5, 10, false}, {8, 7, false}, {4, 3, true}, {5, 2, false}};

// Values near the formats' ranges are where the interesting cases are; uniform random float
// bits would mostly over- or underflow.
TEST(NarrowFormats, FloatConversionsMatchTheReference) {
  std::mt19937 rng(12345);
  for (size_t f = 0; f < std::size(kNarrow); ++f) {
    const FormatShape& shape = kShapes[f];
    const int bias = (1 << (shape.exp_bits - 1)) - 1;
    std::uniform_int_distribution<int> exponent(-bias - shape.man_bits - 3, bias + 3);
    std::uniform_int_distribution<uint32_t> mantissa(0, (1u << 23) - 1);
    int failures = 0;
    for (int i = 0; i < 400000 && failures < 10; ++i) {
      uint32_t m = mantissa(rng);
      if (i % 4 == 0) m &= ~((1u << (23 - shape.man_bits - 1)) - 1);  // ties and exact values
      const float value = std::ldexp(1.0f + std::ldexp(static_cast<float>(m), -23), exponent(rng)) *
                          (i % 2 ? -1.0f : 1.0f);
      const uint16_t expected =
          ReferenceBits(value, shape.exp_bits, shape.man_bits, shape.finite_only);
      const uint16_t actual = kNarrow[f].from_float(value);
      EXPECT_EQ(actual, expected) << kNarrow[f].name << " " << value;
      failures += actual != expected;
    }
  }
}

TEST(NarrowFormats, DoubleConversionsMatchTheReference) {
  std::mt19937_64 rng(6789);
  for (size_t f = 0; f < std::size(kNarrow); ++f) {
    const FormatShape& shape = kShapes[f];
    const int bias = (1 << (shape.exp_bits - 1)) - 1;
    std::uniform_int_distribution<int> exponent(-bias - shape.man_bits - 3, bias + 3);
    std::uniform_int_distribution<uint64_t> mantissa(0, (uint64_t{1} << 52) - 1);
    int failures = 0;
    for (int i = 0; i < 400000 && failures < 10; ++i) {
      uint64_t m = mantissa(rng);
      if (i % 4 == 0) m &= ~((uint64_t{1} << (52 - shape.man_bits - 1)) - 1);
      if (i % 4 == 1) m |= uint64_t{1} << (52 - shape.man_bits - 1);  // just past a tie
      const double value =
          std::ldexp(1.0 + std::ldexp(static_cast<double>(m), -52), exponent(rng)) *
          (i % 2 ? -1.0 : 1.0);
      const uint16_t expected =
          ReferenceBits(value, shape.exp_bits, shape.man_bits, shape.finite_only);
      const uint16_t actual = kNarrow[f].from_double(value);
      EXPECT_EQ(actual, expected) << kNarrow[f].name << " " << value;
      failures += actual != expected;
    }
  }
}

TEST(NarrowFormats, DoubleNarrowingRoundsOnce) {
  // Rounded to float first, this would become the tie 1 + 2^-11 and then round down to 1.
  const double above_tie = 1.0 + std::ldexp(1.0, -11) + std::ldexp(1.0, -40);
  EXPECT_EQ(DoubleToHalfBits(above_tie), 0x3c01);
  EXPECT_EQ((Cast<uint16_t>(DType::kFloat64, DType::kFloat16, above_tie)), 0x3c01);
  EXPECT_EQ(DoubleToBFloat16Bits(1.0 + std::ldexp(1.0, -8) + std::ldexp(1.0, -40)), 0x3f81);
  EXPECT_EQ(DoubleToFloat8E4M3FNBits(1.0 + std::ldexp(1.0, -4) + std::ldexp(1.0, -40)), 0x39);
}

// ---------------------------------------------------------------------------------------------
// CastElements.

// Sample elements of `dtype` as raw bytes: extremes, specials, and every pattern of the formats
// small enough to enumerate.
std::vector<unsigned char> Samples(DType dtype) {
  std::vector<unsigned char> bytes;
  auto add = [&bytes](auto value) {
    const auto* p = reinterpret_cast<const unsigned char*>(&value);
    bytes.insert(bytes.end(), p, p + sizeof(value));
  };
  auto add_ints = [&add](auto zero) {
    using T = decltype(zero);
    using Limits = std::numeric_limits<T>;
    for (T v : {Limits::min(), static_cast<T>(Limits::min() + 1), T{0}, T{1}, T{2}, T{100},
                static_cast<T>(Limits::max() - 1), Limits::max(), static_cast<T>(Limits::max() / 3),
                static_cast<T>(Limits::min() / 3)}) {
      add(v);
    }
  };
  const std::vector<double> reals = {0.0,   -0.0, 1.0,    -1.0,  0.5,       3.25,           1e-3,
                                     -7e5,  1e30, -1e-30, 1e-40, 1e-300,    1e300,          kInf,
                                     -kInf, kNaN, 65504,  448,   1.0 / 3.0, std::acos(-1.0)};
  switch (dtype) {
    case DType::kBool:
      add(uint8_t{0});
      add(uint8_t{1});
      break;
    case DType::kInt8:
      add_ints(int8_t{});
      break;
    case DType::kInt16:
      add_ints(int16_t{});
      break;
    case DType::kInt32:
      add_ints(int32_t{});
      break;
    case DType::kInt64:
      add_ints(int64_t{});
      break;
    case DType::kUInt8:
      add_ints(uint8_t{});
      break;
    case DType::kUInt16:
      add_ints(uint16_t{});
      break;
    case DType::kUInt32:
      add_ints(uint32_t{});
      break;
    case DType::kUInt64:
      add_ints(uint64_t{});
      break;
    case DType::kFloat16:
    case DType::kBFloat16:
      for (uint32_t b = 0; b < 65536; ++b) add(static_cast<uint16_t>(b));
      break;
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
      for (uint32_t b = 0; b < 256; ++b) add(static_cast<uint8_t>(b));
      break;
    case DType::kFloat32:
      for (double v : reals) add(static_cast<float>(v));
      add(std::numeric_limits<float>::denorm_min());
      add(std::numeric_limits<float>::max());
      break;
    case DType::kFloat64:
      for (double v : reals) add(v);
      add(std::numeric_limits<double>::denorm_min());
      add(std::numeric_limits<double>::max());
      break;
    case DType::kComplex64:
      for (double v : reals) add(std::complex<float>(static_cast<float>(v), -0.25f));
      break;
    case DType::kComplex128:
      for (double v : reals) add(std::complex<double>(-2.5, v));
      break;
  }
  return bytes;
}

int Rank(DType dtype) {  // integer width in bits, signed types counting their sign
  return static_cast<int>(DTypeSize(dtype)) * 8;
}

// Whether every value of `a` is a value of `b`, so that a -> b -> a must give back the input.
bool HoldsExactly(DType a, DType b) {
  auto is_signed = [](DType d) {
    return d == DType::kInt8 || d == DType::kInt16 || d == DType::kInt32 || d == DType::kInt64;
  };
  // Significant bits of each floating type, and of the integer types.
  auto significand = [&](DType d) {
    switch (d) {
      case DType::kFloat8E4M3FN:
        return 4;
      case DType::kFloat8E5M2:
        return 3;
      case DType::kBFloat16:
        return 8;
      case DType::kFloat16:
        return 11;
      case DType::kFloat32:
      case DType::kComplex64:
        return 24;
      case DType::kFloat64:
      case DType::kComplex128:
        return 53;
      default:
        return Rank(d) - (is_signed(d) ? 1 : 0);
    }
  };
  if (a == b || a == DType::kBool) return true;
  if (b == DType::kBool || (IsComplex(a) && !IsComplex(b))) return false;
  if (IsComplex(a)) return b == DType::kComplex128;  // complex64 -> complex128
  const bool a_float = IsFloatingPoint(a);
  const bool b_float = IsFloatingPoint(b) || IsComplex(b);
  if (a_float && !b_float) return false;
  if (!a_float && !b_float) {  // integers
    if (is_signed(a) && !is_signed(b)) return false;
    return significand(a) <= significand(b);
  }
  if (!a_float) return significand(a) <= significand(b);  // integer magnitudes in a float
  // Floating in floating: enough mantissa and exponent range. Every narrow format fits in
  // float32; the float8s also fit in float16 and bfloat16.
  switch (a) {
    case DType::kFloat8E4M3FN:
    case DType::kFloat8E5M2:
      return b != DType::kFloat8E4M3FN && b != DType::kFloat8E5M2;
    case DType::kFloat16:
    case DType::kBFloat16:
      return significand(b) >= 24;
    case DType::kFloat32:
      return significand(b) >= 24;
    default:  // float64
      return b == DType::kComplex128;
  }
}

// NaN is compared as NaN: a payload or quiet bit may legitimately change.
bool IsNaNElement(DType dtype, const unsigned char* element) {
  if (dtype == DType::kBool || IsInteger(dtype)) return false;
  std::complex<double> value;
  CastElements(dtype, element, DType::kComplex128, &value, 1);
  return std::isnan(value.real()) || std::isnan(value.imag());
}

TEST(CastElements, RoundTripsExactlyThroughEveryTypeThatHoldsTheValues) {
  int pairs = 0;
  for (DType a : kAll) {
    const std::vector<unsigned char> in = Samples(a);
    const size_t count = in.size() / DTypeSize(a);
    for (DType b : kAll) {
      // Complex to real is refused, so a real value cannot come back from a complex type.
      if (!HoldsExactly(a, b) || !CheckCastable(b, a).ok()) continue;
      ++pairs;
      std::vector<unsigned char> mid(count * DTypeSize(b)), out(in.size());
      CastElements(a, in.data(), b, mid.data(), count);
      CastElements(b, mid.data(), a, out.data(), count);
      int failures = 0;
      for (size_t i = 0; i < count && failures < 5; ++i) {
        const unsigned char* x = in.data() + i * DTypeSize(a);
        const unsigned char* y = out.data() + i * DTypeSize(a);
        if (std::memcmp(x, y, DTypeSize(a)) == 0) continue;
        if (IsNaNElement(a, x) && IsNaNElement(a, y)) continue;
        ++failures;
        ADD_FAILURE() << DTypeName(a) << " -> " << DTypeName(b) << " -> " << DTypeName(a)
                      << " changed element " << i;
      }
    }
  }
  // Guards against HoldsExactly quietly excluding everything.
  EXPECT_GT(pairs, 70);
}

TEST(CastElements, Int8ThroughFloat32IsExact) {
  std::vector<int8_t> in(256), back(256);
  for (int i = 0; i < 256; ++i) in[i] = static_cast<int8_t>(i - 128);
  std::vector<float> mid(256);
  CastElements(DType::kInt8, in.data(), DType::kFloat32, mid.data(), 256);
  CastElements(DType::kFloat32, mid.data(), DType::kInt8, back.data(), 256);
  EXPECT_EQ(in, back);
  EXPECT_EQ(mid[0], -128.0f);
}

TEST(CastElements, FloatToIntTruncatesTowardZero) {
  EXPECT_EQ((Cast<int8_t>(DType::kFloat32, DType::kInt8, 3.9f)), 3);
  EXPECT_EQ((Cast<int8_t>(DType::kFloat32, DType::kInt8, -3.9f)), -3);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat32, DType::kUInt8, -0.9f)), 0);
  EXPECT_EQ((Cast<int64_t>(DType::kFloat64, DType::kInt64, -1e15 - 0.5)), -1000000000000000);
  EXPECT_EQ((Cast<int16_t>(DType::kFloat16, DType::kInt16, FloatToHalfBits(-2.75f))), -2);
}

TEST(CastElements, FloatToIntSaturates) {
  EXPECT_EQ((Cast<int8_t>(DType::kFloat32, DType::kInt8, 1000.0f)), 127);
  EXPECT_EQ((Cast<int8_t>(DType::kFloat32, DType::kInt8, -1000.0f)), -128);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat64, DType::kUInt8, -5.0)), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat64, DType::kUInt8, 255.9)), 255);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat64, DType::kUInt8, 256.0)), 255);
  EXPECT_EQ((Cast<int32_t>(DType::kFloat32, DType::kInt32, 2147483648.0f)), INT32_MAX);
  EXPECT_EQ((Cast<int32_t>(DType::kFloat32, DType::kInt32, -2147483648.0f)), INT32_MIN);
  EXPECT_EQ((Cast<int32_t>(DType::kFloat64, DType::kInt32, 2147483647.0)), INT32_MAX);
  EXPECT_EQ((Cast<int64_t>(DType::kFloat64, DType::kInt64, 9223372036854775808.0)), INT64_MAX);
  EXPECT_EQ((Cast<int64_t>(DType::kFloat64, DType::kInt64, -9223372036854775808.0)), INT64_MIN);
  EXPECT_EQ((Cast<uint64_t>(DType::kFloat64, DType::kUInt64, 1e300)), UINT64_MAX);
  // The largest double below 2^64 converts exactly.
  EXPECT_EQ((Cast<uint64_t>(DType::kFloat64, DType::kUInt64, 18446744073709549568.0)),
            uint64_t{18446744073709549568u});
  EXPECT_EQ((Cast<int16_t>(DType::kFloat32, DType::kInt16, kInf)), INT16_MAX);
  EXPECT_EQ((Cast<int16_t>(DType::kFloat32, DType::kInt16, -kInf)), INT16_MIN);
  EXPECT_EQ((Cast<int16_t>(DType::kFloat16, DType::kInt16, uint16_t{0x7c00})), INT16_MAX);
  EXPECT_EQ((Cast<int8_t>(DType::kFloat8E4M3FN, DType::kInt8, uint8_t{0x7e})), 127);
}

TEST(CastElements, NaNToIntIsZero) {
  for (DType to : kAll) {
    if (!IsInteger(to)) continue;
    unsigned char out[8];
    std::memset(out, 0xab, sizeof(out));
    CastElements(DType::kFloat32, &kNaN, to, out, 1);
    EXPECT_EQ(std::count(out, out + DTypeSize(to), 0), static_cast<int>(DTypeSize(to)))
        << DTypeName(to);
  }
  EXPECT_EQ((Cast<int32_t>(DType::kFloat64, DType::kInt32, std::nan(""))), 0);
  EXPECT_EQ((Cast<int32_t>(DType::kBFloat16, DType::kInt32, uint16_t{0x7fc0})), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat8E4M3FN, DType::kUInt8, uint8_t{0xff})), 0);
}

TEST(CastElements, IntegerNarrowingSaturates) {
  EXPECT_EQ((Cast<int8_t>(DType::kInt64, DType::kInt8, int64_t{300})), 127);
  EXPECT_EQ((Cast<int8_t>(DType::kInt64, DType::kInt8, int64_t{-300})), -128);
  EXPECT_EQ((Cast<int8_t>(DType::kInt16, DType::kInt8, int16_t{-5})), -5);
  EXPECT_EQ((Cast<uint16_t>(DType::kInt32, DType::kUInt16, int32_t{-1})), 0);
  EXPECT_EQ((Cast<uint16_t>(DType::kInt32, DType::kUInt16, int32_t{70000})), 65535);
  EXPECT_EQ((Cast<uint64_t>(DType::kInt8, DType::kUInt64, int8_t{-1})), 0u);
  EXPECT_EQ((Cast<int16_t>(DType::kUInt16, DType::kInt16, uint16_t{40000})), 32767);
  EXPECT_EQ((Cast<int32_t>(DType::kUInt32, DType::kInt32, uint32_t{0xffffffff})), INT32_MAX);
  EXPECT_EQ((Cast<int64_t>(DType::kUInt64, DType::kInt64, UINT64_MAX)), INT64_MAX);
  EXPECT_EQ((Cast<uint8_t>(DType::kUInt64, DType::kUInt8, uint64_t{256})), 255);
}

TEST(CastElements, IntegerWideningKeepsTheValue) {
  EXPECT_EQ((Cast<int64_t>(DType::kInt8, DType::kInt64, int8_t{-128})), -128);
  EXPECT_EQ((Cast<int16_t>(DType::kUInt8, DType::kInt16, uint8_t{255})), 255);
  EXPECT_EQ((Cast<uint64_t>(DType::kUInt32, DType::kUInt64, UINT32_MAX)), UINT32_MAX);
  // Exact beyond 2^53: integers never pass through double.
  const int64_t big = (int64_t{1} << 62) + 1;
  EXPECT_EQ((Cast<uint64_t>(DType::kInt64, DType::kUInt64, big)), static_cast<uint64_t>(big));
}

TEST(CastElements, IntegerToFloatRoundsOnce) {
  EXPECT_EQ((Cast<float>(DType::kInt32, DType::kFloat32, int32_t{16777217})), 16777216.0f);
  EXPECT_EQ((Cast<float>(DType::kUInt64, DType::kFloat32, UINT64_MAX)), 18446744073709551616.0f);
  EXPECT_EQ((Cast<double>(DType::kInt64, DType::kFloat64, INT64_MIN)), -9223372036854775808.0);
  // 2^40 + 2^32 + 1 is just above a bfloat16 tie. Through float (or a round-to-nearest double
  // of a wider value) it would land on the tie and round down to 2^40.
  EXPECT_EQ((Cast<uint16_t>(DType::kInt64, DType::kBFloat16,
                            (int64_t{1} << 40) + (int64_t{1} << 32) + 1)),
            0x5381);
  const int64_t tie_above_2_53 = (int64_t{1} << 60) + (int64_t{1} << 52) + 1;
  EXPECT_EQ((Cast<uint16_t>(DType::kInt64, DType::kBFloat16, tie_above_2_53)),
            FloatToBFloat16Bits(std::ldexp(1.0f, 60) + std::ldexp(1.0f, 53)));
  EXPECT_EQ((Cast<uint16_t>(DType::kInt32, DType::kFloat16, int32_t{70000})), 0x7c00);
  EXPECT_EQ((Cast<uint8_t>(DType::kInt16, DType::kFloat8E4M3FN, int16_t{-1000})), 0xff);
  EXPECT_EQ((Cast<uint8_t>(DType::kUInt64, DType::kFloat8E5M2, UINT64_MAX)), 0x7c);
}

TEST(CastElements, AnythingToBoolIsNonZero) {
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat32, DType::kBool, 0.5f)), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat32, DType::kBool, -0.0f)), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat64, DType::kBool, std::nan(""))), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kInt32, DType::kBool, int32_t{0})), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kInt64, DType::kBool, int64_t{-7})), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kUInt16, DType::kBool, uint16_t{256})), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat16, DType::kBool, uint16_t{0x8000})), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat16, DType::kBool, uint16_t{0x0001})), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kBFloat16, DType::kBool, uint16_t{0x8000})), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat8E4M3FN, DType::kBool, uint8_t{0x80})), 0);
  EXPECT_EQ((Cast<uint8_t>(DType::kFloat8E5M2, DType::kBool, uint8_t{0x7e})), 1);  // NaN
}

TEST(CastElements, ComplexToBoolLooksAtBothParts) {
  EXPECT_EQ((Cast<uint8_t>(DType::kComplex64, DType::kBool, std::complex<float>(0, 1))), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kComplex128, DType::kBool, std::complex<double>(2, 0))), 1);
  EXPECT_EQ((Cast<uint8_t>(DType::kComplex64, DType::kBool, std::complex<float>(0, -0.0f))), 0);
}

TEST(CastElements, BoolToNumberIsZeroOrOne) {
  EXPECT_EQ((Cast<float>(DType::kBool, DType::kFloat32, uint8_t{1})), 1.0f);
  EXPECT_EQ((Cast<int64_t>(DType::kBool, DType::kInt64, uint8_t{1})), 1);
  EXPECT_EQ((Cast<uint16_t>(DType::kBool, DType::kBFloat16, uint8_t{1})), 0x3f80);
  EXPECT_EQ((Cast<uint8_t>(DType::kBool, DType::kFloat8E4M3FN, uint8_t{0})), 0x00);
  EXPECT_EQ((Cast<std::complex<double>>(DType::kBool, DType::kComplex128, uint8_t{1})),
            std::complex<double>(1, 0));
  // A stored byte other than 0 or 1 still reads as true.
  EXPECT_EQ((Cast<int32_t>(DType::kBool, DType::kInt32, uint8_t{2})), 1);
}

TEST(CastElements, RealToComplexHasZeroImaginaryPart) {
  EXPECT_EQ((Cast<std::complex<double>>(DType::kFloat32, DType::kComplex128, 2.5f)),
            std::complex<double>(2.5, 0));
  EXPECT_EQ((Cast<std::complex<float>>(DType::kInt64, DType::kComplex64, int64_t{-3})),
            std::complex<float>(-3, 0));
  EXPECT_EQ((Cast<std::complex<float>>(DType::kFloat8E4M3FN, DType::kComplex64, uint8_t{0x7e})),
            std::complex<float>(448, 0));
  EXPECT_EQ((Cast<std::complex<float>>(DType::kFloat64, DType::kComplex64, 0.1)),
            std::complex<float>(0.1f, 0));
}

TEST(CastElements, ComplexToComplexConvertsEachPart) {
  EXPECT_EQ((Cast<std::complex<float>>(DType::kComplex128, DType::kComplex64,
                                       std::complex<double>(0.1, -1e300))),
            std::complex<float>(0.1f, -kInf));
  EXPECT_EQ((Cast<std::complex<double>>(DType::kComplex64, DType::kComplex128,
                                        std::complex<float>(1.5f, -2))),
            std::complex<double>(1.5, -2));
}

TEST(CastElements, Float64ToFloat32RoundsToNearestAndOverflowsToInfinity) {
  EXPECT_EQ((Cast<float>(DType::kFloat64, DType::kFloat32, 1.0 + std::ldexp(1.0, -24))), 1.0f);
  EXPECT_EQ((Cast<float>(DType::kFloat64, DType::kFloat32, 1.0 + std::ldexp(3.0, -24))),
            1.0f + std::ldexp(1.0f, -22));
  EXPECT_EQ((Cast<float>(DType::kFloat64, DType::kFloat32, -1e300)), -kInf);
  EXPECT_EQ((Cast<double>(DType::kFloat32, DType::kFloat64, 0.1f)), static_cast<double>(0.1f));
}

TEST(CastElements, NarrowToNarrowRoundsOnceThroughFloat) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t half = static_cast<uint16_t>(b);
    const float value = HalfBitsToFloat(half);
    const uint8_t e4m3 = Cast<uint8_t>(DType::kFloat16, DType::kFloat8E4M3FN, half);
    const uint16_t bf16 = Cast<uint16_t>(DType::kFloat16, DType::kBFloat16, half);
    ASSERT_EQ(e4m3, FloatToFloat8E4M3FNBits(value)) << b;
    ASSERT_EQ(bf16, FloatToBFloat16Bits(value)) << b;
  }
}

// Long buffers take the blocked loop and the tail; both must agree with the scalar helpers.
TEST(CastElements, BulkConversionMatchesTheScalarHelpers) {
  constexpr size_t kCount = 1003;
  std::mt19937 rng(42);
  std::vector<float> floats(kCount);
  std::vector<double> doubles(kCount);
  for (size_t i = 0; i < kCount; ++i) {
    floats[i] = Bits<float>(static_cast<uint32_t>(rng()));
    if (i % 3 == 0) floats[i] = std::ldexp(static_cast<float>(rng() % 100000) - 50000.0f, -12);
    doubles[i] = floats[i] * (1.0 + std::ldexp(1.0, -30));
  }
  std::vector<uint16_t> half(kCount), bf16(kCount), half_d(kCount);
  std::vector<uint8_t> e4m3(kCount), e5m2(kCount);
  std::vector<float> half_back(kCount), bf16_back(kCount);
  CastElements(DType::kFloat32, floats.data(), DType::kFloat16, half.data(), kCount);
  CastElements(DType::kFloat32, floats.data(), DType::kBFloat16, bf16.data(), kCount);
  CastElements(DType::kFloat32, floats.data(), DType::kFloat8E4M3FN, e4m3.data(), kCount);
  CastElements(DType::kFloat32, floats.data(), DType::kFloat8E5M2, e5m2.data(), kCount);
  CastElements(DType::kFloat64, doubles.data(), DType::kFloat16, half_d.data(), kCount);
  CastElements(DType::kFloat16, half.data(), DType::kFloat32, half_back.data(), kCount);
  CastElements(DType::kBFloat16, bf16.data(), DType::kFloat32, bf16_back.data(), kCount);
  for (size_t i = 0; i < kCount; ++i) {
    ASSERT_EQ(half[i], FloatToHalfBits(floats[i])) << i;
    ASSERT_EQ(bf16[i], FloatToBFloat16Bits(floats[i])) << i;
    ASSERT_EQ(e4m3[i], FloatToFloat8E4M3FNBits(floats[i])) << i;
    ASSERT_EQ(e5m2[i], FloatToFloat8E5M2Bits(floats[i])) << i;
    ASSERT_EQ(half_d[i], DoubleToHalfBits(doubles[i])) << i;
    ASSERT_EQ(Bits<uint32_t>(half_back[i]), Bits<uint32_t>(HalfBitsToFloat(half[i]))) << i;
    ASSERT_EQ(Bits<uint32_t>(bf16_back[i]), Bits<uint32_t>(BFloat16BitsToFloat(bf16[i]))) << i;
  }
}

TEST(CastElements, SameTypeCopiesBytes) {
  const std::vector<uint16_t> in = {1, 2, 0x7e01, 0xffff, 5};  // a NaN payload is kept as is
  std::vector<uint16_t> out(in.size());
  CastElements(DType::kFloat16, in.data(), DType::kFloat16, out.data(), in.size());
  EXPECT_EQ(out, in);
  CastElements(DType::kFloat16, out.data(), DType::kFloat16, out.data(), out.size());  // in place
  EXPECT_EQ(out, in);
}

TEST(CastElements, AcceptsUnalignedBuffers) {
  std::vector<unsigned char> src(1 + 100 * sizeof(double)), dst(1 + 100 * sizeof(float));
  for (int i = 0; i < 100; ++i) {
    const double v = i * 0.5;
    std::memcpy(src.data() + 1 + i * sizeof(double), &v, sizeof(v));
  }
  CastElements(DType::kFloat64, src.data() + 1, DType::kFloat32, dst.data() + 1, 100);
  for (int i = 0; i < 100; ++i) {
    float v;
    std::memcpy(&v, dst.data() + 1 + i * sizeof(float), sizeof(v));
    EXPECT_EQ(v, i * 0.5f);
  }
}

TEST(CastElements, ZeroCountWritesNothing) {
  float out = 7.0f;
  CastElements(DType::kInt8, nullptr, DType::kFloat32, &out, 0);
  CastElements(DType::kFloat32, nullptr, DType::kFloat32, &out, 0);
  EXPECT_EQ(out, 7.0f);
}

// ---------------------------------------------------------------------------------------------
// FindUnrepresentable: which values a cast into an integer type would saturate.

// The element's exact value: long double holds every int64, uint64 and double exactly.
long double ExactValue(DType dtype, const unsigned char* element) {
  if (IsInteger(dtype) && DTypeName(dtype)[0] == 'u') {
    uint64_t value;
    CastElements(dtype, element, DType::kUInt64, &value, 1);
    return static_cast<long double>(value);
  }
  if (IsInteger(dtype) || dtype == DType::kBool) {
    int64_t value;
    CastElements(dtype, element, DType::kInt64, &value, 1);
    return static_cast<long double>(value);
  }
  double value;
  CastElements(dtype, element, DType::kFloat64, &value, 1);
  return value;
}

long double Lowest(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
      return std::numeric_limits<int8_t>::min();
    case DType::kInt16:
      return std::numeric_limits<int16_t>::min();
    case DType::kInt32:
      return std::numeric_limits<int32_t>::min();
    case DType::kInt64:
      return static_cast<long double>(std::numeric_limits<int64_t>::min());
    default:
      return 0;
  }
}

long double Highest(DType dtype) {
  switch (dtype) {
    case DType::kInt8:
      return std::numeric_limits<int8_t>::max();
    case DType::kInt16:
      return std::numeric_limits<int16_t>::max();
    case DType::kInt32:
      return std::numeric_limits<int32_t>::max();
    case DType::kInt64:
      return static_cast<long double>(std::numeric_limits<int64_t>::max());
    case DType::kUInt8:
      return std::numeric_limits<uint8_t>::max();
    case DType::kUInt16:
      return std::numeric_limits<uint16_t>::max();
    case DType::kUInt32:
      return std::numeric_limits<uint32_t>::max();
    default:
      return static_cast<long double>(std::numeric_limits<uint64_t>::max());
  }
}

// Samples plus values at and around every integer type's bounds, as `dtype` rounds them.
std::vector<unsigned char> SamplesNearIntegerBounds(DType dtype) {
  std::vector<unsigned char> bytes = Samples(dtype);
  std::vector<double> near;
  for (DType target : kAll) {
    if (!IsInteger(target)) continue;
    const double low = static_cast<double>(Lowest(target));
    const double high = static_cast<double>(Highest(target));
    for (double v : {low - 1, low - 0.5, low - 0.25, low, low + 0.5, high - 0.5, high, high + 0.5,
                     high + 1, std::nextafter(high, 0.0), std::nextafter(high, double{kInf}),
                     std::nextafter(low, -double{kInf})}) {
      near.push_back(v);
    }
  }
  if (IsComplex(dtype)) return bytes;
  const size_t width = DTypeSize(dtype);
  std::vector<unsigned char> element(width);
  for (double v : near) {
    // An integer type saturates the ones it cannot hold, so it gets its own bounds too.
    CastElements(DType::kFloat64, &v, dtype, element.data(), 1);
    bytes.insert(bytes.end(), element.begin(), element.end());
  }
  return bytes;
}

TEST(FindUnrepresentable, AgreesWithTheExactValueForEveryPair) {
  int checked = 0;
  for (DType from : kAll) {
    if (IsComplex(from)) continue;
    const std::vector<unsigned char> in = SamplesNearIntegerBounds(from);
    const size_t width = DTypeSize(from);
    for (DType to : kAll) {
      for (size_t i = 0; i < in.size() / width; ++i) {
        const unsigned char* element = in.data() + i * width;
        const long double value = ExactValue(from, element);
        bool fits = true;
        if (IsInteger(to) && from != DType::kBool) {
          fits = !std::isnan(value) && std::trunc(value) >= Lowest(to) &&
                 std::trunc(value) <= Highest(to);
        }
        ASSERT_EQ(FindUnrepresentable(from, element, to, 1) == 1, fits)
            << DTypeName(from) << " " << ElementToString(from, element, 0) << " -> "
            << DTypeName(to);
        if (!fits) EXPECT_TRUE(CastCanLoseValues(from, to));
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100000);
}

TEST(FindUnrepresentable, ReturnsTheFirstMisfit) {
  const std::vector<float> values = {1.5f, -2.5f, kNaN, 1e20f};
  EXPECT_EQ(FindUnrepresentable(DType::kFloat32, values.data(), DType::kInt32, 4), 2u);
  EXPECT_EQ(FindUnrepresentable(DType::kFloat32, values.data(), DType::kInt32, 2), 2u);
  EXPECT_EQ(FindUnrepresentable(DType::kFloat32, values.data() + 3, DType::kInt64, 1), 0u);
}

TEST(FindUnrepresentable, CastsOutsideIntegersNeverLoseValues) {
  const std::vector<double> values = {kNaN, 1e300, -kInf};
  EXPECT_EQ(FindUnrepresentable(DType::kFloat64, values.data(), DType::kFloat32, 3), 3u);
  EXPECT_EQ(FindUnrepresentable(DType::kFloat64, values.data(), DType::kBool, 3), 3u);
  EXPECT_FALSE(CastCanLoseValues(DType::kFloat64, DType::kFloat16));
  EXPECT_FALSE(CastCanLoseValues(DType::kUInt32, DType::kInt64));
  EXPECT_FALSE(CastCanLoseValues(DType::kInt8, DType::kInt8));
  EXPECT_TRUE(CastCanLoseValues(DType::kUInt32, DType::kInt32));
  EXPECT_TRUE(CastCanLoseValues(DType::kInt8, DType::kUInt64));
}

TEST(ElementToString, PrintsValuesAsNumbers) {
  const std::vector<float> floats = {kNaN, -kInf, 1e20f};
  EXPECT_EQ(ElementToString(DType::kFloat32, floats.data(), 0), "nan");
  EXPECT_EQ(ElementToString(DType::kFloat32, floats.data(), 1), "-inf");
  EXPECT_EQ(ElementToString(DType::kFloat32, floats.data(), 2), "1e+20");
  const std::vector<uint64_t> big = {uint64_t{1} << 63};
  EXPECT_EQ(ElementToString(DType::kUInt64, big.data(), 0), "9223372036854775808");
  const std::vector<int8_t> small = {-128};
  EXPECT_EQ(ElementToString(DType::kInt8, small.data(), 0), "-128");
}

}  // namespace
}  // namespace cairn
