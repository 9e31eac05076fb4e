// SaveTree in Orbax's format (StoreFormat::kOrbax): a pytree directory that Orbax v1's PyTree
// loader opens as if Orbax had written it. docs/ORBAX.md ("Writing") says what is written.
#ifndef CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_TREE_WRITER_H_
#define CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_TREE_WRITER_H_

#include <string>

#include "absl/status/status.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/tree.h"

namespace cairn::internal {

// `dir` is resolved, absent or empty. Every process of options.coordinator calls it with its own
// pieces of the arrays; each writes its shards (its own OCDBT database, ocdbt.process_<n>, in the
// aggregated layout), and the primary the metadata and the merged root database once all have.
absl::Status SaveOrbaxTree(const std::string& dir, const Tree& tree,
                           const StoreSaveOptions& options);

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_TREE_WRITER_H_
