// The commit marker, commit_success.txt: written last, after everything it vouches for is
// durable. Its presence commits a checkpoint in commit-file mode; its contents list the size and
// checksum of every file of the checkpoint that carries no checksum of its own
// (_CHECKPOINT_METADATA, JSON and byte checkpointables, stateful objects' files, indexes), so
// that a damaged file is reported on load instead of loaded. docs/FORMAT.md specifies it.
#ifndef CAIRN_STEPS_COMMIT_MARKER_H_
#define CAIRN_STEPS_COMMIT_MARKER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Files larger than this are not listed (and a listing that claims one is refused): reading
// such a file whole to verify it would cost too much memory.
inline constexpr uint64_t kMaxListedFileBytes = uint64_t{1} << 30;

// Files of a checkpoint by path relative to its directory.
using ListedFiles = std::map<std::string, FileDigest>;

// The marker's contents for `files`.
std::string FormatCommitMarker(const ListedFiles& files);

// The files listed by the marker in `dir`. nullopt when there is no marker, or an empty or
// one-line one (Orbax's): there is nothing to verify. DataLoss naming the marker when it has
// more than one line, or a listing's, and is damaged anywhere, its first line included.
absl::StatusOr<std::optional<ListedFiles>> ReadCommitMarker(Filesystem& fs, const std::string& dir);

}  // namespace cairn

#endif  // CAIRN_STEPS_COMMIT_MARKER_H_
