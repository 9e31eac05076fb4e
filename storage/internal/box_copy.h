// Copies a box (an n-d rectangular region) between two row-major arrays, converting dtypes on
// the way. Loads use it to place a chunk's rows into a requested region of the result.
#ifndef CAIRN_STORAGE_INTERNAL_BOX_COPY_H_
#define CAIRN_STORAGE_INTERNAL_BOX_COPY_H_

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
void CopyBox(const BoxView& src, const BoxView& dst, const Shape& extent);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_BOX_COPY_H_
