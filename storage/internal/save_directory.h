// The directory a tree save writes into, whatever the format: it must be absent or empty; the
// save creates it and its missing parents, syncs their entries once the tree is durable, and on
// failure removes exactly what it created.
#ifndef CAIRN_STORAGE_INTERNAL_SAVE_DIRECTORY_H_
#define CAIRN_STORAGE_INTERNAL_SAVE_DIRECTORY_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cairn/utils/filesystem.h"

namespace cairn::internal {

class SaveDirectory {
 public:
  SaveDirectory(Filesystem& fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }

  // FailedPrecondition when `dir` is a file or holds entries; otherwise creates what is missing.
  absl::Status Prepare();
  // Syncs the parents of every directory Prepare created, innermost last: their entries must be
  // durable before the save counts as durable.
  absl::Status SyncCreated();
  // Best effort after a failure: the outermost directory Prepare created holds everything the
  // save wrote and nothing else, so it goes; when `dir` already existed, `written` (paths below
  // it) go instead.
  void Cleanup(const std::vector<std::string>& written);

 private:
  Filesystem& fs_;
  const std::string dir_;
  std::vector<std::string> created_;  // outermost first
};

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_INTERNAL_SAVE_DIRECTORY_H_
