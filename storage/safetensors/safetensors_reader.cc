#include "cairn/storage/safetensors/safetensors_reader.h"

#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Reads exactly `n` bytes at `offset`, or DataLoss naming the file.
absl::Status ReadExactly(const ReadableFile& file, uint64_t offset, size_t n, char* dst) {
  while (n > 0) {
    CAIRN_ASSIGN_OR_RETURN(const size_t got, file.ReadAt(offset, n, dst));
    if (got == 0) {
      return absl::DataLossError(absl::StrCat(file.path(), " ends at byte ", offset,
                                              ", before the data its header declares"));
    }
    offset += got;
    dst += got;
    n -= got;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SafetensorsHeader> ParseSafetensorsFile(absl::string_view bytes,
                                                       const std::string& file) {
  CAIRN_ASSIGN_OR_RETURN(const uint64_t header_bytes,
                         DecodeSafetensorsHeaderSize(bytes, bytes.size(), file));
  const uint64_t data_offset = kSafetensorsPrefixBytes + header_bytes;
  return ParseSafetensorsHeader(bytes.substr(kSafetensorsPrefixBytes, header_bytes),
                                bytes.size() - data_offset, file);
}

SafetensorsReader::SafetensorsReader(std::unique_ptr<ReadableFile> file, SafetensorsHeader header,
                                     uint64_t data_offset)
    : file_(std::move(file)), header_(std::move(header)), data_offset_(data_offset) {}

SafetensorsReader::~SafetensorsReader() = default;

absl::StatusOr<std::unique_ptr<SafetensorsReader>> SafetensorsReader::Open(Filesystem& fs,
                                                                           const std::string& path,
                                                                           bool map) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs.NewReadableFile(path));
  CAIRN_ASSIGN_OR_RETURN(const uint64_t file_bytes, file->Size());
  char prefix[kSafetensorsPrefixBytes] = {};
  const size_t prefix_bytes =
      static_cast<size_t>(std::min<uint64_t>(file_bytes, kSafetensorsPrefixBytes));
  CAIRN_RETURN_IF_ERROR(ReadExactly(*file, 0, prefix_bytes, prefix));
  CAIRN_ASSIGN_OR_RETURN(
      const uint64_t header_bytes,
      DecodeSafetensorsHeaderSize(absl::string_view(prefix, prefix_bytes), file_bytes, path));
  std::string text(header_bytes, '\0');
  CAIRN_RETURN_IF_ERROR(ReadExactly(*file, kSafetensorsPrefixBytes, header_bytes, text.data()));
  const uint64_t data_offset = kSafetensorsPrefixBytes + header_bytes;
  CAIRN_ASSIGN_OR_RETURN(SafetensorsHeader header,
                         ParseSafetensorsHeader(text, file_bytes - data_offset, path));
  std::unique_ptr<SafetensorsReader> reader(
      new SafetensorsReader(std::move(file), std::move(header), data_offset));
  if (map) {
    absl::StatusOr<std::shared_ptr<const FileMapping>> mapping = reader->file_->Map(file_bytes);
    if (!absl::IsUnimplemented(mapping.status())) {
      CAIRN_ASSIGN_OR_RETURN(reader->mapping_, std::move(mapping));
    }
  }
  return reader;
}

absl::Status SafetensorsReader::ReadTensorBytes(const SafetensorsTensor& tensor, char* dst) const {
  return Annotate(ReadExactly(*file_, data_offset_ + tensor.begin, tensor.end - tensor.begin, dst),
                  absl::StrCat("tensor \"", tensor.name, "\""));
}

absl::StatusOr<Array> SafetensorsReader::ReadArray(const SafetensorsTensor& tensor) const {
  if (mapping_ != nullptr) {
    const char* data = mapping_->data() + data_offset_ + tensor.begin;
    // Files from other writers may start a tensor at any byte; the store reads elements
    // through typed pointers, so a misaligned one is copied.
    if (reinterpret_cast<uintptr_t>(data) % DTypeSize(tensor.dtype) == 0) {
      return Array::Borrow(tensor.dtype, tensor.shape, data);
    }
  }
  CAIRN_ASSIGN_OR_RETURN(Array array,
                         ArrayAllocator::AllocateUninitialized(tensor.dtype, tensor.shape));
  if (mapping_ != nullptr) {
    std::memcpy(array.mutable_data(), mapping_->data() + data_offset_ + tensor.begin,
                tensor.end - tensor.begin);
  } else {
    CAIRN_RETURN_IF_ERROR(ReadTensorBytes(tensor, static_cast<char*>(array.mutable_data())));
  }
  return array;
}

}  // namespace cairn
