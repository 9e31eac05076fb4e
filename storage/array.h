// Array: an n-d, row-major block of elements of one DType, either owning its memory or
// borrowing the caller's (saves take borrowed arrays without copying them).
#ifndef CAIRN_STORAGE_ARRAY_H_
#define CAIRN_STORAGE_ARRAY_H_

#include <complex>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "cairn/storage/array_memory.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn {

// The C++ element type of the dtypes that have one; the float8/16 formats have none (use raw
// bytes via Borrow, and storage/float_formats.h to convert).
template <typename T>
struct DTypeOf;
template <>
struct DTypeOf<bool> {
  static constexpr DType value = DType::kBool;
};
template <>
struct DTypeOf<int8_t> {
  static constexpr DType value = DType::kInt8;
};
template <>
struct DTypeOf<int16_t> {
  static constexpr DType value = DType::kInt16;
};
template <>
struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kInt32;
};
template <>
struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kInt64;
};
template <>
struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kUInt8;
};
template <>
struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::kUInt16;
};
template <>
struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::kUInt32;
};
template <>
struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::kUInt64;
};
template <>
struct DTypeOf<float> {
  static constexpr DType value = DType::kFloat32;
};
template <>
struct DTypeOf<double> {
  static constexpr DType value = DType::kFloat64;
};
template <>
struct DTypeOf<std::complex<float>> {
  static constexpr DType value = DType::kComplex64;
};
template <>
struct DTypeOf<std::complex<double>> {
  static constexpr DType value = DType::kComplex128;
};

// Where an array sits inside a larger global array: this array holds
// global[origin[0] : origin[0] + shape[0], ...]. Multi-process saves give each process a piece.
//
// A piece held by several processes (the same origin and shape of one global array, as JAX's
// replicated shards) is written once: each holder says which of the `num_replicas` copies it is,
// and a save writes the piece only on the replica it assigns the piece to (spread by key path
// and origin, so that the replicas share the work); the others skip it. Every replica of a
// piece must take part in the save, with ids 0 to num_replicas - 1.
struct ShardPlacement {
  Shape global_shape;
  Shape origin;
  int replica_id = 0;
  int num_replicas = 1;
};

class Array {
 public:
  // An empty float32 array of shape (0,).
  Array();

  // A new zero-filled array that owns its memory (64-byte aligned).
  static absl::StatusOr<Array> Allocate(DType dtype, Shape shape);
  // A read-only view of `data`, which the caller keeps alive and unchanged while the array (or a
  // save of it) uses it. No copy is made.
  static Array Borrow(DType dtype, Shape shape, const void* data);
  // A read-only view of `data` that keeps `owner` alive as long as the array or any copy of it
  // lives: what a mapped load returns, `owner` holding the file's mapping.
  static Array SharedView(DType dtype, Shape shape, std::shared_ptr<const void> owner,
                          const void* data);
  // A writable view of `data`: loads can write straight into it.
  static Array BorrowMutable(DType dtype, Shape shape, void* data);
  // An owning array holding a copy of `values`; `shape` defaults to 1-d.
  template <typename T>
  static Array FromValues(const std::vector<T>& values, Shape shape = {});

  // A deep copy that owns its memory.
  absl::StatusOr<Array> Copy() const;

  DType dtype() const { return dtype_; }
  const Shape& shape() const { return shape_; }
  int rank() const { return static_cast<int>(shape_.size()); }
  uint64_t num_elements() const;
  uint64_t byte_size() const { return num_elements() * DTypeSize(dtype_); }

  const void* data() const { return data_; }
  // Null for a read-only borrowed array.
  void* mutable_data() const { return writable_ ? const_cast<void*>(data_) : nullptr; }
  bool is_writable() const { return writable_; }
  // Whether the array keeps its memory alive itself (allocated, or a shared view).
  bool owns_memory() const { return owner_ != nullptr; }

  // Typed views; T must match dtype() exactly (checked in debug builds).
  template <typename T>
  absl::Span<const T> values() const {
    return absl::MakeConstSpan(static_cast<const T*>(data_), num_elements());
  }
  template <typename T>
  absl::Span<T> mutable_values() const {
    return absl::MakeSpan(static_cast<T*>(mutable_data()), writable_ ? num_elements() : 0);
  }

  // Marks this array as the piece of a global array at `origin`; checked when saved.
  Array& set_placement(ShardPlacement placement) {
    placement_ = std::make_shared<const ShardPlacement>(std::move(placement));
    return *this;
  }
  // The placement set, or null.
  const ShardPlacement* placement() const { return placement_.get(); }
  // The global array's shape: shape() unless a placement says otherwise.
  const Shape& global_shape() const { return placement_ ? placement_->global_shape : shape_; }

  // Same dtype, shape and bytes (placement is not compared).
  bool ContentEquals(const Array& other) const;

 private:
  friend class ArrayAllocator;
  Array(DType dtype, Shape shape, std::shared_ptr<void> owner, const void* data, bool writable)
      : dtype_(dtype),
        shape_(std::move(shape)),
        owner_(std::move(owner)),
        data_(data),
        writable_(writable) {}

  DType dtype_;
  Shape shape_;
  std::shared_ptr<void> owner_;
  const void* data_;
  bool writable_;
  // Held apart and shared by copies (it is immutable): most arrays have none, and inline it would
  // make every array, and every tree node, as large as a placement.
  std::shared_ptr<const ShardPlacement> placement_;
};

// Creates owning arrays without zero-filling them, for loads that overwrite every byte.
class ArrayAllocator {
 public:
  static absl::StatusOr<Array> AllocateUninitialized(DType dtype, Shape shape);
  // The same, with memory from `memory` (arrays of no bytes take none from it).
  static absl::StatusOr<Array> AllocateUninitialized(DType dtype, Shape shape, ArrayMemory& memory);
};

template <typename T>
Array Array::FromValues(const std::vector<T>& values, Shape shape) {
  if (shape.empty() && values.size() != 1) shape = {static_cast<int64_t>(values.size())};
  Array array = ArrayAllocator::AllocateUninitialized(DTypeOf<T>::value, std::move(shape)).value();
  if constexpr (std::is_same_v<T, bool>) {
    bool* out = static_cast<bool*>(array.mutable_data());
    for (size_t i = 0; i < values.size() && i < array.num_elements(); ++i) out[i] = values[i];
  } else {
    std::memcpy(array.mutable_data(), values.data(),
                std::min<size_t>(values.size(), array.num_elements()) * sizeof(T));
  }
  return array;
}

}  // namespace cairn

#endif  // CAIRN_STORAGE_ARRAY_H_
