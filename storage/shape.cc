#include "cairn/storage/shape.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cairn {
namespace {
constexpr uint64_t kMaxCount = uint64_t{1} << 62;
}  // namespace

absl::StatusOr<uint64_t> NumElements(const Shape& shape) {
  uint64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeToString(shape), " has a negative dimension"));
    }
    const uint64_t d = static_cast<uint64_t>(dim);
    if (d != 0 && count > kMaxCount / d) {
      return absl::InvalidArgumentError(
          absl::StrCat("shape ", ShapeToString(shape), " has too many elements"));
    }
    count *= d;
  }
  return count;
}

absl::StatusOr<uint64_t> ByteSize(DType dtype, const Shape& shape) {
  absl::StatusOr<uint64_t> count = NumElements(shape);
  if (!count.ok()) return count.status();
  const uint64_t size = DTypeSize(dtype);
  if (*count > kMaxCount / size) {
    return absl::InvalidArgumentError(absl::StrCat("an array of ", DTypeName(dtype), " with shape ",
                                                   ShapeToString(shape),
                                                   " has a byte size that overflows"));
  }
  return *count * size;
}

std::string ShapeToString(const Shape& shape) {
  if (shape.size() == 1) return absl::StrCat("(", shape[0], ",)");
  return absl::StrCat("(", absl::StrJoin(shape, ", "), ")");
}

Shape UnravelIndex(const Shape& shape, uint64_t flat) {
  Shape index(shape.size());
  for (size_t d = shape.size(); d > 0; --d) {
    const uint64_t extent = static_cast<uint64_t>(shape[d - 1]);
    index[d - 1] = static_cast<int64_t>(flat % extent);
    flat /= extent;
  }
  return index;
}

}  // namespace cairn
