// The files of one OCDBT database as its reader sees them: byte ranges of paths relative to the
// database directory, which can never leave it, read through the Filesystem seam.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_FILES_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_FILES_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/filesystem.h"

namespace cairn::ocdbt_internal {

class DatabaseFiles {
 public:
  DatabaseFiles(Filesystem* fs, std::string dir) : fs_(fs), dir_(std::move(dir)) {}

  const std::string& dir() const { return dir_; }
  std::string FullPath(absl::string_view relative) const;

  // Bytes [offset, offset + length) of `relative`. A path that is absolute or has an empty,
  // "." or ".." component is DataLoss, as is a range past the end of the file; a missing file
  // is NotFound. Errors name the file.
  absl::StatusOr<std::string> ReadRange(absl::string_view relative, uint64_t offset,
                                        uint64_t length);
  // The same range written to `out`, which holds `length` bytes.
  absl::Status ReadRangeInto(absl::string_view relative, uint64_t offset, uint64_t length,
                             char* out);
  // A whole file of at most `max_size` bytes (larger is DataLoss).
  absl::StatusOr<std::string> ReadWhole(absl::string_view relative, uint64_t max_size);
  // The names in the database directory.
  absl::StatusOr<std::vector<std::string>> ListNames();

 private:
  absl::StatusOr<std::shared_ptr<ReadableFile>> Open(absl::string_view relative);
  absl::Status CheckRange(const ReadableFile& file, absl::string_view relative, uint64_t offset,
                          uint64_t length) const;
  absl::Status ReadExactly(const ReadableFile& file, absl::string_view relative, uint64_t offset,
                           uint64_t length, char* out) const;

  Filesystem* fs_;
  std::string dir_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<ReadableFile>> open_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_FILES_H_
