// The store and checkpoint calls: save, load and describe one tree in one directory
// (save_tree, load_tree, tree_metadata) or one checkpoint (save, load, metadata,
// checkpoint_metadata). Trees are converted with the GIL held; the I/O runs without it.
#include <string>

#include "cairn/python/src/bindings.h"
#include "cairn/steps/checkpoint.h"

namespace cairn::python {
namespace {

py::object SaveTreeCall(const std::string& directory, py::handle tree, const py::kwargs& kwargs) {
  Options options(kwargs);
  StoreSaveOptions save;
  options.TakeStoreSave(save);
  save.custom_metadata = JsonFromPython(options.TakeObject("custom_metadata"));
  options.CheckAllTaken();
  SaveFromPython(tree, [&](const Tree& state) { return SaveTree(directory, state, save); });
  return py::none();
}

py::object LoadTreeCall(const std::string& directory, py::handle abstract,
                        const py::kwargs& kwargs) {
  Options options(kwargs);
  StoreLoadOptions load;
  options.TakeStoreLoad(load);
  options.TakeMapReport(load);
  options.CheckAllTaken();
  return LoadToPython(abstract,
                      [&](const Tree& request) { return LoadTree(directory, request, load); });
}

py::object TreeMetadataCall(const std::string& directory) {
  return StoreMetadataToPython(
      ValueOrThrow(WithoutGil([&] { return ReadTreeMetadata(directory); })));
}

py::object SaveCall(const std::string& directory, py::handle tree, const py::kwargs& kwargs) {
  Options options(kwargs);
  CheckpointOptions checkpoint;
  options.TakeStoreSave(checkpoint.store_save);
  checkpoint.commit_mode = options.TakeCommitMode();
  checkpoint.overwrite = options.Take<bool>("overwrite").value_or(false);
  py::object custom = options.TakeObject("custom_metadata");
  py::object metrics = options.TakeObject("metrics");
  if (!custom.is_none()) checkpoint.custom_metadata = JsonFromPython(custom);
  if (!metrics.is_none()) checkpoint.metrics = JsonFromPython(metrics);
  options.CheckAllTaken();
  SaveFromPython(tree, [&](const Tree& state) { return Save(directory, state, checkpoint); });
  return py::none();
}

py::object LoadCall(const std::string& directory, py::handle abstract, const py::kwargs& kwargs) {
  Options options(kwargs);
  CheckpointOptions checkpoint;
  options.TakeStoreLoad(checkpoint.store_load);
  options.TakeMapReport(checkpoint.store_load);
  const CheckpointableName name = options.TakeItemName();
  options.CheckAllTaken();
  return LoadToPython(
      abstract, [&](const Tree& request) { return Load(directory, request, name, checkpoint); });
}

py::object MetadataCall(const std::string& directory, const py::kwargs& kwargs) {
  Options options(kwargs);
  const CheckpointableName name = options.TakeItemName();
  options.CheckAllTaken();
  return StoreMetadataToPython(ValueOrThrow(WithoutGil([&] { return Metadata(directory, name); })));
}

py::object CheckpointMetadataCall(const std::string& directory) {
  return JsonToPython(
      ValueOrThrow(WithoutGil([&] { return CheckpointMetadataOf(directory); })).ToJson());
}

}  // namespace

void RegisterStore(py::module_& m) {
  m.def("save_tree", &SaveTreeCall, py::arg("directory"), py::arg("tree"),
        "Saves `tree` into `directory` (absent or empty) with the store alone: no step, no "
        "commit. Arrays are read in place. Options: compress, compression_level, byte_shuffle, "
        "chunk_bytes, layout, storage_dtype, sync, parallelism, custom_metadata.");
  m.def("load_tree", &LoadTreeCall, py::arg("directory"), py::arg("abstract") = py::none(),
        "Loads the tree in `directory`, as saved or as `abstract` asks. Options: partial, "
        "enable_padding_and_truncation, saturate_casts, max_allocation_bytes, "
        "load_parallelism, map_arrays (read-only views of the data files), map_report (a "
        "MapReport to fill in), memory (an ArrayArena).");
  m.def("tree_metadata", &TreeMetadataCall, py::arg("directory"),
        "Describes the tree in `directory` from its index alone (no array bytes are read).");
  m.def("save", &SaveCall, py::arg("directory"), py::arg("tree"),
        "Saves `tree` as a checkpoint at `directory`, committed atomically. Options: overwrite, "
        "metrics, custom_metadata, commit_mode, and the save options of save_tree.");
  m.def("load", &LoadCall, py::arg("directory"), py::arg("abstract") = py::none(),
        "Loads the pytree of the checkpoint at `directory` (resolved as Orbax does, or the "
        "checkpointable `item`, or with flat=True the tree in the directory itself). Options: "
        "item, flat, and the load options of load_tree.");
  m.def("metadata", &MetadataCall, py::arg("directory"),
        "Describes the pytree of the checkpoint at `directory` (resolved as load resolves "
        "it) without reading array bytes. Options: item, flat.");
  m.def("checkpoint_metadata", &CheckpointMetadataCall, py::arg("directory"),
        "The checkpoint's _CHECKPOINT_METADATA as a dict.");
}

}  // namespace cairn::python
