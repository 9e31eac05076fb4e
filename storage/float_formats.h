// Bit-level conversions between float/double and the narrow floating formats that have no C++
// type: float16 (IEEE binary16), bfloat16, float8_e4m3fn and float8_e5m2.
//
// Narrowing rounds to nearest, ties to even, with subnormals. Values too large for a format
// become infinity where the format has one (float16, bfloat16, float8_e5m2) and NaN in
// float8_e4m3fn, which has none (as ml_dtypes does). NaN stays NaN.
#ifndef CAIRN_STORAGE_FLOAT_FORMATS_H_
#define CAIRN_STORAGE_FLOAT_FORMATS_H_

#include <cstdint>

namespace cairn {

uint16_t DoubleToHalfBits(double value);
float HalfBitsToFloat(uint16_t bits);
inline uint16_t FloatToHalfBits(float value) { return DoubleToHalfBits(value); }

uint16_t DoubleToBFloat16Bits(double value);
uint16_t FloatToBFloat16Bits(float value);  // the fast path of the common case
float BFloat16BitsToFloat(uint16_t bits);

uint8_t DoubleToFloat8E4M3FNBits(double value);
float Float8E4M3FNBitsToFloat(uint8_t bits);
inline uint8_t FloatToFloat8E4M3FNBits(float value) { return DoubleToFloat8E4M3FNBits(value); }

uint8_t DoubleToFloat8E5M2Bits(double value);
float Float8E5M2BitsToFloat(uint8_t bits);
inline uint8_t FloatToFloat8E5M2Bits(float value) { return DoubleToFloat8E5M2Bits(value); }

}  // namespace cairn

#endif  // CAIRN_STORAGE_FLOAT_FORMATS_H_
