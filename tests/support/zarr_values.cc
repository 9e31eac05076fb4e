#include "tests/support/zarr_values.h"

namespace cairn::zarr_test {

std::string VectorElement(DType dtype, uint64_t i) {
  std::string out(DTypeSize(dtype), '\0');
  const int64_t n = static_cast<int64_t>(i);
  if (dtype == DType::kBool) {
    out[0] = i % 3 == 0 ? 1 : 0;
  } else if (IsComplex(dtype)) {
    // numpy writes -1j * 0 as +0.
    const double parts[2] = {n * 0.5, n == 0 ? 0.0 : -static_cast<double>(n)};
    const DType part = dtype == DType::kComplex64 ? DType::kFloat32 : DType::kFloat64;
    CastElements(DType::kFloat64, parts, part, out.data(), 2);
  } else if (IsFloatingPoint(dtype)) {
    const double value = n * 0.25 - 3;
    CastElements(DType::kFloat64, &value, dtype, out.data(), 1);
  } else if (dtype == DType::kInt8 || dtype == DType::kInt16 || dtype == DType::kInt32 ||
             dtype == DType::kInt64) {
    const int64_t value = n % 100 - 20;
    CastElements(DType::kInt64, &value, dtype, out.data(), 1);
  } else {
    const uint64_t value = i % 200;
    CastElements(DType::kUInt64, &value, dtype, out.data(), 1);
  }
  return out;
}

std::string VectorElements(DType dtype, uint64_t count) {
  std::string out;
  for (uint64_t i = 0; i < count; ++i) out += VectorElement(dtype, i);
  return out;
}

}  // namespace cairn::zarr_test
