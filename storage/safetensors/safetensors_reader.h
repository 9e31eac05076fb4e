// Reads a safetensors file: the header, validated by every rule of the format before anything
// else is read, then one tensor at a time, by reads or from a memory map of a local file.
#ifndef CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_READER_H_
#define CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_READER_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/array.h"
#include "cairn/storage/safetensors/safetensors_header.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// The validated header of the whole file held in `bytes` (for callers that have it in memory).
absl::StatusOr<SafetensorsHeader> ParseSafetensorsFile(absl::string_view bytes,
                                                       const std::string& file);

class SafetensorsReader {
 public:
  // Opens `path` through `fs` (which must outlive the reader) and validates its header. With
  // `map`, and when the file can be mapped (ReadableFile::Map), it is also mapped into memory so
  // that ReadArray returns views; the file must then not be truncated while the reader lives.
  static absl::StatusOr<std::unique_ptr<SafetensorsReader>> Open(Filesystem& fs,
                                                                 const std::string& path,
                                                                 bool map = false);
  ~SafetensorsReader();
  SafetensorsReader(const SafetensorsReader&) = delete;
  SafetensorsReader& operator=(const SafetensorsReader&) = delete;

  const SafetensorsHeader& header() const { return header_; }
  // Where the data buffer starts in the file.
  uint64_t data_offset() const { return data_offset_; }
  bool mapped() const { return mapping_ != nullptr; }

  // Reads `tensor`'s bytes (tensor.end - tensor.begin of them) into `dst`. DataLoss when the
  // file ends early (it shrank since it was opened).
  absl::Status ReadTensorBytes(const SafetensorsTensor& tensor, char* dst) const;
  // `tensor` as an array: a read-only view into the mapping when mapped (valid while the
  // reader lives) and suitably aligned, else a new array holding a copy.
  absl::StatusOr<Array> ReadArray(const SafetensorsTensor& tensor) const;

 private:
  SafetensorsReader(std::unique_ptr<ReadableFile> file, SafetensorsHeader header,
                    uint64_t data_offset);

  std::unique_ptr<ReadableFile> file_;
  SafetensorsHeader header_;
  uint64_t data_offset_;
  std::shared_ptr<const FileMapping> mapping_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_SAFETENSORS_SAFETENSORS_READER_H_
