// Status codes as Python exceptions: one class per code, all under cairn.CairnError, each also
// deriving from the built-in exception Python code already catches for that kind of failure.
#include <Python.h>

#include <string>

#include "absl/status/status.h"
#include "cairn/python/src/bindings.h"

namespace cairn::python {
namespace {

struct ErrorClass {
  absl::StatusCode code;
  const char* name;
  PyObject* builtin;  // the built-in base, or null for CairnError alone
  const char* doc;
};

// Filled in by RegisterErrors; the classes live as long as the interpreter (module attributes).
PyObject* cairn_error = nullptr;
PyObject* classes[static_cast<int>(absl::StatusCode::kUnauthenticated) + 1] = {};

ErrorClass* ErrorClasses(size_t* count) {
  static ErrorClass table[] = {
      {absl::StatusCode::kCancelled, "CancelledError", nullptr, "The operation was cancelled."},
      {absl::StatusCode::kUnknown, "UnknownError", nullptr, "An error of no known kind."},
      {absl::StatusCode::kInvalidArgument, "InvalidArgumentError", PyExc_ValueError,
       "A bad argument: a tree, a dtype, a shape or an option cairn cannot use."},
      {absl::StatusCode::kDeadlineExceeded, "DeadlineExceededError", PyExc_TimeoutError,
       "A wait ran past its deadline."},
      {absl::StatusCode::kNotFound, "NotFoundError", PyExc_FileNotFoundError,
       "A file, directory, step or key that does not exist."},
      {absl::StatusCode::kAlreadyExists, "AlreadyExistsError", PyExc_FileExistsError,
       "A step or directory that exists already."},
      {absl::StatusCode::kPermissionDenied, "PermissionDeniedError", PyExc_PermissionError,
       "The filesystem refused access."},
      {absl::StatusCode::kResourceExhausted, "ResourceExhaustedError", PyExc_MemoryError,
       "A budget (memory, disk, a limit) would be exceeded."},
      {absl::StatusCode::kFailedPrecondition, "FailedPreconditionError", PyExc_RuntimeError,
       "The call does not fit the current state (a read-only or closed Checkpointer, say)."},
      {absl::StatusCode::kAborted, "AbortedError", PyExc_RuntimeError, "The operation aborted."},
      {absl::StatusCode::kOutOfRange, "OutOfRangeError", PyExc_IndexError,
       "A region or an index past the end."},
      {absl::StatusCode::kUnimplemented, "UnimplementedError", PyExc_NotImplementedError,
       "Something cairn does not support."},
      {absl::StatusCode::kInternal, "InternalError", PyExc_RuntimeError,
       "An invariant of cairn broke."},
      {absl::StatusCode::kUnavailable, "UnavailableError", PyExc_OSError,
       "A resource is unavailable for now."},
      {absl::StatusCode::kDataLoss, "DataLossError", nullptr,
       "Stored bytes are corrupt or missing: a checksum, a size or an index does not match."},
      {absl::StatusCode::kUnauthenticated, "UnauthenticatedError", PyExc_PermissionError,
       "Credentials are missing."},
  };
  *count = sizeof(table) / sizeof(table[0]);
  return table;
}

void SetPythonError(const absl::Status& status) {
  const int code = static_cast<int>(status.code());
  PyObject* cls = code >= 0 && code < static_cast<int>(std::size(classes)) && classes[code]
                      ? classes[code]
                      : cairn_error;
  const std::string message(status.message());
  py::object error = py::reinterpret_borrow<py::object>(cls)(message);
  error.attr("code") = absl::StatusCodeToString(status.code());
  PyErr_SetObject(cls, error.ptr());
}

}  // namespace

void ThrowInvalidArgument(const std::string& message) {
  throw StatusError(absl::InvalidArgumentError(message));
}

void RegisterErrors(py::module_& m) {
  cairn_error = PyErr_NewExceptionWithDoc(
      "cairn.CairnError",
      "The base of every error cairn raises; `code` names the status code (\"NOT_FOUND\").",
      nullptr, nullptr);
  m.add_object("CairnError", py::reinterpret_borrow<py::object>(cairn_error));
  size_t count = 0;
  ErrorClass* table = ErrorClasses(&count);
  for (size_t i = 0; i < count; ++i) {
    const ErrorClass& entry = table[i];
    py::tuple bases = entry.builtin != nullptr
                          ? py::make_tuple(py::handle(cairn_error), py::handle(entry.builtin))
                          : py::make_tuple(py::handle(cairn_error));
    const std::string qualified = std::string("cairn.") + entry.name;
    PyObject* cls = PyErr_NewExceptionWithDoc(qualified.c_str(), entry.doc, bases.ptr(), nullptr);
    if (cls == nullptr) throw py::error_already_set();
    classes[static_cast<int>(entry.code)] = cls;
    m.add_object(entry.name, py::reinterpret_borrow<py::object>(cls));
  }
  py::register_exception_translator([](std::exception_ptr thrown) {
    try {
      if (thrown) std::rethrow_exception(thrown);
    } catch (const StatusError& error) {
      SetPythonError(error.status());
    }
  });
}

}  // namespace cairn::python
