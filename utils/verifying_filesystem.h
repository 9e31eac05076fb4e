// A Filesystem wrapper for reading a directory whose files' digests are known (recorded when
// they were committed): a listed file is read whole when opened and checked against its digest,
// and its reads are then served from that verified copy. A file that differs is a DataLoss
// error naming it, so damage is reported instead of loaded. Other files pass through.
#ifndef CAIRN_UTILS_VERIFYING_FILESYSTEM_H_
#define CAIRN_UTILS_VERIFYING_FILESYSTEM_H_

#include <map>
#include <memory>
#include <string>

#include "cairn/utils/checksum.h"
#include "cairn/utils/forwarding_filesystem.h"

namespace cairn {

class VerifyingFilesystem final : public ForwardingFilesystem {
 public:
  // `digests` are keyed by path relative to `dir`; `source` names where they were recorded, for
  // messages ("commit_success.txt").
  VerifyingFilesystem(Filesystem* inner, std::string dir, std::map<std::string, FileDigest> digests,
                      std::string source);

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;

 private:
  const std::string prefix_;
  const std::map<std::string, FileDigest> digests_;
  const std::string source_;
};

}  // namespace cairn

#endif  // CAIRN_UTILS_VERIFYING_FILESYSTEM_H_
