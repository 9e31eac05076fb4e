#include "cairn/storage/internal/stored_tree.h"

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/cairn_stored_tree.h"
#include "cairn/storage/orbax/internal/orbax_stored_tree.h"
#include "cairn/storage/orbax/orbax_pytree_metadata.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

absl::StatusOr<std::unique_ptr<StoredTree>> OpenStoredTree(Filesystem& fs, const std::string& dir,
                                                           const StoreLoadOptions& options) {
  // cairn's own index first: a directory holding both was written by cairn.
  absl::StatusOr<std::unique_ptr<StoredTree>> cairn = OpenCairnStoredTree(fs, dir, options);
  if (!absl::IsNotFound(cairn.status())) return cairn;
  CAIRN_ASSIGN_OR_RETURN(const bool orbax, HoldsOrbaxTree(fs, dir));
  if (orbax) return OpenOrbaxStoredTree(fs, dir, options);
  CAIRN_ASSIGN_OR_RETURN(const bool msgpack, HoldsMsgpackCheckpoint(fs, dir));
  if (msgpack) {
    return absl::UnimplementedError(absl::StrCat(
        dir, " holds a msgpack '", kMsgpackCheckpointFileName,
        "' file (the format of flax and of Orbax before its pytree metadata), which cairn does "
        "not read; re-save it with a current Orbax"));
  }
  return absl::NotFoundError(absl::StrCat("no pytree in ", dir, ": neither cairn's index (",
                                          kTreeIndexFileName, ") nor Orbax's pytree metadata (",
                                          kOrbaxPyTreeMetadataFileName, ") is there"));
}

}  // namespace cairn
