// Keyword options as the library's option structs; the same keywords mean the same thing in
// every call that takes them (docs/PYTHON.md lists them).
#include <string>

#include "absl/time/time.h"
#include "cairn/python/src/bindings.h"
#include "cairn/storage/array_memory.h"

namespace cairn::python {

Options::Options(const py::kwargs& kwargs) : dict_(py::dict(kwargs)) {}

py::object Options::TakeObject(const char* name) {
  if (!dict_.contains(name)) return py::none();
  return dict_.attr("pop")(name);
}

void Options::TakeStoreSave(StoreSaveOptions& options) {
  if (auto layout = Take<std::string>("layout")) {
    if (*layout == "aggregated") {
      options.layout = StoreLayout::kAggregated;
    } else if (*layout == "per_leaf") {
      options.layout = StoreLayout::kPerLeaf;
    } else {
      ThrowInvalidArgument("layout must be \"aggregated\" or \"per_leaf\", not \"" + *layout +
                           "\"");
    }
  }
  if (auto compress = Take<bool>("compress")) options.compress = *compress;
  if (auto level = Take<int>("compression_level")) options.compression_level = *level;
  if (auto shuffle = Take<bool>("byte_shuffle")) options.byte_shuffle = *shuffle;
  if (auto chunk = Take<uint64_t>("chunk_bytes")) options.chunk_bytes = *chunk;
  if (auto sync = Take<bool>("sync")) options.sync = *sync;
  if (auto parallelism = Take<int>("parallelism")) options.parallelism = *parallelism;
  if (auto dtype = TakeObject("storage_dtype"); !dtype.is_none()) {
    const DType stored = DTypeFromPython(dtype);
    // Floating arrays go to disk as `stored`; the rest as they are.
    options.storage_options = [stored](const KeyPath&, const Array& array) {
      ArrayStorageOptions out;
      if (IsFloatingPoint(array.dtype())) out.dtype = stored;
      return out;
    };
  }
}

void Options::TakeStoreLoad(StoreLoadOptions& options) {
  if (auto pad = Take<bool>("enable_padding_and_truncation")) {
    options.enable_padding_and_truncation = *pad;
  }
  if (auto partial = Take<bool>("partial")) options.partial = *partial;
  if (auto saturate = Take<bool>("saturate_casts")) options.saturate_casts = *saturate;
  if (auto budget = Take<uint64_t>("max_allocation_bytes")) options.max_allocation_bytes = *budget;
  if (auto parallelism = Take<int>("load_parallelism")) options.parallelism = *parallelism;
  if (auto map = Take<bool>("map_arrays")) options.map_arrays = *map;
  if (auto* arena = TakeBound<ArrayArena>("memory", "cairn.ArrayArena")) options.memory = arena;
}

void Options::TakeMapReport(StoreLoadOptions& options) {
  if (auto* report = TakeBound<MapReport>("map_report", "cairn.MapReport")) {
    if (!options.map_arrays) ThrowInvalidArgument("map_report needs map_arrays=True");
    options.map_report = report;
  }
}

template <typename T>
T* Options::TakeBound(const char* name, const char* type_name) {
  py::object value = TakeObject(name);
  if (value.is_none()) return nullptr;
  if (!py::isinstance<T>(value)) {
    throw py::type_error(std::string("option ") + name + " must be a " + type_name + ", not " +
                         py::str(py::type::handle_of(value)).cast<std::string>());
  }
  kept_.push_back(value);
  return value.cast<T*>();
}

std::shared_ptr<const NameFormat> Options::TakeNameFormat() {
  std::optional<std::string> prefix = Take<std::string>("step_prefix");
  std::optional<int> digits = Take<int>("step_format_fixed_length");
  if (digits) return NameFormat::FixedLength(*digits, prefix.value_or(""));
  if (prefix) return NameFormat::Prefixed(*prefix);
  return NameFormat::Plain();
}

CommitMode Options::TakeCommitMode() {
  std::optional<std::string> mode = Take<std::string>("commit_mode");
  if (!mode || *mode == "rename") return CommitMode::kRename;
  if (*mode == "commit_file") return CommitMode::kCommitFile;
  ThrowInvalidArgument("commit_mode must be \"rename\" or \"commit_file\", not \"" + *mode + "\"");
}

void Options::TakeFollow(FollowOptions& options) {
  options.name_format = TakeNameFormat();
  options.commit_mode = TakeCommitMode();
  if (auto poll = Take<double>("poll_interval_secs")) options.poll_interval = absl::Seconds(*poll);
  if (auto timeout = Take<double>("timeout_secs")) options.timeout = absl::Seconds(*timeout);
  if (auto ttl = Take<double>("lease_ttl_secs")) options.lease_ttl = absl::Seconds(*ttl);
}

CheckpointableName Options::TakeItemName() {
  std::optional<std::string> item = Take<std::string>("item");
  std::optional<bool> flat = Take<bool>("flat");
  if (flat.value_or(false)) {
    if (item) ThrowInvalidArgument("item and flat=True exclude each other");
    return CheckpointableName::None();
  }
  return item ? CheckpointableName::Named(*item) : CheckpointableName::Auto();
}

void Options::CheckAllTaken() const {
  if (dict_.empty()) return;
  std::string names;
  for (auto item : dict_) {
    if (!names.empty()) names += ", ";
    names += item.first.cast<std::string>();
  }
  throw py::type_error("unknown keyword options: " + names);
}

}  // namespace cairn::python
