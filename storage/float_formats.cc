#include "cairn/storage/float_formats.h"

namespace cairn {

using float_formats_internal::Decode;
using float_formats_internal::DoubleToFloatRoundToOdd;
using float_formats_internal::Encode;
using float_formats_internal::Float8E4M3FNFormat;
using float_formats_internal::Float8E5M2Format;
using float_formats_internal::HalfFormat;

uint16_t FloatToHalfBits(float value) { return static_cast<uint16_t>(Encode<HalfFormat>(value)); }
uint16_t DoubleToHalfBits(double value) {
  return static_cast<uint16_t>(Encode<HalfFormat>(DoubleToFloatRoundToOdd(value)));
}
float HalfBitsToFloat(uint16_t bits) { return Decode<HalfFormat>(bits); }

uint16_t FloatToBFloat16Bits(float value) { return float_formats_internal::EncodeBFloat16(value); }
uint16_t DoubleToBFloat16Bits(double value) {
  return float_formats_internal::EncodeBFloat16(DoubleToFloatRoundToOdd(value));
}
float BFloat16BitsToFloat(uint16_t bits) { return float_formats_internal::DecodeBFloat16(bits); }

uint8_t FloatToFloat8E4M3FNBits(float value) {
  return static_cast<uint8_t>(Encode<Float8E4M3FNFormat>(value));
}
uint8_t DoubleToFloat8E4M3FNBits(double value) {
  return static_cast<uint8_t>(Encode<Float8E4M3FNFormat>(DoubleToFloatRoundToOdd(value)));
}
float Float8E4M3FNBitsToFloat(uint8_t bits) { return Decode<Float8E4M3FNFormat>(bits); }

uint8_t FloatToFloat8E5M2Bits(float value) {
  return static_cast<uint8_t>(Encode<Float8E5M2Format>(value));
}
uint8_t DoubleToFloat8E5M2Bits(double value) {
  return static_cast<uint8_t>(Encode<Float8E5M2Format>(DoubleToFloatRoundToOdd(value)));
}
float Float8E5M2BitsToFloat(uint8_t bits) { return Decode<Float8E5M2Format>(bits); }

}  // namespace cairn
