// A read-only memory map of a whole local file, so that an import can hand the store views of
// the file's tensors instead of reading them into memory first.
#ifndef CAIRN_STORAGE_SAFETENSORS_INTERNAL_MAPPED_FILE_H_
#define CAIRN_STORAGE_SAFETENSORS_INTERNAL_MAPPED_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace cairn::internal {

class MappedFile {
 public:
  // Maps `path` (not through a final symlink), which must be `expected_size` bytes long.
  static absl::StatusOr<std::unique_ptr<MappedFile>> Map(const std::string& path,
                                                         uint64_t expected_size);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const char* data() const { return data_; }
  uint64_t size() const { return size_; }

 private:
  MappedFile(const char* data, uint64_t size) : data_(data), size_(size) {}
  const char* data_;
  uint64_t size_;
};

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_SAFETENSORS_INTERNAL_MAPPED_FILE_H_
