// The data files a database writer appends to: `d/<32 hex digits>` below the database directory,
// random names as TensorStore gives them, a new file once the current one has reached its
// target size. Each write reserves its byte range under a lock and is then written outside it
// with a positional write, so that writes from several threads go to disk side by side.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_WRITER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_WRITER_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/types/span.h"
#include "cairn/storage/ocdbt/internal/data_file_table.h"
#include "cairn/utils/filesystem.h"

namespace cairn::ocdbt_internal {

class DataFileWriter {
 public:
  // `dir` is the database directory (it exists); `target_file_bytes` 0 puts everything in one
  // file. With `sync`, Finish makes every file and the d/ directory durable.
  DataFileWriter(Filesystem* fs, std::string dir, uint64_t target_file_bytes, bool sync);
  DataFileWriter(const DataFileWriter&) = delete;
  DataFileWriter& operator=(const DataFileWriter&) = delete;

  struct Location {
    const DataFileId* file = nullptr;  // stays valid while this writer lives
    uint64_t offset = 0;
  };
  // Writes `data` (thread-safe). A write that fails leaves a hole, never a short range claimed
  // as written. Errors name the file.
  absl::StatusOr<Location> Write(absl::string_view data) { return WriteParts({data}); }
  // Writes the concatenation of `parts` as one value, without joining them first.
  absl::StatusOr<Location> WriteParts(absl::Span<const absl::string_view> parts);

  // Syncs (with `sync`) and closes every file, then syncs d/. No Write may run alongside.
  absl::Status Finish();

 private:
  struct File {
    DataFileId id;
    std::unique_ptr<WritableFile> file;
    uint64_t size = 0;  // bytes reserved
  };
  // Opens a new file and makes it the current one.
  absl::Status StartFile() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Filesystem* const fs_;
  const std::string dir_;
  const uint64_t target_file_bytes_;
  const bool sync_;
  absl::Mutex mu_;
  bool data_dir_created_ ABSL_GUARDED_BY(mu_) = false;
  std::deque<File> files_ ABSL_GUARDED_BY(mu_);  // a deque: ids keep their addresses
};

// "d/" followed by 32 lowercase hex digits of fresh randomness.
std::string RandomDataFileName();

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_WRITER_H_
