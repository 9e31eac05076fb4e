// What the sources of the _cairn extension share: the conversions between Python objects and
// cairn's trees, dtypes and JSON, the status-to-exception mapping, and each part's registration.
#ifndef CAIRN_PYTHON_SRC_BINDINGS_H_
#define CAIRN_PYTHON_SRC_BINDINGS_H_

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <exception>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/manager/follow_options.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/tree.h"
#include "nlohmann/json.hpp"

namespace cairn::python {

namespace py = pybind11;

// --- errors.cc: a failed absl::Status becomes the Python exception of its code.

// Carries a status through pybind11 to the translator registered by RegisterErrors.
class StatusError : public std::exception {
 public:
  explicit StatusError(absl::Status status) : status_(std::move(status)) {}
  const absl::Status& status() const { return status_; }
  const char* what() const noexcept override { return "cairn status error"; }

 private:
  absl::Status status_;
};

inline void ThrowIfError(const absl::Status& status) {
  if (!status.ok()) throw StatusError(status);
}
template <typename T>
T ValueOrThrow(absl::StatusOr<T> result) {
  ThrowIfError(result.status());
  return *std::move(result);
}
// Raises InvalidArgumentError with `message`.
[[noreturn]] void ThrowInvalidArgument(const std::string& message);

void RegisterErrors(py::module_& m);

// --- dtypes.cc: numpy and torch dtypes.

// The cairn dtype of a numpy dtype, a torch dtype, a dtype name or anything numpy.dtype()
// accepts. InvalidArgumentError for what cairn cannot store.
DType DTypeFromPython(py::handle dtype_like);
// The numpy dtype that holds `dtype`: numpy's own, ml_dtypes' when importable for bfloat16 and
// float8, else cairn's one-field structured dtypes (cairn.bfloat16, ...).
py::object NumpyDType(DType dtype);
// The torch dtype of `dtype`, or None when torch has none (or is not imported).
py::object TorchDType(DType dtype);
// torch, when the program imported it: cairn never imports it itself.
py::object TorchModule();
bool IsTorchTensor(py::handle object);

void RegisterDTypes(py::module_& m);

// --- json.cc
nlohmann::json JsonFromPython(py::handle object);
py::object JsonToPython(const nlohmann::json& json);

// --- trees.cc: Python trees to cairn trees and back.

// What a conversion borrowed: the Python objects whose memory the tree points at (kept alive
// for as long as the tree is used) and the caller's load destinations.
struct Borrowed {
  std::vector<py::object> objects;
  std::unordered_map<const void*, py::object> destinations;
};

// A tree to save: dicts (str keys), lists, tuples, None, numpy arrays and anything with the
// buffer protocol, torch tensors, int, float, bool, str, bytes. Contiguous arrays are borrowed
// in place.
Tree TreeFromPython(py::handle object, Borrowed& borrowed);
// An abstract tree: also ArraySpec and objects with .shape and .dtype, types, `...`; writable
// arrays and tensors become destinations.
Tree AbstractTreeFromPython(py::handle object, Borrowed& borrowed);
// The abstract tree, or Tree::AsSaved() for None.
Tree AbstractOrAsSaved(py::handle abstract, Borrowed& borrowed);
// The Python tree of a loaded `tree`, shaped by `abstract` (the Python abstract tree it was
// loaded with, or None): destinations come back as the caller's objects, arrays asked for as
// torch tensors as tensors, other arrays as numpy arrays owning cairn's memory.
py::object TreeToPython(const Tree& tree, py::handle abstract, const Borrowed& borrowed);
// A metadata tree: ArraySpec for arrays (with their storage), types for scalars.
py::object MetadataTreeToPython(const Tree& tree);
py::object StoreMetadataToPython(const StoreMetadata& metadata);
// A numpy array over `array`'s memory, which it keeps alive.
py::object ArrayToNumpy(const Array& array);
// A torch tensor sharing the numpy array's memory, when torch has the dtype.
py::object NumpyToTorch(py::object array, DType dtype);

// --- options.cc: keyword options shared by the calls.
class Options {
 public:
  explicit Options(const py::kwargs& kwargs);
  // Removes and returns the option, converted; nullopt when absent or None.
  template <typename T>
  std::optional<T> Take(const char* name) {
    if (!dict_.contains(name)) return std::nullopt;
    py::object value = dict_.attr("pop")(name);
    if (value.is_none()) return std::nullopt;
    try {
      return value.cast<T>();
    } catch (const py::cast_error&) {
      throw py::type_error(std::string("option ") + name + " has the wrong type: " +
                           py::str(py::type::handle_of(value)).cast<std::string>());
    }
  }
  py::object TakeObject(const char* name);
  void TakeStoreSave(StoreSaveOptions& options);
  // The load options; memory= (an ArrayArena) is kept alive for as long as kept() is.
  void TakeStoreLoad(StoreLoadOptions& options);
  // map_report= (a MapReport), filled by the load: calls that load once take it.
  void TakeMapReport(StoreLoadOptions& options);
  // step_prefix and step_format_fixed_length.
  std::shared_ptr<const NameFormat> TakeNameFormat();
  CommitMode TakeCommitMode();
  // item (a checkpointable's name) and flat (the tree lies in the directory itself).
  CheckpointableName TakeItemName();
  void TakeFollow(FollowOptions& options);
  // TypeError naming the options nobody took.
  void CheckAllTaken() const;
  // The Python objects the taken options point into (arenas, reports).
  const std::vector<py::object>& kept() const { return kept_; }

 private:
  // The option as a `T` bound by pybind11 (nullptr when absent or None); TypeError otherwise.
  template <typename T>
  T* TakeBound(const char* name, const char* type_name);

  py::dict dict_;
  std::vector<py::object> kept_;
};

// --- the calls.

// Waits without a deadline of the caller's wake this often to let Python run its signal
// handlers: Ctrl-C interrupts them.
inline constexpr absl::Duration kSignalCheckInterval = absl::Milliseconds(200);
// Raises the exception of a signal handler (KeyboardInterrupt), if one raised.
inline void RaiseIfSignalled() {
  if (PyErr_CheckSignals() != 0) throw py::error_already_set();
}

// Runs `fn` without the GIL and returns what it returns (no Python object may be touched).
template <typename Fn>
auto WithoutGil(Fn&& fn) {
  py::gil_scoped_release release;
  return fn();
}
// Saves `tree` with `save(const Tree&) -> absl::Status`, run without the GIL while the
// arrays it borrows are kept alive.
template <typename Fn>
void SaveFromPython(py::handle tree, Fn&& save) {
  Borrowed borrowed;
  const Tree state = TreeFromPython(tree, borrowed);
  ThrowIfError(WithoutGil([&] { return save(state); }));
}
// Loads what `abstract` asks for with `load(const Tree&) -> absl::StatusOr<Tree>`, run
// without the GIL, and returns the Python tree.
template <typename Fn>
py::object LoadToPython(py::handle abstract, Fn&& load) {
  Borrowed borrowed;
  const Tree request = AbstractOrAsSaved(abstract, borrowed);
  absl::StatusOr<Tree> loaded = WithoutGil([&] { return load(request); });
  return TreeToPython(ValueOrThrow(std::move(loaded)), abstract, borrowed);
}

void RegisterMemory(py::module_& m);
void RegisterStore(py::module_& m);
void RegisterCheckpointer(py::module_& m);
void RegisterFollowers(py::module_& m);

}  // namespace cairn::python

#endif  // CAIRN_PYTHON_SRC_BINDINGS_H_
