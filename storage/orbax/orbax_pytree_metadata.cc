#include "cairn/storage/orbax/orbax_pytree_metadata.h"

#include <cstdint>
#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Orbax's KeyType enum.
constexpr int kSequenceKey = 1;
constexpr int kDictKey = 2;
// Far deeper than any model; deeper key paths come from a damaged file.
constexpr size_t kMaxKeyDepth = 200;

OrbaxValueKind KindOf(absl::string_view value_type) {
  if (value_type == "jax.Array" || value_type == "np.ndarray") return OrbaxValueKind::kArray;
  if (value_type == "scalar") return OrbaxValueKind::kScalar;
  if (value_type == "string") return OrbaxValueKind::kString;
  if (value_type == "None") return OrbaxValueKind::kNone;
  if (value_type == "Dict") return OrbaxValueKind::kEmptyDict;
  if (value_type == "List") return OrbaxValueKind::kEmptyList;
  if (value_type == "Tuple" || value_type == "NamedTuple") return OrbaxValueKind::kEmptyTuple;
  return OrbaxValueKind::kUnsupported;
}

class Parser {
 public:
  explicit Parser(const std::string& file) : file_(file) {}

  absl::StatusOr<OrbaxPyTreeMetadata> Parse(const nlohmann::json& json) {
    if (!json.is_object()) return Damaged("it is not a JSON object");
    OrbaxPyTreeMetadata metadata;
    const auto tree = json.find("tree_metadata");
    if (tree == json.end()) return Damaged("it has no tree_metadata");
    if (!tree->is_object()) return Damaged("tree_metadata is not an object");
    CAIRN_ASSIGN_OR_RETURN(metadata.use_ocdbt, OptionalBool(json, "use_ocdbt"));
    CAIRN_ASSIGN_OR_RETURN(std::optional<bool> zarr3, OptionalBool(json, "use_zarr3"));
    metadata.use_zarr3 = zarr3.value_or(false);
    CAIRN_ASSIGN_OR_RETURN(std::optional<bool> fill,
                           OptionalBool(json, "store_array_data_equal_to_fill_value"));
    metadata.store_array_data_equal_to_fill_value = fill.value_or(false);
    if (const auto custom = json.find("custom_metadata"); custom != json.end()) {
      metadata.custom_metadata = *custom;
    }
    absl::flat_hash_set<std::string> paths;
    absl::flat_hash_set<std::string> names;
    for (auto it = tree->begin(); it != tree->end(); ++it) {
      CAIRN_ASSIGN_OR_RETURN(OrbaxLeaf leaf, Leaf(it.key(), it.value()));
      std::vector<std::string> parts;
      for (const OrbaxKey& key : leaf.keys) {
        parts.push_back(absl::StrCat(key.sequence ? "#" : "'", key.name));
      }
      if (!paths.insert(absl::StrJoin(parts, "/")).second) {
        return Damaged(absl::StrCat("two leaves have the key path of ", it.key()));
      }
      if (!names.insert(leaf.param_name).second) {
        return Damaged(
            absl::StrCat("two leaves share the parameter name '", leaf.param_name,
                         "' (keys joined by '.'), so their arrays cannot be told apart"));
      }
      metadata.leaves.push_back(std::move(leaf));
    }
    return metadata;
  }

 private:
  absl::Status Damaged(absl::string_view why) const {
    return absl::DataLossError(
        absl::StrCat(file_, " is not a readable Orbax pytree metadata file: ", why));
  }

  absl::StatusOr<std::optional<bool>> OptionalBool(const nlohmann::json& json,
                                                   const char* field) const {
    const auto it = json.find(field);
    if (it == json.end() || it->is_null()) return std::optional<bool>();
    if (!it->is_boolean()) return Damaged(absl::StrCat(field, " is not a boolean"));
    return std::optional<bool>(it->get<bool>());
  }

  absl::StatusOr<OrbaxLeaf> Leaf(const std::string& name, const nlohmann::json& entry) const {
    if (!entry.is_object()) return Damaged(absl::StrCat("the entry ", name, " is not an object"));
    const auto keys = entry.find("key_metadata");
    const auto value = entry.find("value_metadata");
    if (keys == entry.end() || !keys->is_array() || keys->empty()) {
      return Damaged(absl::StrCat("the entry ", name, " has no key_metadata list"));
    }
    if (keys->size() > kMaxKeyDepth) {
      return Damaged(absl::StrCat("the entry ", name, " is nested deeper than ", kMaxKeyDepth));
    }
    if (value == entry.end() || !value->is_object()) {
      return Damaged(absl::StrCat("the entry ", name, " has no value_metadata object"));
    }
    OrbaxLeaf leaf;
    std::vector<std::string> parts;
    for (const nlohmann::json& key : *keys) {
      const auto key_name = key.is_object() ? key.find("key") : key.end();
      const auto key_type = key.is_object() ? key.find("key_type") : key.end();
      if (key_name == key.end() || key_type == key.end() || !key_type->is_number_integer()) {
        return Damaged(absl::StrCat("the entry ", name, " has a malformed key"));
      }
      OrbaxKey parsed;
      // Orbax writes sequence indices as numbers in newer files and as strings in older ones.
      if (key_name->is_string()) {
        parsed.name = key_name->get<std::string>();
      } else if (key_name->is_number_unsigned()) {
        parsed.name = absl::StrCat(key_name->get<uint64_t>());
      } else {
        return Damaged(absl::StrCat("the entry ", name, " has a key that is not a string"));
      }
      const int type = key_type->get<int>();
      if (type == kSequenceKey) {
        parsed.sequence = true;
        uint32_t index;
        if (!absl::SimpleAtoi(parsed.name, &index) || absl::StrCat(index) != parsed.name) {
          return Damaged(absl::StrCat("the entry ", name, " has the sequence index '", parsed.name,
                                      "', which is not a number"));
        }
      } else if (type != kDictKey) {
        return Damaged(absl::StrCat("the entry ", name, " has the unknown key_type ", type));
      }
      parts.push_back(parsed.name);
      leaf.keys.push_back(std::move(parsed));
    }
    leaf.param_name = absl::StrJoin(parts, ".");
    const auto type = value->find("value_type");
    if (type == value->end() || !type->is_string()) {
      return Damaged(absl::StrCat("the entry ", name, " has no value_type"));
    }
    leaf.value_type = type->get<std::string>();
    leaf.kind = KindOf(leaf.value_type);
    if (const auto skip = value->find("skip_deserialize"); skip != value->end()) {
      if (!skip->is_boolean() && !skip->is_null()) {
        return Damaged(absl::StrCat("the entry ", name,
                                    " has a skip_deserialize that is not a "
                                    "boolean"));
      }
      leaf.skip_deserialize = skip->is_boolean() && skip->get<bool>();
    }
    if (const auto shape = value->find("write_shape"); shape != value->end() && !shape->is_null()) {
      if (!shape->is_array()) {
        return Damaged(absl::StrCat("the entry ", name, " has a write_shape that is not a list"));
      }
      Shape dims;
      for (const nlohmann::json& dim : *shape) {
        if (!dim.is_number_unsigned()) {
          return Damaged(absl::StrCat("the entry ", name, " has a malformed write_shape"));
        }
        dims.push_back(static_cast<int64_t>(std::min<uint64_t>(dim.get<uint64_t>(), INT64_MAX)));
      }
      leaf.write_shape = std::move(dims);
    }
    return leaf;
  }

  const std::string& file_;
};

}  // namespace

absl::StatusOr<OrbaxPyTreeMetadata> ParseOrbaxPyTreeMetadata(absl::string_view text,
                                                             const std::string& file) {
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJsonFromDisk(text, file));
  return Parser(file).Parse(json);
}

}  // namespace cairn
