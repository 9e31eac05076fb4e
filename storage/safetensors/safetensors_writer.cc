#include "cairn/storage/safetensors/safetensors_writer.h"

#include <unistd.h>

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Unique among writers of one process and of several: the pid and a random nonce.
std::string TemporaryPathFor(const std::string& path) {
  static thread_local std::mt19937_64 random(std::random_device{}());
  return absl::StrFormat("%s.cairn-tmp.%d.%016x", path, getpid(), random());
}

}  // namespace

absl::StatusOr<std::unique_ptr<SafetensorsWriter>> SafetensorsWriter::Create(
    Filesystem& fs, const std::string& path, const SafetensorsHeader& header,
    const SafetensorsWriteOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(const std::string encoded, EncodeSafetensorsHeader(header));
  if (!options.overwrite) {
    CAIRN_ASSIGN_OR_RETURN(const bool exists, PathExists(fs, path));
    if (exists) {
      return absl::AlreadyExistsError(
          absl::StrCat(path, " already exists (set overwrite to replace it)"));
    }
  }
  std::unique_ptr<SafetensorsWriter> writer(new SafetensorsWriter(
      fs, path, TemporaryPathFor(path), header.data_bytes(), encoded.size(), options));
  CAIRN_ASSIGN_OR_RETURN(writer->file_, fs.NewWritableFile(writer->temporary_path_));
  absl::Status status = writer->file_->Append(encoded);
  if (!status.ok()) {
    writer->failed_ = true;
    return Annotate(status, absl::StrCat("writing the header of ", path));
  }
  return writer;
}

SafetensorsWriter::~SafetensorsWriter() {
  if (committed_ || file_ == nullptr) return;
  file_->Close().IgnoreError();
  // Best effort: what cannot be removed now carries the temporary marker in its name.
  fs_.DeleteFile(temporary_path_).IgnoreError();
}

absl::Status SafetensorsWriter::Append(absl::string_view bytes) {
  if (committed_ || failed_) {
    return absl::FailedPreconditionError(absl::StrCat("the writer of ", path_, " is finished"));
  }
  if (bytes.size() > data_bytes_ - written_) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ": appending ", bytes.size(), " bytes at ", written_,
        " would pass the end of the data buffer the header declares (", data_bytes_, " bytes)"));
  }
  absl::Status status = file_->Append(bytes);
  if (!status.ok()) {
    failed_ = true;
    return Annotate(status, absl::StrCat("writing ", path_));
  }
  if (options_.sync) file_->StartWriteback(header_bytes_ + written_, bytes.size());
  written_ += bytes.size();
  return absl::OkStatus();
}

absl::Status SafetensorsWriter::Commit() {
  if (committed_ || failed_) {
    return absl::FailedPreconditionError(absl::StrCat("the writer of ", path_, " is finished"));
  }
  if (written_ != data_bytes_) {
    return absl::FailedPreconditionError(
        absl::StrCat(path_, ": ", written_, " of the ", data_bytes_, " data bytes were written"));
  }
  failed_ = true;  // until everything below has succeeded
  if (options_.sync) {
    CAIRN_RETURN_IF_ERROR(Annotate(file_->Sync(), absl::StrCat("syncing ", path_)));
  }
  CAIRN_RETURN_IF_ERROR(Annotate(file_->Close(), absl::StrCat("closing ", path_)));
  CAIRN_RETURN_IF_ERROR(fs_.Rename(temporary_path_, path_));
  committed_ = true;
  failed_ = false;
  if (options_.sync) {
    absl::Status synced = fs_.SyncDir(ParentPath(path_));
    if (!synced.ok()) {
      // A rename that cannot be made durable is withdrawn, not acknowledged: a power cut could
      // undo it, and the caller is told the file is not there.
      fs_.DeleteFile(path_).IgnoreError();
      return Annotate(synced, absl::StrCat("syncing the directory of ", path_));
    }
  }
  return absl::OkStatus();
}

}  // namespace cairn
