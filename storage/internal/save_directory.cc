#include "cairn/storage/internal/save_directory.h"

#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::internal {
namespace {

std::string Parent(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

absl::Status SaveDirectory::Prepare() {
  absl::StatusOr<FileInfo> info = fs_.Stat(dir_);
  if (info.ok()) {
    if (!info->is_directory()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot save into ", dir_, ": it exists and is not a directory"));
    }
    CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> entries, fs_.ListDir(dir_));
    if (!entries.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot save into ", dir_, ": it already holds ", entries.size(),
                       " entries; save into a new or empty directory"));
    }
    return absl::OkStatus();
  }
  if (!absl::IsNotFound(info.status())) return info.status();
  std::vector<std::string> missing;
  for (std::string path = dir_; !path.empty() && path != "/"; path = Parent(path)) {
    absl::StatusOr<FileInfo> above = fs_.Stat(path);
    if (above.ok()) break;
    if (!absl::IsNotFound(above.status())) return above.status();
    missing.push_back(path);
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    absl::Status status = fs_.CreateDir(*it);
    if (!status.ok() && !absl::IsAlreadyExists(status)) {
      Cleanup({});
      return status;
    }
    created_.push_back(*it);
  }
  return absl::OkStatus();
}

absl::Status SaveDirectory::SyncCreated() {
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    CAIRN_RETURN_IF_ERROR(fs_.SyncDir(Parent(*it)));
  }
  return absl::OkStatus();
}

void SaveDirectory::Cleanup(const std::vector<std::string>& written) {
  if (!created_.empty()) {
    DeleteRecursively(fs_, created_.front()).IgnoreError();
    return;
  }
  for (const std::string& path : written) {
    absl::StatusOr<FileInfo> info = fs_.Stat(path);
    if (!info.ok()) continue;
    if (info->is_directory()) {
      DeleteRecursively(fs_, path).IgnoreError();
    } else {
      fs_.DeleteFile(path).IgnoreError();
    }
  }
}

}  // namespace cairn::internal
