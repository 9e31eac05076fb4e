// The pytree metadata file (_METADATA) that Orbax writes beside a pytree's arrays: which leaves
// the tree has, at which key paths, of which kinds, and how the arrays are stored. docs/ORBAX.md
// describes the file as read.
#ifndef CAIRN_STORAGE_ORBAX_ORBAX_PYTREE_METADATA_H_
#define CAIRN_STORAGE_ORBAX_ORBAX_PYTREE_METADATA_H_

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/shape.h"
#include "nlohmann/json.hpp"

namespace cairn {

// The name of the file in an Orbax pytree directory.
inline constexpr char kOrbaxPyTreeMetadataFileName[] = "_METADATA";

// One level of a leaf's key path: a dict key or a sequence index (Orbax's key_type 2 and 1).
struct OrbaxKey {
  std::string name;
  bool sequence = false;
};

// What a leaf holds, from its value_type.
enum class OrbaxValueKind {
  kArray,        // "jax.Array" or "np.ndarray": a zarr array
  kScalar,       // "scalar": a Python int, float or bool, stored as a 0-d zarr array
  kString,       // "string": its value is in _strings.json
  kNone,         // "None": an empty subtree that was None
  kEmptyDict,    // "Dict"
  kEmptyList,    // "List"
  kEmptyTuple,   // "Tuple" and "NamedTuple"
  kUnsupported,  // a type written by a custom handler; loading it is Unimplemented
};

struct OrbaxLeaf {
  std::vector<OrbaxKey> keys;
  std::string value_type;  // as recorded
  OrbaxValueKind kind = OrbaxValueKind::kUnsupported;
  // Orbax restores such a leaf as None, without reading it.
  bool skip_deserialize = false;
  // The shape one process wrote (a shard's shape), for information.
  std::optional<Shape> write_shape;
  // The name its array is stored under: the keys joined by '.'. Different key paths can share a
  // name ("a.b" and "a"/"b"); such a tree cannot be read unambiguously and is refused.
  std::string param_name;
};

struct OrbaxPyTreeMetadata {
  // In the order of the file.
  std::vector<OrbaxLeaf> leaves;
  // Unset in older files: then the presence of manifest.ocdbt decides.
  std::optional<bool> use_ocdbt;
  bool use_zarr3 = false;
  // True: every chunk was written, so a missing one is damage. False (and in older files): a
  // missing chunk holds the array's fill value.
  bool store_array_data_equal_to_fill_value = false;
  nlohmann::json custom_metadata;  // null when absent
};

// Parses the text of a _METADATA file. DataLoss naming `file` for text that is not such a file:
// not JSON, a field of the wrong type, an empty or malformed key path, a sequence index that is
// not a number, two leaves with one key path or one parameter name.
absl::StatusOr<OrbaxPyTreeMetadata> ParseOrbaxPyTreeMetadata(absl::string_view text,
                                                             const std::string& file);

}  // namespace cairn

#endif  // CAIRN_STORAGE_ORBAX_ORBAX_PYTREE_METADATA_H_
