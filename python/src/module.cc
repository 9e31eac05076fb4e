// The _cairn extension module: cairn's C++ library as the Python package `cairn`.
#include "cairn/python/src/bindings.h"

PYBIND11_MODULE(_cairn, m) {
  m.doc() = "cairn's C++ core; import cairn, not this module.";
  cairn::python::RegisterErrors(m);
  cairn::python::RegisterDTypes(m);
  cairn::python::RegisterMemory(m);
  cairn::python::RegisterStore(m);
  cairn::python::RegisterCheckpointer(m);
  cairn::python::RegisterFollowers(m);
}
