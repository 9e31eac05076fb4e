// Writes a safetensors file as a stream: the header first (every size is known up front), then
// the tensors' bytes in data order, so that a writer holds one tensor at a time, not the file.
// The file appears at its name only when complete: it is written under a temporary name beside
// it, synced, and renamed into place.
#ifndef CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_WRITER_H_
#define CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_WRITER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/safetensors/safetensors_header.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

struct SafetensorsWriteOptions {
  // Replace a file already at the path (atomically). Without it that is AlreadyExists.
  bool overwrite = false;
  // fsync the file and its directory before the commit returns.
  bool sync = true;
};

class SafetensorsWriter {
 public:
  // Starts `path` with `header` (laid out: LayOutSafetensors). `fs` must outlive the writer.
  static absl::StatusOr<std::unique_ptr<SafetensorsWriter>> Create(
      Filesystem& fs, const std::string& path, const SafetensorsHeader& header,
      const SafetensorsWriteOptions& options = SafetensorsWriteOptions());
  // Removes the temporary file unless Commit succeeded.
  ~SafetensorsWriter();
  SafetensorsWriter(const SafetensorsWriter&) = delete;
  SafetensorsWriter& operator=(const SafetensorsWriter&) = delete;

  // Appends the next `bytes` of the data buffer. InvalidArgument past what the header declares.
  absl::Status Append(absl::string_view bytes);
  // Once every byte the header declares is appended: syncs, closes and renames the file into
  // place, and syncs its directory. FailedPrecondition when bytes are missing.
  absl::Status Commit();

  // Bytes of the data buffer appended so far.
  uint64_t data_written() const { return written_; }
  // The temporary name the file is written under until Commit.
  const std::string& temporary_path() const { return temporary_path_; }

 private:
  SafetensorsWriter(Filesystem& fs, std::string path, std::string temporary_path,
                    uint64_t data_bytes, uint64_t header_bytes, SafetensorsWriteOptions options)
      : fs_(fs),
        path_(std::move(path)),
        temporary_path_(std::move(temporary_path)),
        data_bytes_(data_bytes),
        header_bytes_(header_bytes),
        options_(options) {}

  Filesystem& fs_;
  const std::string path_;
  const std::string temporary_path_;
  const uint64_t data_bytes_;
  const uint64_t header_bytes_;
  const SafetensorsWriteOptions options_;
  std::unique_ptr<WritableFile> file_;
  uint64_t written_ = 0;
  bool committed_ = false;
  bool failed_ = false;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_WRITER_H_
