// An Orbax pytree directory as a StoredTree: the tree from _METADATA, its arrays from zarr v2 or
// v3 arrays inside the directory's OCDBT database or in one directory each, strings from
// _strings.json. Read-only: nothing here writes. docs/ORBAX.md describes what is read.
#ifndef CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_STORED_TREE_H_
#define CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_STORED_TREE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/storage/internal/stored_tree.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Whether `dir` (already resolved) holds an Orbax pytree: a _METADATA file.
absl::StatusOr<bool> HoldsOrbaxTree(Filesystem& fs, const std::string& dir);

// The file of flax-era checkpoints: the whole tree serialised with msgpack.
inline constexpr char kMsgpackCheckpointFileName[] = "checkpoint";
// Whether `dir` holds such a file (which cairn does not read).
absl::StatusOr<bool> HoldsMsgpackCheckpoint(Filesystem& fs, const std::string& dir);

// Reads and checks `dir`/_METADATA and builds the tree it describes. Arrays are opened when a
// load or metadata read first needs them. NotFound when there is no _METADATA.
absl::StatusOr<std::unique_ptr<StoredTree>> OpenOrbaxStoredTree(Filesystem& fs,
                                                                const std::string& dir,
                                                                const StoreLoadOptions& options);

}  // namespace cairn

#endif  // CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_STORED_TREE_H_
