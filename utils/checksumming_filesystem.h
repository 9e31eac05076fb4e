// A Filesystem wrapper that records the size and checksum of every file written through it
// from start to end with Append, following renames and deletions, so that a commit can vouch
// for the files of a checkpoint that carry no checksum of their own.
#ifndef CAIRN_UTILS_CHECKSUMMING_FILESYSTEM_H_
#define CAIRN_UTILS_CHECKSUMMING_FILESYSTEM_H_

#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/forwarding_filesystem.h"

namespace cairn {

class ChecksummingFilesystem final : public ForwardingFilesystem {
 public:
  explicit ChecksummingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  // The digests of the files below `dir` (keyed by path relative to it) that were written
  // through this wrapper and closed successfully. A file written with WriteAt (out of order) is
  // left out: its writer keeps checksums of its own.
  std::map<std::string, FileDigest> DigestsBelow(const std::string& dir) const;

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;

 private:
  class File;
  void Record(const std::string& path, const FileDigest& digest);

  mutable absl::Mutex mu_;
  std::map<std::string, FileDigest> digests_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_CHECKSUMMING_FILESYSTEM_H_
