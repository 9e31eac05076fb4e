// The values the zarr test vectors hold (scripts/make_zarr_vectors.py states the same formulas),
// and small helpers for building and reading arrays in the zarr tests.
#ifndef CAIRN_TESTS_SUPPORT_ZARR_VALUES_H_
#define CAIRN_TESTS_SUPPORT_ZARR_VALUES_H_

#include <cstdint>
#include <string>

#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn::zarr_test {

// Element `i` (row-major) of a vector array of `dtype`, in native bytes:
//   signed integers: i % 100 - 20; unsigned: i % 200; floats: i * 0.25 - 3;
//   complex: (i * 0.5) - i*1j; bool: i % 3 == 0.
std::string VectorElement(DType dtype, uint64_t i);
// Elements 0..count-1 of the same.
std::string VectorElements(DType dtype, uint64_t count);

}  // namespace cairn::zarr_test

#endif  // CAIRN_TESTS_SUPPORT_ZARR_VALUES_H_
