#include "cairn/steps/internal/step_contents.h"

#include "cairn/steps/checkpoint.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {

absl::StatusOr<bool> HoldsCheckpoint(Filesystem& fs, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(const bool metadata,
                         PathExists(fs, JoinPath(dir, kCheckpointMetadataFileName)));
  if (metadata) return true;
  return PathExists(fs, JoinPath(dir, kCommitMarkerFileName));
}

}  // namespace cairn::internal
