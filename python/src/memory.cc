// cairn.MapReport, what a load with map_arrays=True returned as views of the files, and
// cairn.ArrayArena, memory that repeated loads reuse (memory=).
#include <cstdint>
#include <memory>
#include <string>

#include "cairn/python/src/bindings.h"
#include "cairn/storage/array_memory.h"

namespace cairn::python {
namespace {

// A short name for scripts to compare against; MapFallbackName is the prose one.
const char* FallbackCode(MapFallback reason) {
  switch (reason) {
    case MapFallback::kDestination:
      return "destination";
    case MapFallback::kCast:
      return "cast";
    case MapFallback::kRegion:
      return "region";
    case MapFallback::kPadding:
      return "padding";
    case MapFallback::kCompressed:
      return "compressed";
    case MapFallback::kLayout:
      return "layout";
    case MapFallback::kEmpty:
      return "empty";
    case MapFallback::kFormat:
      return "format";
    case MapFallback::kFilesystem:
      return "filesystem";
  }
  return "unknown";
}

py::dict Fallbacks(const MapReport& report) {
  py::dict out;
  for (const auto& [path, reason] : report.fallbacks) out[py::str(path)] = FallbackCode(reason);
  return out;
}

}  // namespace

void RegisterMemory(py::module_& m) {
  py::class_<MapReport>(m, "MapReport",
                        "What a load with map_arrays=True did with each array, by key path: "
                        "pass one as map_report= and the load fills it in.")
      .def(py::init<>())
      .def_property_readonly(
          "mapped", [](const MapReport& r) { return r.mapped; },
          "Key paths of the arrays returned as read-only views of the data files, in load "
          "order.")
      .def_property_readonly("fallbacks", &Fallbacks,
                             "Key path -> why that array was read into memory of its own: "
                             "destination, cast, region, padding, compressed, layout, empty, "
                             "format or filesystem.")
      .def("__repr__", [](const MapReport& r) {
        return "MapReport(mapped=" + std::to_string(r.mapped.size()) +
               ", fallbacks=" + std::to_string(r.fallbacks.size()) + ")";
      });

  py::class_<ArrayArena, std::shared_ptr<ArrayArena>>(
      m, "ArrayArena",
      "Memory for loads (memory=) that keeps the memory of destroyed arrays for the next load "
      "of the same sizes, already faulted in. Arrays may outlive the arena.")
      .def(py::init([](bool huge_pages, std::optional<uint64_t> max_kept_bytes) {
             ArrayArenaOptions options;
             options.huge_pages = huge_pages;
             if (max_kept_bytes) options.max_kept_bytes = *max_kept_bytes;
             return std::make_shared<ArrayArena>(options);
           }),
           py::kw_only(), py::arg("huge_pages") = true, py::arg("max_kept_bytes") = py::none())
      .def_property_readonly("kept_bytes", &ArrayArena::kept_bytes,
                             "Bytes of freed arrays held for reuse.")
      .def("release", &ArrayArena::Release, "Unmaps the memory held for reuse.");
}

}  // namespace cairn::python
