// Array shapes and the overflow-checked arithmetic on them.
#ifndef CAIRN_STORAGE_SHAPE_H_
#define CAIRN_STORAGE_SHAPE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/storage/dtype.h"

namespace cairn {

// Row-major dimensions; an empty shape is a scalar (one element).
using Shape = std::vector<int64_t>;

// The product of the dimensions. InvalidArgument for a negative dimension or when the product
// overflows 2^62 (no real array is that large; a larger count comes from a corrupt file).
absl::StatusOr<uint64_t> NumElements(const Shape& shape);
// NumElements times the element size, with the same checks.
absl::StatusOr<uint64_t> ByteSize(DType dtype, const Shape& shape);
// The index of element `flat` of a row-major array of `shape` (numpy's unravel_index).
// Requires flat < NumElements(shape).
Shape UnravelIndex(const Shape& shape, uint64_t flat);
// "(32,)", "(2, 3)", "()", as numpy prints shapes.
std::string ShapeToString(const Shape& shape);

}  // namespace cairn

#endif  // CAIRN_STORAGE_SHAPE_H_
