// A cairn tree as the flat list of leaves Orbax's pytree format records: key paths, value types,
// parameter names, in JAX's flattening order (dict keys sorted). Refuses, before anything is
// written, what the format cannot hold or would store ambiguously.
#ifndef CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_LEAVES_H_
#define CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_LEAVES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/tree.h"

namespace cairn::internal {

struct OrbaxSaveLeaf {
  KeyPath path;
  // The keys joined by '.': the name its array (or string) is stored under.
  std::string param_name;
  // "np.ndarray" or "jax.Array", "scalar", "string", or an empty container's "Dict", "List",
  // "Tuple", "None".
  std::string value_type;
  // Empty containers and None are recorded only: Orbax restores them without reading.
  bool skip_deserialize = false;
  const Tree* node = nullptr;
};

// InvalidArgument naming the key path for: a leaf at the root (Orbax stores a container), a
// bytes leaf (no Orbax type holds one; store it as a uint8 array), an abstract leaf, a dict key
// that is empty or holds '/' (it would split the stored name), two leaves with one parameter
// name (("a.b",) and ("a", "b") both store "a.b"), and, in the per-leaf layout, a parameter
// name that is "." or ".." or one of the pytree directory's own file names.
absl::StatusOr<std::vector<OrbaxSaveLeaf>> FlattenForOrbax(const Tree& tree,
                                                           OrbaxArrayType array_type,
                                                           StoreLayout layout);

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_LEAVES_H_
