// DType names and sizes, the narrow float formats bit for bit, and CastElements' rules.
#include "cairn/storage/dtype.h"

#include <cmath>
#include <complex>
#include <cstring>
#include <limits>
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

template <typename To, typename From>
To CastOne(DType from, DType to, From value) {
  To out{};
  CastElements(from, &value, to, &out, 1);
  return out;
}

TEST(DType, NamesRoundTripAndSizesMatch) {
  const size_t sizes[] = {1, 1, 2, 4, 8, 1, 2, 4, 8, 2, 2, 4, 8, 8, 16, 1, 1};
  for (size_t i = 0; i < std::size(kAll); ++i) {
    EXPECT_EQ(*ParseDType(DTypeName(kAll[i])), kAll[i]);
    EXPECT_EQ(DTypeSize(kAll[i]), sizes[i]) << DTypeName(kAll[i]);
  }
  EXPECT_EQ(DTypeName(DType::kFloat8E4M3FN), "float8_e4m3fn");
  EXPECT_EQ(DTypeName(DType::kBFloat16), "bfloat16");
}

TEST(DType, UnknownNameIsAnError) {
  EXPECT_EQ(ParseDType("float128").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(IsValidDType(0));
  EXPECT_FALSE(IsValidDType(18));
}

TEST(DType, ComplexToRealIsRefused) {
  EXPECT_EQ(CheckCastable(DType::kComplex64, DType::kFloat32).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(CheckCastable(DType::kFloat32, DType::kComplex128).ok());
  EXPECT_TRUE(CheckCastable(DType::kComplex128, DType::kComplex64).ok());
}

TEST(FloatFormats, HalfKnownBitPatterns) {
  EXPECT_EQ(FloatToHalfBits(1.0f), 0x3c00);
  EXPECT_EQ(FloatToHalfBits(-2.0f), 0xc000);
  EXPECT_EQ(FloatToHalfBits(65504.0f), 0x7bff);                      // max finite
  EXPECT_EQ(FloatToHalfBits(65520.0f), 0x7c00);                      // rounds up to infinity
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -24)), 0x0001);         // smallest subnormal
  EXPECT_EQ(FloatToHalfBits(std::ldexp(1.0f, -25)), 0x0000);         // tie to even: down to zero
  EXPECT_EQ(FloatToHalfBits(std::ldexp(3.0f, -25)), 0x0002);         // tie to even: up
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(1.0f, -11)), 0x3c00);  // tie, even is down
  EXPECT_EQ(FloatToHalfBits(1.0f + std::ldexp(3.0f, -11)), 0x3c02);  // tie, even is up
  EXPECT_EQ(FloatToHalfBits(-0.0f), 0x8000);
  EXPECT_TRUE(std::isnan(HalfBitsToFloat(FloatToHalfBits(NAN))));
  EXPECT_EQ(HalfBitsToFloat(0x7c00), INFINITY);
}

TEST(FloatFormats, BFloat16RoundsToNearestEven) {
  EXPECT_EQ(FloatToBFloat16Bits(1.0f), 0x3f80);
  EXPECT_EQ(FloatToBFloat16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80);        // tie: stays even
  EXPECT_EQ(FloatToBFloat16Bits(1.0f + std::ldexp(3.0f, -8)), 0x3f82);        // tie: up to even
  EXPECT_EQ(FloatToBFloat16Bits(1.0f + std::ldexp(5.0f, -9)), 0x3f81);        // above half: up
  EXPECT_EQ(FloatToBFloat16Bits(std::numeric_limits<float>::max()), 0x7f80);  // to infinity
  EXPECT_TRUE(std::isnan(BFloat16BitsToFloat(FloatToBFloat16Bits(NAN))));
  // The fast float path and the generic double path agree.
  for (float v : {3.3f, -1e-40f, 123456.7f, 1e38f, 5.877e-39f}) {
    EXPECT_EQ(FloatToBFloat16Bits(v), DoubleToBFloat16Bits(v)) << v;
  }
}

TEST(FloatFormats, Float8E4M3FN) {
  EXPECT_EQ(FloatToFloat8E4M3FNBits(1.0f), 0x38);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(448.0f), 0x7e);  // max finite
  EXPECT_EQ(FloatToFloat8E4M3FNBits(464.0f), 0x7e);  // tie rounds to even (448)
  EXPECT_EQ(FloatToFloat8E4M3FNBits(480.0f), 0x7f);  // beyond: NaN, no infinity
  EXPECT_EQ(FloatToFloat8E4M3FNBits(INFINITY), 0x7f);
  EXPECT_EQ(FloatToFloat8E4M3FNBits(std::ldexp(1.0f, -9)), 0x01);  // smallest subnormal
  EXPECT_EQ(FloatToFloat8E4M3FNBits(-0.0f), 0x80);
  EXPECT_TRUE(std::isnan(Float8E4M3FNBitsToFloat(0xff)));
  EXPECT_EQ(Float8E4M3FNBitsToFloat(0x78), 256.0f);  // all-ones exponent is a number here
}

TEST(FloatFormats, Float8E5M2) {
  EXPECT_EQ(FloatToFloat8E5M2Bits(1.0f), 0x3c);
  EXPECT_EQ(FloatToFloat8E5M2Bits(57344.0f), 0x7b);  // max finite
  EXPECT_EQ(FloatToFloat8E5M2Bits(65536.0f), 0x7c);  // infinity
  EXPECT_EQ(FloatToFloat8E5M2Bits(std::ldexp(1.0f, -16)), 0x01);
  EXPECT_EQ(Float8E5M2BitsToFloat(0x7c), INFINITY);
  EXPECT_TRUE(std::isnan(Float8E5M2BitsToFloat(0x7d)));
}

// Every bit pattern decodes and re-encodes to itself (NaNs to a NaN).
TEST(FloatFormats, EveryPatternRoundTrips) {
  for (uint32_t b = 0; b < 256; ++b) {
    const float e4 = Float8E4M3FNBitsToFloat(static_cast<uint8_t>(b));
    if (std::isnan(e4)) {
      EXPECT_TRUE(std::isnan(Float8E4M3FNBitsToFloat(FloatToFloat8E4M3FNBits(e4))));
    } else {
      EXPECT_EQ(FloatToFloat8E4M3FNBits(e4), b) << b;
    }
    const float e5 = Float8E5M2BitsToFloat(static_cast<uint8_t>(b));
    if (std::isnan(e5)) {
      EXPECT_TRUE(std::isnan(Float8E5M2BitsToFloat(FloatToFloat8E5M2Bits(e5))));
    } else {
      EXPECT_EQ(FloatToFloat8E5M2Bits(e5), b) << b;
    }
  }
  for (uint32_t b = 0; b < 65536; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    const float h = HalfBitsToFloat(bits);
    const float bf = BFloat16BitsToFloat(bits);
    if (!std::isnan(h)) ASSERT_EQ(FloatToHalfBits(h), bits) << b;
    if (!std::isnan(bf)) ASSERT_EQ(FloatToBFloat16Bits(bf), bits) << b;
  }
}

TEST(CastElements, FloatToIntTruncatesSaturatesAndMapsNaNToZero) {
  EXPECT_EQ((CastOne<int8_t>(DType::kFloat32, DType::kInt8, 3.9f)), 3);
  EXPECT_EQ((CastOne<int8_t>(DType::kFloat32, DType::kInt8, -3.9f)), -3);
  EXPECT_EQ((CastOne<int8_t>(DType::kFloat32, DType::kInt8, 1000.0f)), 127);
  EXPECT_EQ((CastOne<int8_t>(DType::kFloat32, DType::kInt8, -1000.0f)), -128);
  EXPECT_EQ((CastOne<uint8_t>(DType::kFloat64, DType::kUInt8, -5.0)), 0);
  EXPECT_EQ((CastOne<int32_t>(DType::kFloat32, DType::kInt32, NAN)), 0);
  EXPECT_EQ((CastOne<int64_t>(DType::kFloat64, DType::kInt64, 1e300)),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ((CastOne<uint64_t>(DType::kFloat64, DType::kUInt64, 1e300)),
            std::numeric_limits<uint64_t>::max());
}

TEST(CastElements, IntegerNarrowingSaturates) {
  EXPECT_EQ((CastOne<int8_t>(DType::kInt64, DType::kInt8, int64_t{300})), 127);
  EXPECT_EQ((CastOne<uint16_t>(DType::kInt32, DType::kUInt16, int32_t{-1})), 0);
  EXPECT_EQ((CastOne<int64_t>(DType::kUInt64, DType::kInt64, ~uint64_t{0})),
            std::numeric_limits<int64_t>::max());
  // Exact beyond 2^53: integers never pass through double.
  const int64_t big = (int64_t{1} << 62) + 1;
  EXPECT_EQ((CastOne<uint64_t>(DType::kInt64, DType::kUInt64, big)), static_cast<uint64_t>(big));
}

TEST(CastElements, BoolAndComplexRules) {
  EXPECT_EQ((CastOne<bool>(DType::kFloat32, DType::kBool, 0.5f)), true);
  EXPECT_EQ((CastOne<bool>(DType::kInt32, DType::kBool, int32_t{0})), false);
  EXPECT_EQ((CastOne<float>(DType::kBool, DType::kFloat32, true)), 1.0f);
  EXPECT_EQ((CastOne<std::complex<double>>(DType::kFloat32, DType::kComplex128, 2.5f)),
            std::complex<double>(2.5, 0));
  EXPECT_EQ((CastOne<bool>(DType::kComplex64, DType::kBool, std::complex<float>(0, 1))), true);
  EXPECT_EQ((CastOne<std::complex<float>>(DType::kComplex128, DType::kComplex64,
                                          std::complex<double>(1.5, -2))),
            std::complex<float>(1.5f, -2));
}

TEST(CastElements, EveryRealPairRoundTripsSmallIntegersExactly) {
  // Small integers every real dtype holds exactly (float8_e5m2 has two mantissa bits).
  const std::vector<int8_t> values = {0, 1, 2, 3, 4, 6, 12};
  for (DType a : kAll) {
    for (DType b : kAll) {
      if (!CheckCastable(a, b).ok() || !CheckCastable(b, a).ok()) continue;
      if (a == DType::kBool || b == DType::kBool || IsComplex(a)) continue;
      std::vector<char> in(values.size() * DTypeSize(a)), mid(values.size() * DTypeSize(b)),
          out(values.size() * DTypeSize(a)), back(values.size());
      CastElements(DType::kInt8, values.data(), a, in.data(), values.size());
      CastElements(a, in.data(), b, mid.data(), values.size());
      CastElements(b, mid.data(), a, out.data(), values.size());
      CastElements(a, out.data(), DType::kInt8, back.data(), values.size());
      EXPECT_EQ(std::memcmp(back.data(), values.data(), values.size()), 0)
          << DTypeName(a) << " -> " << DTypeName(b);
    }
  }
}

}  // namespace
}  // namespace cairn
