#include "cairn/storage/array.h"

#include <cstdlib>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/fresh_memory.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kAlignment = 64;

}  // namespace

Array::Array() : Array(DType::kFloat32, Shape{0}, nullptr, nullptr, false) {}

absl::StatusOr<Array> ArrayAllocator::AllocateUninitialized(DType dtype, Shape shape) {
  CAIRN_ASSIGN_OR_RETURN(const uint64_t bytes, ByteSize(dtype, shape));
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<void> buffer, AllocateFreshMemory(bytes));
  void* data = buffer.get();
  return Array(dtype, std::move(shape), std::move(buffer), data, /*writable=*/true);
}

absl::StatusOr<Array> ArrayAllocator::AllocateUninitialized(DType dtype, Shape shape,
                                                            ArrayMemory& memory) {
  CAIRN_ASSIGN_OR_RETURN(const uint64_t bytes, ByteSize(dtype, shape));
  if (bytes == 0) return AllocateUninitialized(dtype, std::move(shape));
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<void> buffer, memory.Allocate(bytes));
  void* data = buffer.get();
  if (data == nullptr || reinterpret_cast<uintptr_t>(data) % kAlignment != 0) {
    return absl::InternalError(
        absl::StrCat("an ArrayMemory returned ", bytes, " bytes not aligned to ", kAlignment));
  }
  return Array(dtype, std::move(shape), std::move(buffer), data, /*writable=*/true);
}

absl::StatusOr<Array> Array::Allocate(DType dtype, Shape shape) {
  CAIRN_ASSIGN_OR_RETURN(Array array,
                         ArrayAllocator::AllocateUninitialized(dtype, std::move(shape)));
  std::memset(array.mutable_data(), 0, array.byte_size());
  return array;
}

Array Array::Borrow(DType dtype, Shape shape, const void* data) {
  return Array(dtype, std::move(shape), nullptr, data, /*writable=*/false);
}

Array Array::SharedView(DType dtype, Shape shape, std::shared_ptr<const void> owner,
                        const void* data) {
  return Array(dtype, std::move(shape), std::const_pointer_cast<void>(std::move(owner)), data,
               /*writable=*/false);
}

Array Array::BorrowMutable(DType dtype, Shape shape, void* data) {
  return Array(dtype, std::move(shape), nullptr, data, /*writable=*/true);
}

absl::StatusOr<Array> Array::Copy() const {
  CAIRN_ASSIGN_OR_RETURN(Array copy, ArrayAllocator::AllocateUninitialized(dtype_, shape_));
  if (byte_size() > 0) std::memcpy(copy.mutable_data(), data_, byte_size());
  copy.placement_ = placement_;
  return copy;
}

uint64_t Array::num_elements() const {
  // Shapes are validated on every path that builds a usable array; an invalid one counts as 0.
  absl::StatusOr<uint64_t> count = NumElements(shape_);
  return count.ok() ? *count : 0;
}

bool Array::ContentEquals(const Array& other) const {
  if (dtype_ != other.dtype_ || shape_ != other.shape_) return false;
  const uint64_t bytes = byte_size();
  return bytes == 0 || std::memcmp(data_, other.data_, bytes) == 0;
}

}  // namespace cairn
