// Copies a box (an n-d rectangular region) between two row-major arrays, converting dtypes on
// the way. Loads use it to place a chunk's rows into a requested region of the result.
#ifndef CAIRN_STORAGE_INTERNAL_BOX_COPY_H_
#define CAIRN_STORAGE_INTERNAL_BOX_COPY_H_

#include <cstdint>
#include <optional>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn {

struct BoxView {
  const void* data;  // or the destination's writable memory
  DType dtype;
  Shape shape;   // the whole array's shape
  Shape origin;  // where the box starts in it
};

// Copies `extent` elements per dimension from `src`'s box into `dst`'s box, casting from
// src.dtype to dst.dtype (CheckCastable must hold). All boxes must lie inside their arrays.
// With `check_values`, a value the cast would saturate (FindUnrepresentable) stops the copy: the
// result is that element's index in `src`'s array, and what follows it is left unwritten.
std::optional<Shape> CopyBox(const BoxView& src, const BoxView& dst, const Shape& extent,
                             bool check_values);

// What a load reports for a value a checked cast met: InvalidArgument naming the key path
// `path`, the element's `index` in the stored array and its value (element `flat` of `src`, of
// type `from`), and the option that would let it saturate.
absl::Status UnrepresentableValueError(absl::string_view path, const Shape& index, DType from,
                                       const void* src, uint64_t flat, DType to);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_BOX_COPY_H_
