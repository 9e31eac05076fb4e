// cairn's own tree format as a StoredTree: the index file (_CAIRN_INDEX) and the data files it
// points into (docs/FORMAT.md).
#ifndef CAIRN_STORAGE_INTERNAL_CAIRN_STORED_TREE_H_
#define CAIRN_STORAGE_INTERNAL_CAIRN_STORED_TREE_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/storage/internal/stored_tree.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Reads and validates the index in `dir` (already resolved). NotFound when there is none.
absl::StatusOr<std::unique_ptr<StoredTree>> OpenCairnStoredTree(Filesystem& fs,
                                                                const std::string& dir,
                                                                const StoreLoadOptions& options);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_CAIRN_STORED_TREE_H_
