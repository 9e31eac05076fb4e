// Deterministic arrays and trees for tests.
#ifndef CAIRN_TESTS_SUPPORT_TREES_H_
#define CAIRN_TESTS_SUPPORT_TREES_H_

#include <cstdint>
#include <utility>
#include <vector>

#include "cairn/storage/array.h"
#include "cairn/storage/tree.h"
#include "gtest/gtest.h"

namespace cairn::testing {

// Elements 0, 1, 2, ... of type T (converted), in `shape`.
template <typename T>
Array Iota(Shape shape) {
  Array array = Array::Allocate(DTypeOf<T>::value, shape).value();
  T* out = static_cast<T*>(array.mutable_data());
  for (uint64_t i = 0; i < array.num_elements(); ++i) out[i] = static_cast<T>(i);
  return array;
}

// The elements of an array leaf, as a vector to match against.
template <typename T>
std::vector<T> Values(const Tree& leaf) {
  auto span = leaf.array().values<T>();
  return std::vector<T>(span.begin(), span.end());
}

// An ArraySpec asking for `dtype`, in the stored shape or in `shape`.
inline ArraySpec SpecOf(DType dtype) {
  ArraySpec spec;
  spec.dtype = dtype;
  return spec;
}
inline ArraySpec SpecOf(DType dtype, Shape shape) {
  ArraySpec spec = SpecOf(dtype);
  spec.shape = std::move(shape);
  return spec;
}

// Pseudo-random bytes (a fixed function of `seed`) filling an array of any dtype. Float
// dtypes get arbitrary bit patterns, NaNs included: tests compare bytes, not values.
Array RandomBytes(DType dtype, Shape shape, uint64_t seed);

// A small training-state-like tree: params (dicts of float32 arrays), an optimizer state list,
// a tuple, scalars of every kind and a None.
Tree SampleTree();

// True when `a` and `b` have the same structure and equal leaves (arrays byte for byte).
::testing::AssertionResult TreesEqual(const Tree& a, const Tree& b);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_TREES_H_
