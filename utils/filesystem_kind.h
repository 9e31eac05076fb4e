// Which kind of filesystem a path lives on, and whether the kernel's change notification
// (inotify) reports every change made to it.
//
// inotify sees only changes that pass through this machine's kernel. On a network or FUSE
// filesystem another machine's writes arrive without an event, so a follower there must poll.
#ifndef CAIRN_UTILS_FILESYSTEM_KIND_H_
#define CAIRN_UTILS_FILESYSTEM_KIND_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace cairn {

struct FilesystemKind {
  // statfs(2)'s f_type.
  int64_t magic = 0;
  // A short name ("ext4", "nfs", "fuse", ...), or the magic number in hex when unknown.
  std::string name;
  // False where changes can happen without the local kernel knowing (network, cluster and FUSE
  // filesystems) or are made up by the kernel itself (procfs, sysfs).
  bool notifies_all_changes = true;
};

// The filesystem holding `path` (which must exist). Errors: NotFound, PermissionDenied, ...
absl::StatusOr<FilesystemKind> FilesystemKindOf(const std::string& path);

}  // namespace cairn

#endif  // CAIRN_UTILS_FILESYSTEM_KIND_H_
