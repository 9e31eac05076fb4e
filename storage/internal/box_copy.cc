#include "cairn/storage/internal/box_copy.h"

#include <cstdint>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cairn {
std::optional<Shape> CopyBox(const BoxView& src, const BoxView& dst, const Shape& extent,
                             bool check_values) {
  const size_t rank = extent.size();
  const size_t src_size = DTypeSize(src.dtype);
  const size_t dst_size = DTypeSize(dst.dtype);
  for (int64_t e : extent) {
    if (e == 0) return std::nullopt;
  }
  const bool check = check_values && CastCanLoseValues(src.dtype, dst.dtype);
  if (rank == 0) {
    if (check && FindUnrepresentable(src.dtype, src.data, dst.dtype, 1) == 0) return Shape{};
    CastElements(src.dtype, src.data, dst.dtype, const_cast<void*>(dst.data), 1);
    return std::nullopt;
  }
  // Inner dimensions that the box spans completely in both arrays form one contiguous run, so
  // a chunk that fills whole rows of the destination is copied in a single call.
  size_t outer = rank - 1;
  uint64_t run = static_cast<uint64_t>(extent[rank - 1]);
  while (outer > 0 && extent[outer] == src.shape[outer] && extent[outer] == dst.shape[outer]) {
    --outer;
    run *= static_cast<uint64_t>(extent[outer]);
  }
  std::vector<uint64_t> src_stride(rank), dst_stride(rank);
  src_stride[rank - 1] = dst_stride[rank - 1] = 1;
  for (size_t d = rank - 1; d > 0; --d) {
    src_stride[d - 1] = src_stride[d] * static_cast<uint64_t>(src.shape[d]);
    dst_stride[d - 1] = dst_stride[d] * static_cast<uint64_t>(dst.shape[d]);
  }
  // Odometer over dimensions [0, outer); dimension `outer` and below are covered by `run`.
  std::vector<uint64_t> index(outer, 0);
  const char* src_bytes = static_cast<const char*>(src.data);
  char* dst_bytes = static_cast<char*>(const_cast<void*>(dst.data));
  while (true) {
    uint64_t s = 0, t = 0;
    for (size_t d = 0; d < rank; ++d) {
      const uint64_t i = d < outer ? index[d] : 0;
      s += (static_cast<uint64_t>(src.origin[d]) + i) * src_stride[d];
      t += (static_cast<uint64_t>(dst.origin[d]) + i) * dst_stride[d];
    }
    if (src.dtype == dst.dtype) {
      std::memcpy(dst_bytes + t * dst_size, src_bytes + s * src_size, run * src_size);
    } else {
      if (check) {
        const uint64_t bad =
            FindUnrepresentable(src.dtype, src_bytes + s * src_size, dst.dtype, run);
        if (bad < run) return UnravelIndex(src.shape, s + bad);
      }
      CastElements(src.dtype, src_bytes + s * src_size, dst.dtype, dst_bytes + t * dst_size, run);
    }
    size_t d = outer;
    while (d > 0) {
      --d;
      if (++index[d] < static_cast<uint64_t>(extent[d])) break;
      index[d] = 0;
      if (d == 0) return std::nullopt;
    }
    if (outer == 0) return std::nullopt;
  }
}

absl::Status UnrepresentableValueError(absl::string_view path, const Shape& index, DType from,
                                       const void* src, uint64_t flat, DType to) {
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot load ", path, " as ", DTypeName(to), ": element ", ShapeToString(index), " is ",
      ElementToString(from, src, flat), ", which ", DTypeName(to),
      " cannot hold (set StoreLoadOptions::saturate_casts to clamp such values to the range)"));
}

}  // namespace cairn
