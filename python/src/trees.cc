// Python trees to cairn trees and back. Saves borrow array memory in place; loads hand back
// numpy arrays over cairn's memory (a capsule holding the cairn::Array is their base), or the
// caller's own arrays and tensors when the load wrote into them.
#include <pybind11/numpy.h>

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "cairn/python/src/bindings.h"
#include "cairn/storage/key_path.h"

namespace cairn::python {
namespace {

constexpr int kNumpyAligned = 0x0100;    // NPY_ARRAY_ALIGNED
constexpr int kNumpyWriteable = 0x0400;  // NPY_ARRAY_WRITEABLE

std::string TypeName(py::handle object) {
  return py::str(py::type::handle_of(object)).cast<std::string>();
}

[[noreturn]] void Fail(const KeyPath& path, const std::string& message) {
  ThrowInvalidArgument(message + " at " + path.ToString());
}

py::object Builtin(PyTypeObject& type) {
  return py::reinterpret_borrow<py::object>(reinterpret_cast<PyObject*>(&type));
}

py::object Numpy() { return py::module_::import("numpy"); }

Shape ShapeOf(py::handle shape) {
  Shape out;
  for (py::handle dim : shape) out.push_back(dim.cast<int64_t>());
  return out;
}

// An array cairn can read in place: native byte order, C-contiguous and aligned; a copy of
// `object` otherwise (or for anything else with the buffer protocol).
py::array ReadableNumpy(py::handle object) {
  py::array array = Numpy().attr("asarray")(object);
  if (!array.dtype().attr("isnative").cast<bool>()) {
    array = array.attr("astype")(array.dtype().attr("newbyteorder")("="));
  }
  if (!(array.flags() & py::array::c_style) || !(array.flags() & kNumpyAligned)) {
    array = Numpy().attr("ascontiguousarray")(array);
  }
  return array;
}

DType DTypeAt(py::handle dtype_like, const KeyPath& path) {
  try {
    return DTypeFromPython(dtype_like);
  } catch (const StatusError& error) {
    Fail(path, std::string(error.status().message()));
  }
}

// A CPU, contiguous view of a tensor (a copy when it is neither), detached from autograd.
py::object ReadableTensor(py::handle tensor) {
  py::object out = tensor.attr("detach")();
  if (out.attr("device").attr("type").cast<std::string>() != "cpu") out = out.attr("cpu")();
  if (!out.attr("is_contiguous")().cast<bool>()) out = out.attr("contiguous")();
  return out;
}

Array TensorArray(py::object tensor, bool writable, const KeyPath& path) {
  const DType dtype = DTypeAt(tensor.attr("dtype"), path);
  const Shape shape = ShapeOf(tensor.attr("shape"));
  void* data = reinterpret_cast<void*>(tensor.attr("data_ptr")().cast<uintptr_t>());
  return writable ? Array::BorrowMutable(dtype, shape, data) : Array::Borrow(dtype, shape, data);
}

Tree ScalarOrFail(py::handle object, const KeyPath& path) {
  if (py::isinstance<py::bool_>(object)) return Tree::Bool(object.cast<bool>());
  if (py::isinstance<py::int_>(object)) {
    try {
      return Tree::Int(object.cast<int64_t>());
    } catch (const py::cast_error&) {
      Fail(path, "the int " + py::str(object).cast<std::string>() + " does not fit in int64");
    }
  }
  if (py::isinstance<py::float_>(object)) return Tree::Double(object.cast<double>());
  if (py::isinstance<py::str>(object)) return Tree::String(object.cast<std::string>());
  if (py::isinstance<py::bytes>(object)) return Tree::Bytes(object.cast<std::string>());
  Fail(path, "cairn cannot store a " + TypeName(object));
}

bool IsContainer(py::handle object) {
  return py::isinstance<py::dict>(object) || py::isinstance<py::list>(object) ||
         py::isinstance<py::tuple>(object);
}

template <typename Leaf>
Tree Container(py::handle object, KeyPath& path, Leaf&& leaf);

template <typename Leaf>
Tree Walk(py::handle object, KeyPath& path, Leaf&& leaf) {
  if (IsContainer(object)) return Container(object, path, leaf);
  return leaf(object, path);
}

template <typename Leaf>
Tree Container(py::handle object, KeyPath& path, Leaf&& leaf) {
  if (py::isinstance<py::dict>(object)) {
    std::vector<std::string> keys;
    std::vector<Tree> values;
    for (auto item : object.cast<py::dict>()) {
      if (!py::isinstance<py::str>(item.first)) {
        Fail(path, "dict keys must be str, not " + TypeName(item.first));
      }
      keys.push_back(item.first.cast<std::string>());
      path.Push(keys.back());
      values.push_back(Walk(item.second, path, leaf));
      path.Pop();
    }
    return ValueOrThrow(Tree::DictFrom(std::move(keys), std::move(values)));
  }
  Tree out = py::isinstance<py::list>(object) ? Tree::List() : Tree::Tuple();
  size_t index = 0;
  for (py::handle child : object) {
    path.Push(index++);
    out.Append(Walk(child, path, leaf));
    path.Pop();
  }
  return out;
}

Tree ConcreteLeaf(py::handle object, KeyPath& path, Borrowed& borrowed) {
  if (object.is_none()) return Tree::None();
  if (py::isinstance<py::bool_>(object) || py::isinstance<py::int_>(object) ||
      py::isinstance<py::float_>(object) || py::isinstance<py::str>(object) ||
      py::isinstance<py::bytes>(object)) {
    return ScalarOrFail(object, path);
  }
  if (IsTorchTensor(object)) {
    py::object tensor = ReadableTensor(object);
    Array array = TensorArray(tensor, /*writable=*/false, path);
    borrowed.objects.push_back(std::move(tensor));
    return Tree::FromArray(std::move(array));
  }
  if (!py::isinstance<py::array>(object) && !PyObject_CheckBuffer(object.ptr()) &&
      !py::isinstance(object, Numpy().attr("generic"))) {
    Fail(path, "cairn cannot store a " + TypeName(object));
  }
  py::array array = ReadableNumpy(object);
  const DType dtype = DTypeAt(array.dtype(), path);
  Array borrowed_array =
      Array::Borrow(dtype, Shape(array.shape(), array.shape() + array.ndim()), array.data());
  borrowed.objects.push_back(std::move(array));
  return Tree::FromArray(std::move(borrowed_array));
}

// A numpy array or tensor the load writes into.
Tree Destination(py::handle object, KeyPath& path, Borrowed& borrowed) {
  Array array;
  if (IsTorchTensor(object)) {
    if (object.attr("device").attr("type").cast<std::string>() != "cpu" ||
        !object.attr("is_contiguous")().cast<bool>()) {
      Fail(path, "cannot load into a tensor that is not contiguous and on the CPU");
    }
    array = TensorArray(object.attr("detach")(), /*writable=*/true, path);
  } else {
    py::array numpy_array = py::reinterpret_borrow<py::array>(object);
    if (!(numpy_array.flags() & py::array::c_style) || !(numpy_array.flags() & kNumpyAligned) ||
        !numpy_array.dtype().attr("isnative").cast<bool>()) {
      Fail(path,
           "cannot load into an array that is not C-contiguous, aligned and of native "
           "byte order");
    }
    array =
        Array::BorrowMutable(DTypeAt(numpy_array.dtype(), path),
                             Shape(numpy_array.shape(), numpy_array.shape() + numpy_array.ndim()),
                             numpy_array.mutable_data());
  }
  borrowed.objects.push_back(py::reinterpret_borrow<py::object>(object));
  borrowed.destinations[array.data()] = py::reinterpret_borrow<py::object>(object);
  return Tree::FromArray(std::move(array));
}

Tree AbstractLeaf(py::handle object, KeyPath& path, Borrowed& borrowed) {
  if (object.is_none()) return Tree::None();
  if (object.is(py::ellipsis())) return Tree::Placeholder();
  if (py::isinstance<py::type>(object)) {
    if (object.is(Builtin(PyBool_Type))) return Tree::TypeOnly(LeafType::kBool);
    if (object.is(Builtin(PyLong_Type))) return Tree::TypeOnly(LeafType::kInt);
    if (object.is(Builtin(PyFloat_Type))) return Tree::TypeOnly(LeafType::kDouble);
    if (object.is(Builtin(PyUnicode_Type))) return Tree::TypeOnly(LeafType::kString);
    if (object.is(Builtin(PyBytes_Type))) return Tree::TypeOnly(LeafType::kBytes);
    py::object torch = TorchModule();
    if (object.is(Numpy().attr("ndarray")) ||
        (!torch.is_none() && object.is(torch.attr("Tensor")))) {
      return Tree::TypeOnly(LeafType::kArray);
    }
    Fail(path, "an abstract leaf cannot be the type " + py::str(object).cast<std::string>());
  }
  if (IsTorchTensor(object)) return Destination(object, path, borrowed);
  if (py::isinstance<py::array>(object) &&
      (py::reinterpret_borrow<py::array>(object).flags() & kNumpyWriteable)) {
    return Destination(object, path, borrowed);
  }
  if (py::hasattr(object, "shape") && py::hasattr(object, "dtype")) {
    ArraySpec spec;
    py::object shape = object.attr("shape");
    py::object dtype = object.attr("dtype");
    py::object origin = py::getattr(object, "origin", py::none());
    if (!shape.is_none()) spec.shape = ShapeOf(shape);
    if (!dtype.is_none()) spec.dtype = DTypeAt(dtype, path);
    if (!origin.is_none()) spec.origin = ShapeOf(origin);
    return Tree::Spec(std::move(spec));
  }
  return ScalarOrFail(object, path);
}

// Whether the caller asked for a torch tensor: the type torch.Tensor, a tensor, or a spec whose
// dtype is a torch dtype.
bool WantsTorch(py::handle abstract) {
  if (!abstract || abstract.is_none()) return false;
  py::object torch = TorchModule();
  if (torch.is_none()) return false;
  if (abstract.is(torch.attr("Tensor")) || IsTorchTensor(abstract)) return true;
  if (py::isinstance<py::type>(abstract) || !py::hasattr(abstract, "dtype")) return false;
  return py::isinstance(abstract.attr("dtype"), torch.attr("dtype"));
}

py::handle ChildOf(py::handle abstract, const std::string& key) {
  if (!abstract || !py::isinstance<py::dict>(abstract)) return py::handle();
  PyObject* child = PyDict_GetItemString(abstract.ptr(), key.c_str());
  return py::handle(child);
}

py::handle ChildOf(py::handle abstract, size_t index) {
  if (!abstract || !(py::isinstance<py::list>(abstract) || py::isinstance<py::tuple>(abstract)) ||
      index >= py::len(abstract)) {
    return py::handle();
  }
  return abstract[py::int_(index)];
}

py::object LeafTypeToPython(LeafType type) {
  switch (type) {
    case LeafType::kArray:
      return Numpy().attr("ndarray");
    case LeafType::kInt:
      return Builtin(PyLong_Type);
    case LeafType::kDouble:
      return Builtin(PyFloat_Type);
    case LeafType::kBool:
      return Builtin(PyBool_Type);
    case LeafType::kString:
      return Builtin(PyUnicode_Type);
    case LeafType::kBytes:
      return Builtin(PyBytes_Type);
  }
  return py::none();
}

py::tuple ShapeToPython(const Shape& shape) {
  py::tuple out(shape.size());
  for (size_t i = 0; i < shape.size(); ++i) out[i] = py::int_(shape[i]);
  return out;
}

py::object SpecToPython(const ArraySpec& spec) {
  py::object cls = py::module_::import("cairn._types").attr("ArraySpec");
  py::object shape = spec.shape ? py::object(ShapeToPython(*spec.shape)) : py::none();
  py::object dtype = spec.dtype ? NumpyDType(*spec.dtype) : py::none();
  py::object origin = spec.origin ? py::object(ShapeToPython(*spec.origin)) : py::none();
  py::object storage = py::none();
  if (spec.storage) {
    py::dict info;
    info["stored_dtype"] = NumpyDType(spec.storage->stored_dtype);
    info["chunk_shape"] = ShapeToPython(spec.storage->chunk_shape);
    info["compressed"] = spec.storage->compressed;
    info["byte_shuffled"] = spec.storage->byte_shuffled;
    info["compression_level"] = spec.storage->compression_level;
    info["stored_bytes"] = spec.storage->stored_bytes;
    info["num_shards"] = spec.storage->num_shards;
    storage = std::move(info);
  }
  return cls(shape, dtype, origin, py::arg("storage") = storage);
}

py::object Convert(const Tree& tree, py::handle abstract, const Borrowed& borrowed) {
  switch (tree.kind()) {
    case Tree::Kind::kNone:
      return py::none();
    case Tree::Kind::kDict: {
      py::dict out;
      for (size_t i = 0; i < tree.size(); ++i) {
        const std::string& key = tree.keys()[i];
        out[py::str(key)] = Convert(tree[i], ChildOf(abstract, key), borrowed);
      }
      return std::move(out);
    }
    case Tree::Kind::kList: {
      py::list out(tree.size());
      for (size_t i = 0; i < tree.size(); ++i) {
        out[i] = Convert(tree[i], ChildOf(abstract, i), borrowed);
      }
      return std::move(out);
    }
    case Tree::Kind::kTuple: {
      py::tuple out(tree.size());
      for (size_t i = 0; i < tree.size(); ++i) {
        out[i] = Convert(tree[i], ChildOf(abstract, i), borrowed);
      }
      return std::move(out);
    }
    case Tree::Kind::kArray: {
      const Array& array = tree.array();
      auto destination = borrowed.destinations.find(array.data());
      if (destination != borrowed.destinations.end() && array.byte_size() > 0) {
        return destination->second;
      }
      py::object numpy_array = ArrayToNumpy(array);
      // torch has no read-only tensors: a mapped view stays a read-only numpy array.
      if (WantsTorch(abstract) && array.is_writable()) {
        return NumpyToTorch(std::move(numpy_array), array.dtype());
      }
      return numpy_array;
    }
    case Tree::Kind::kInt:
      return py::int_(tree.int_value());
    case Tree::Kind::kDouble:
      return py::float_(tree.double_value());
    case Tree::Kind::kBool:
      return py::bool_(tree.bool_value());
    case Tree::Kind::kString:
      return py::str(tree.string_value());
    case Tree::Kind::kBytes:
      return py::bytes(tree.string_value());
    case Tree::Kind::kArraySpec:
      return SpecToPython(tree.spec());
    case Tree::Kind::kTypeOnly:
      return LeafTypeToPython(tree.type_only());
    case Tree::Kind::kAsSaved:
    case Tree::Kind::kPlaceholder:
      return py::ellipsis();
  }
  return py::none();
}

}  // namespace

Tree TreeFromPython(py::handle object, Borrowed& borrowed) {
  KeyPath path;
  return Walk(object, path,
              [&](py::handle leaf, KeyPath& at) { return ConcreteLeaf(leaf, at, borrowed); });
}

Tree AbstractTreeFromPython(py::handle object, Borrowed& borrowed) {
  KeyPath path;
  return Walk(object, path,
              [&](py::handle leaf, KeyPath& at) { return AbstractLeaf(leaf, at, borrowed); });
}

Tree AbstractOrAsSaved(py::handle abstract, Borrowed& borrowed) {
  return abstract.is_none() ? Tree::AsSaved() : AbstractTreeFromPython(abstract, borrowed);
}

py::object ArrayToNumpy(const Array& array) {
  auto* owner = new Array(array);
  py::capsule base(owner, [](void* pointer) { delete static_cast<Array*>(pointer); });
  std::vector<py::ssize_t> shape(array.shape().begin(), array.shape().end());
  py::array out(py::dtype::from_args(NumpyDType(array.dtype())), shape, {}, array.data(), base);
  // A mapped view's pages are read-only: numpy refuses writes instead of the process faulting.
  if (!array.is_writable()) out.attr("setflags")(py::arg("write") = false);
  return std::move(out);
}

py::object NumpyToTorch(py::object array, DType dtype) {
  py::object torch = TorchModule();
  py::object torch_dtype = TorchDType(dtype);
  if (torch.is_none() || torch_dtype.is_none()) return array;
  if (dtype == DType::kBFloat16) {
    py::object bits = array.attr("view")(Numpy().attr("int16"));
    return torch.attr("from_numpy")(bits).attr("view")(torch_dtype);
  }
  if (dtype == DType::kFloat8E4M3FN || dtype == DType::kFloat8E5M2) {
    py::object bits = array.attr("view")(Numpy().attr("uint8"));
    return torch.attr("from_numpy")(bits).attr("view")(torch_dtype);
  }
  if (dtype == DType::kUInt16 || dtype == DType::kUInt32 || dtype == DType::kUInt64) {
    return array;  // torch.from_numpy refuses them even where torch names the dtype
  }
  return torch.attr("from_numpy")(array);
}

py::object TreeToPython(const Tree& tree, py::handle abstract, const Borrowed& borrowed) {
  return Convert(tree, abstract, borrowed);
}

py::object MetadataTreeToPython(const Tree& tree) {
  Borrowed none;
  return Convert(tree, py::handle(), none);
}

py::object StoreMetadataToPython(const StoreMetadata& metadata) {
  py::object cls = py::module_::import("cairn._types").attr("TreeMetadata");
  return cls(
      py::arg("tree") = MetadataTreeToPython(metadata.tree),
      py::arg("custom_metadata") = JsonToPython(metadata.custom_metadata),
      py::arg("format_version") = metadata.format_version,
      py::arg("layout") = metadata.layout == StoreLayout::kPerLeaf ? "per_leaf" : "aggregated",
      py::arg("writer") = metadata.writer, py::arg("data_bytes") = metadata.data_bytes);
}

}  // namespace cairn::python
