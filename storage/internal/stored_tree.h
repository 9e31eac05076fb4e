// The seam between the loader, which matches an abstract tree against what is stored, and a tree
// format (cairn's own index and data files; Orbax's _METADATA and zarr arrays), which says what is
// stored and reads regions of its arrays. Each format implements StoredTree; LoadTree and
// ReadTreeMetadata detect the format of a directory and work the same on all of them.
#ifndef CAIRN_STORAGE_INTERNAL_STORED_TREE_H_
#define CAIRN_STORAGE_INTERNAL_STORED_TREE_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/storage/array.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/tree.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {

class StoredTree {
 public:
  virtual ~StoredTree() = default;

  // The stored tree in cairn's index schema (storage/index.proto), whatever the format on disk:
  // dicts, sequences, None, scalars, and array leaves.
  virtual const format::Node& root() const = 0;

  // The array behind the array node `node`, with dtype, stored dtype and global shape filled in.
  // A format may learn these only when asked (reading the array's own metadata), so that arrays
  // a load skips cost nothing. The result lives as long as this StoredTree.
  virtual absl::StatusOr<const format::ArrayLeaf*> ResolveArray(const format::Node& node,
                                                                const KeyPath& path) = 0;
  // The type of scalar an array leaf holds, for a format that stores scalars as 0-d arrays
  // (Orbax); nullopt for an array. Loaded as saved, such a leaf is that scalar.
  virtual std::optional<LeafType> ScalarType(const format::ArrayLeaf& leaf) const {
    return std::nullopt;
  }

  // Checks what reading the region of `leaf` at `origin` of `shape` needs (opening its files,
  // checking their sizes) and returns how many of the region's elements stored data fills, for
  // the load's allocation budget. Nothing of the region's data is read.
  virtual absl::StatusOr<uint64_t> Prepare(const format::ArrayLeaf& leaf, const Shape& origin,
                                           const Shape& shape, const std::string& path) = 0;
  // Plans the reads that fill `destination` with the region of `leaf` at `origin`. Returns
  // whether they write every element of it; when not, the caller zero-fills it first.
  // `path` names the array in messages. The destination's memory must live until the plan runs.
  virtual absl::StatusOr<bool> Plan(const format::ArrayLeaf& leaf, const Array& destination,
                                    const Shape& origin, std::string path, bool saturate_casts) = 0;
  // The whole of `leaf` as a read-only view of the stored bytes, kept alive by the array, with
  // the verification of every byte of it planned (so that ExecutePlanned checks it before the
  // load returns); or why the stored bytes are not the array's or cannot be mapped. Called after
  // Prepare of the whole array. Formats other than cairn's decline.
  virtual absl::StatusOr<std::variant<Array, MapFallback>> MapArray(const format::ArrayLeaf& leaf,
                                                                    std::string path) {
    return MapFallback::kFormat;
  }
  // Executes every read planned so far, at most `parallelism` at a time on `pool`, and forgets
  // them.
  virtual absl::Status ExecutePlanned(ThreadPool* pool, int parallelism) = 0;

  // What metadata reports of how `leaf` is stored.
  virtual ArrayStorageInfo StorageInfo(const format::ArrayLeaf& leaf) const = 0;
  // Fills in the fields of `metadata` other than `tree`: the writer, layout, data bytes, the
  // custom metadata.
  virtual absl::Status DescribeStore(StoreMetadata* metadata) const = 0;
};

// Opens the tree stored in `dir` (already resolved), in whichever format it is: cairn's index,
// or an Orbax pytree. NotFound saying what was looked for when `dir` holds neither.
absl::StatusOr<std::unique_ptr<StoredTree>> OpenStoredTree(Filesystem& fs, const std::string& dir,
                                                           const StoreLoadOptions& options);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_STORED_TREE_H_
