#include "cairn/storage/orbax/internal/orbax_save_metadata.h"

#include "absl/strings/escaping.h"
#include "cairn/storage/orbax/internal/python_json.h"

namespace cairn::internal {

using ordered_json = nlohmann::ordered_json;

std::string OrbaxPyTreeMetadataText(const std::vector<OrbaxSaveLeaf>& leaves,
                                    const std::map<std::string, Shape>& write_shapes,
                                    bool use_ocdbt, const nlohmann::json& custom_metadata) {
  ordered_json tree = ordered_json::object();
  for (const OrbaxSaveLeaf& leaf : leaves) {
    ordered_json keys = ordered_json::array();
    std::vector<std::string> names;
    for (const KeyPath::Entry& entry : leaf.path.entries()) {
      // Orbax records a sequence index as a number and a dict key as a string (key_type 1, 2).
      if (entry.is_index) {
        keys.push_back(ordered_json{{"key", entry.index}, {"key_type", 1}});
        names.push_back(std::to_string(entry.index));
      } else {
        keys.push_back(ordered_json{{"key", entry.key}, {"key_type", 2}});
        names.push_back(entry.key);
      }
    }
    ordered_json value = {{"value_type", leaf.value_type},
                          {"skip_deserialize", leaf.skip_deserialize}};
    const auto shape = write_shapes.find(leaf.param_name);
    if (shape != write_shapes.end()) value["write_shape"] = shape->second;
    tree[PythonTupleRepr(names)] = ordered_json{{"key_metadata", keys}, {"value_metadata", value}};
  }
  const ordered_json metadata = {
      {"tree_metadata", tree},
      {"use_ocdbt", use_ocdbt},
      {"use_zarr3", true},
      {"store_array_data_equal_to_fill_value", true},
      {"custom_metadata", custom_metadata.is_null() ? ordered_json(nullptr)
                                                    : ordered_json::parse(custom_metadata.dump())}};
  return PythonJsonDumps(metadata);
}

std::string OrbaxArrayMetadatasText(const std::vector<OrbaxArrayRecord>& arrays) {
  ordered_json list = ordered_json::array();
  for (const OrbaxArrayRecord& array : arrays) {
    list.push_back({{"array_metadata",
                     {{"param_name", array.param_name},
                      {"write_shape", array.write_shape},
                      {"chunk_shape", array.chunk_shape},
                      {"ext_metadata", nullptr}}}});
  }
  return PythonJsonDumps(ordered_json{{"array_metadatas", list}});
}

std::string OrbaxSingleDeviceShardingText(const std::vector<std::string>& param_names) {
  // Each value is itself JSON text, in Python's spacing, inside compact JSON: Orbax writes the
  // file with TensorStore's JSON store and the values with Python's json module.
  const std::string single = PythonJsonDumps(
      ordered_json{{"sharding_type", "SingleDeviceSharding"}, {"device_str", "cpu:0"}});
  ordered_json sharding = ordered_json::object();
  for (const std::string& name : param_names) sharding[absl::Base64Escape(name)] = single;
  return sharding.dump();
}

std::string OrbaxStringsText(const std::map<std::string, std::string>& strings) {
  ordered_json json = ordered_json::object();
  for (const auto& [name, value] : strings) json[name] = value;
  return json.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

}  // namespace cairn::internal
