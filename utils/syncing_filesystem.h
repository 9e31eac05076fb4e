// A Filesystem wrapper that makes durable whatever is written through it, for code that does
// not sync by itself (a user's StatefulObject::SaveState): each file is synced before it is
// closed, and SyncCreatedDirs() syncs every directory created through it, so that the entries
// made in them survive a power loss too.
#ifndef CAIRN_UTILS_SYNCING_FILESYSTEM_H_
#define CAIRN_UTILS_SYNCING_FILESYSTEM_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/forwarding_filesystem.h"

namespace cairn {

class SyncingFilesystem final : public ForwardingFilesystem {
 public:
  explicit SyncingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  // Files opened here are synced when closed (explicitly or by their destructor).
  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;

  // Syncs every directory created through this wrapper, the deepest first. Call it once the
  // writer is done; the directory the writer was given is the caller's to sync.
  absl::Status SyncCreatedDirs();

 private:
  absl::Mutex mu_;
  std::vector<std::string> created_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_SYNCING_FILESYSTEM_H_
