// numpy and torch dtypes to cairn's and back, and cast(), the library's element conversion for
// dtypes numpy cannot convert itself (bfloat16 and float8 without ml_dtypes).
#include <pybind11/numpy.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/python/src/bindings.h"

namespace cairn::python {
namespace {

bool IsSpecialFloat(DType dtype) {
  return dtype == DType::kBFloat16 || dtype == DType::kFloat8E4M3FN || dtype == DType::kFloat8E5M2;
}

// torch's name for each dtype it may have; torch 1.13 lacks the unsigned wider types and float8.
constexpr DType kTorchDTypes[] = {
    DType::kBool,         DType::kInt8,      DType::kInt16,   DType::kInt32,     DType::kInt64,
    DType::kUInt8,        DType::kUInt16,    DType::kUInt32,  DType::kUInt64,    DType::kFloat16,
    DType::kBFloat16,     DType::kFloat32,   DType::kFloat64, DType::kComplex64, DType::kComplex128,
    DType::kFloat8E4M3FN, DType::kFloat8E5M2};

std::optional<DType> DTypeFromNumpy(const py::dtype& dtype) {
  py::object names = dtype.attr("names");
  if (!names.is_none()) {
    // cairn's one-field structured dtypes: [("bfloat16", "<u2")] and the float8 ones.
    if (py::len(names) != 1) return std::nullopt;
    absl::StatusOr<DType> parsed = ParseDType(names[py::int_(0)].cast<std::string>());
    if (!parsed.ok() || !IsSpecialFloat(*parsed)) return std::nullopt;
    if (static_cast<size_t>(dtype.itemsize()) != DTypeSize(*parsed)) return std::nullopt;
    return *parsed;
  }
  const int64_t size = dtype.itemsize();
  switch (dtype.kind()) {
    case 'b':
      return DType::kBool;
    case 'i':
      if (size == 1) return DType::kInt8;
      if (size == 2) return DType::kInt16;
      if (size == 4) return DType::kInt32;
      if (size == 8) return DType::kInt64;
      return std::nullopt;
    case 'u':
      if (size == 1) return DType::kUInt8;
      if (size == 2) return DType::kUInt16;
      if (size == 4) return DType::kUInt32;
      if (size == 8) return DType::kUInt64;
      return std::nullopt;
    case 'f':
      if (size == 2) return DType::kFloat16;
      if (size == 4) return DType::kFloat32;
      if (size == 8) return DType::kFloat64;
      return std::nullopt;
    case 'c':
      if (size == 8) return DType::kComplex64;
      if (size == 16) return DType::kComplex128;
      return std::nullopt;
    default: {
      // ml_dtypes' types are named as cairn names them.
      absl::StatusOr<DType> parsed = ParseDType(py::str(py::handle(dtype)).cast<std::string>());
      if (parsed.ok() && IsSpecialFloat(*parsed)) return *parsed;
      return std::nullopt;
    }
  }
}

}  // namespace

py::object TorchModule() {
  py::object modules = py::module_::import("sys").attr("modules");
  return modules.attr("get")("torch");
}

bool IsTorchTensor(py::handle object) {
  py::object torch = TorchModule();
  return !torch.is_none() && py::isinstance(object, torch.attr("Tensor"));
}

py::object TorchDType(DType dtype) {
  py::object torch = TorchModule();
  if (torch.is_none()) return py::none();
  return py::getattr(torch, std::string(DTypeName(dtype)).c_str(), py::none());
}

DType DTypeFromPython(py::handle dtype_like) {
  py::object torch = TorchModule();
  if (!torch.is_none() && py::isinstance(dtype_like, torch.attr("dtype"))) {
    for (DType dtype : kTorchDTypes) {
      if (TorchDType(dtype).equal(dtype_like)) return dtype;
    }
    ThrowInvalidArgument("cairn cannot store the torch dtype " +
                         py::str(dtype_like).cast<std::string>());
  }
  if (py::isinstance<py::str>(dtype_like)) {
    absl::StatusOr<DType> parsed = ParseDType(dtype_like.cast<std::string>());
    if (parsed.ok()) return *parsed;
  }
  py::dtype numpy_dtype;
  try {
    numpy_dtype = py::dtype::from_args(py::reinterpret_borrow<py::object>(dtype_like));
  } catch (const py::error_already_set&) {
    ThrowInvalidArgument("not a dtype: " + py::repr(dtype_like).cast<std::string>());
  }
  std::optional<DType> dtype = DTypeFromNumpy(numpy_dtype);
  if (!dtype) {
    ThrowInvalidArgument("cairn cannot store the numpy dtype " +
                         py::str(py::handle(numpy_dtype)).cast<std::string>());
  }
  return *dtype;
}

py::object NumpyDType(DType dtype) {
  if (IsSpecialFloat(dtype)) {
    return py::module_::import("cairn._dtypes").attr(std::string(DTypeName(dtype)).c_str());
  }
  return py::dtype(std::string(DTypeName(dtype)));
}

void RegisterDTypes(py::module_& m) {
  m.def(
      "cast",
      [](py::object source, py::object dtype_like) -> py::object {
        py::array array = py::module_::import("numpy").attr("ascontiguousarray")(source);
        const DType from = DTypeFromPython(array.dtype());
        const DType to = DTypeFromPython(dtype_like);
        ThrowIfError(CheckCastable(from, to));
        if (!array.dtype().attr("isnative").cast<bool>()) {
          array = array.attr("astype")(array.dtype().attr("newbyteorder")("="));
        }
        std::vector<py::ssize_t> shape(array.shape(), array.shape() + array.ndim());
        py::array out(py::dtype::from_args(NumpyDType(to)), shape);
        const size_t count = static_cast<size_t>(array.size());
        const void* src = array.data();
        void* dst = out.mutable_data();
        {
          py::gil_scoped_release release;
          CastElements(from, src, to, dst, count);
        }
        return std::move(out);
      },
      py::arg("array"), py::arg("dtype"),
      "A copy of `array` converted to `dtype` by cairn's rules (docs/FORMAT.md): narrowing "
      "floats round to nearest even, floats to integers truncate toward zero and saturate. "
      "Converts to and from bfloat16 and float8 without ml_dtypes: "
      "cairn.cast(x, numpy.float32) reads cairn.bfloat16 arrays.");
  m.def(
      "dtype_name",
      [](py::object dtype_like) { return std::string(DTypeName(DTypeFromPython(dtype_like))); },
      py::arg("dtype"),
      "cairn's name of a numpy or torch dtype (\"bfloat16\", \"float32\"); InvalidArgumentError "
      "for one cairn cannot store.");
}

}  // namespace cairn::python
