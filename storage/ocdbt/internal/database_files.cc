#include "cairn/storage/ocdbt/internal/database_files.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

// The handles kept open per reader; past this they are closed and reopened on demand.
constexpr size_t kMaxOpenFiles = 64;

absl::Status CheckRelativePath(absl::string_view relative) {
  if (relative.empty() || relative.front() == '/') {
    return absl::DataLossError(
        absl::StrCat("data file path \"", relative, "\" is not relative to the database"));
  }
  for (absl::string_view part : absl::StrSplit(relative, '/')) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != part.npos) {
      return absl::DataLossError(absl::StrCat("data file path \"", relative,
                                              "\" has a component that leaves or repeats a "
                                              "directory"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string DatabaseFiles::FullPath(absl::string_view relative) const {
  return JoinPath(dir_, relative);
}

absl::StatusOr<std::shared_ptr<ReadableFile>> DatabaseFiles::Open(absl::string_view relative) {
  CAIRN_RETURN_IF_ERROR(CheckRelativePath(relative));
  std::string key(relative);
  {
    absl::MutexLock lock(&mu_);
    auto it = open_.find(key);
    if (it != open_.end()) return it->second;
  }
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file,
                         fs_->NewReadableFile(FullPath(relative)));
  std::shared_ptr<ReadableFile> shared(std::move(file));
  absl::MutexLock lock(&mu_);
  if (open_.size() >= kMaxOpenFiles) open_.clear();
  open_.emplace(std::move(key), shared);
  return shared;
}

absl::StatusOr<std::string> DatabaseFiles::ReadRange(absl::string_view relative, uint64_t offset,
                                                     uint64_t length) {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<ReadableFile> file, Open(relative));
  CAIRN_RETURN_IF_ERROR(CheckRange(*file, relative, offset, length));
  std::string out(length, '\0');
  CAIRN_RETURN_IF_ERROR(ReadExactly(*file, relative, offset, length, out.data()));
  return out;
}

absl::Status DatabaseFiles::ReadRangeInto(absl::string_view relative, uint64_t offset,
                                          uint64_t length, char* out) {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<ReadableFile> file, Open(relative));
  CAIRN_RETURN_IF_ERROR(CheckRange(*file, relative, offset, length));
  return ReadExactly(*file, relative, offset, length, out);
}

absl::Status DatabaseFiles::CheckRange(const ReadableFile& file, absl::string_view relative,
                                       uint64_t offset, uint64_t length) const {
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, file.Size());
  if (offset > size || length > size - offset) {
    return absl::DataLossError(absl::StrCat(FullPath(relative), ": bytes [", offset, ", +", length,
                                            ") lie past the end of the file (", size, " bytes)"));
  }
  return absl::OkStatus();
}

absl::Status DatabaseFiles::ReadExactly(const ReadableFile& file, absl::string_view relative,
                                        uint64_t offset, uint64_t length, char* out) const {
  CAIRN_ASSIGN_OR_RETURN(size_t got, file.ReadAt(offset, length, out));
  if (got != length) {
    return absl::DataLossError(absl::StrCat(FullPath(relative), ": read ", got, " of ", length,
                                            " bytes at offset ", offset));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> DatabaseFiles::ReadWhole(absl::string_view relative,
                                                     uint64_t max_size) {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<ReadableFile> file, Open(relative));
  CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->Size());
  if (size > max_size) {
    return absl::DataLossError(
        absl::StrCat(FullPath(relative), ": ", size, " bytes, more than the limit of ", max_size));
  }
  return ReadRange(relative, 0, size);
}

absl::StatusOr<std::vector<std::string>> DatabaseFiles::ListNames() { return fs_->ListDir(dir_); }

}  // namespace cairn::ocdbt_internal
