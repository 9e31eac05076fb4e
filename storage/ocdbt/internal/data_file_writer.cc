#include "cairn/storage/ocdbt/internal/data_file_writer.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

constexpr char kDataDir[] = "d";
// Past this many bytes a large value is handed to the device as soon as it is written, so that a
// final sync has little left to wait for.
constexpr uint64_t kWritebackBytes = uint64_t{1} << 20;

}  // namespace

std::string RandomDataFileName() {
  std::random_device device;
  uint64_t high = (uint64_t{device()} << 32) | device();
  uint64_t low = (uint64_t{device()} << 32) | device();
  return absl::StrFormat("%s/%016x%016x", kDataDir, high, low);
}

DataFileWriter::DataFileWriter(Filesystem* fs, std::string dir, uint64_t target_file_bytes,
                               bool sync)
    : fs_(fs), dir_(std::move(dir)), target_file_bytes_(target_file_bytes), sync_(sync) {}

absl::Status DataFileWriter::StartFile() {
  if (!data_dir_created_) {
    CAIRN_RETURN_IF_ERROR(CreateDirs(*fs_, JoinPath(dir_, kDataDir), sync_));
    data_dir_created_ = true;
  }
  File file;
  file.id.relative_path = RandomDataFileName();
  const std::string path = JoinPath(dir_, file.id.relative_path);
  CAIRN_ASSIGN_OR_RETURN(file.file, fs_->NewWritableFile(path));
  files_.push_back(std::move(file));
  return absl::OkStatus();
}

absl::StatusOr<DataFileWriter::Location> DataFileWriter::WriteParts(
    absl::Span<const absl::string_view> parts) {
  uint64_t size = 0;
  for (absl::string_view part : parts) size += part.size();
  WritableFile* file;
  Location location;
  {
    absl::MutexLock lock(&mu_);
    if (files_.empty() || (target_file_bytes_ != 0 && files_.back().size != 0 &&
                           files_.back().size + size > target_file_bytes_)) {
      CAIRN_RETURN_IF_ERROR(StartFile());
    }
    File& current = files_.back();
    location.file = &current.id;
    location.offset = current.size;
    current.size += size;
    file = current.file.get();
  }
  uint64_t offset = location.offset;
  for (absl::string_view part : parts) {
    absl::Status written = file->WriteAt(offset, part);
    if (!written.ok()) {
      return Annotate(written, absl::StrCat("writing ", part.size(), " bytes at offset ", offset,
                                            " of OCDBT data file ", file->path()));
    }
    offset += part.size();
  }
  if (sync_ && size >= kWritebackBytes) file->StartWriteback(location.offset, size);
  return location;
}

absl::Status DataFileWriter::Finish() {
  absl::MutexLock lock(&mu_);
  for (File& file : files_) {
    if (sync_) {
      CAIRN_RETURN_IF_ERROR(
          Annotate(file.file->Sync(), absl::StrCat("syncing OCDBT data file ", file.file->path())));
    }
    const std::string path = file.file->path();
    CAIRN_RETURN_IF_ERROR(
        Annotate(file.file->Close(), absl::StrCat("closing OCDBT data file ", path)));
  }
  if (sync_ && data_dir_created_) {
    const std::string data_dir = JoinPath(dir_, kDataDir);
    CAIRN_RETURN_IF_ERROR(
        Annotate(fs_->SyncDir(data_dir), absl::StrCat("syncing directory ", data_dir)));
  }
  return absl::OkStatus();
}

}  // namespace cairn::ocdbt_internal
