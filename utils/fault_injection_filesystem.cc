#include "cairn/utils/fault_injection_filesystem.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class FaultWritableFile final : public WritableFile {
 public:
  FaultWritableFile(FaultInjectionFilesystem* fs, std::unique_ptr<WritableFile> inner)
      : fs_(fs), inner_(std::move(inner)) {}

  absl::Status Append(absl::string_view data) override {
    bool short_write = false;
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kWrite, path(), &short_write));
    if (short_write) {
      CAIRN_RETURN_IF_ERROR(inner_->Append(data.substr(0, data.size() / 2)));
      return Full();
    }
    return inner_->Append(data);
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    bool short_write = false;
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kWrite, path(), &short_write));
    if (short_write) {
      CAIRN_RETURN_IF_ERROR(inner_->WriteAt(offset, data.substr(0, data.size() / 2)));
      return Full();
    }
    return inner_->WriteAt(offset, data);
  }

  absl::Status Sync() override {
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kSync, path()));
    return inner_->Sync();
  }

  absl::Status Close() override {
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kClose, path()));
    return inner_->Close();
  }

  const std::string& path() const override { return inner_->path(); }

 private:
  absl::Status Full() const {
    return absl::ResourceExhaustedError(
        absl::StrCat("write ", path(), ": injected fault: short write, no space left on device"));
  }

  FaultInjectionFilesystem* const fs_;
  const std::unique_ptr<WritableFile> inner_;
};

class FaultReadableFile final : public ReadableFile {
 public:
  FaultReadableFile(FaultInjectionFilesystem* fs, std::unique_ptr<ReadableFile> inner)
      : fs_(fs), inner_(std::move(inner)) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kRead, path()));
    return inner_->ReadAt(offset, n, scratch);
  }
  absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  FaultInjectionFilesystem* const fs_;
  const std::unique_ptr<ReadableFile> inner_;
};

}  // namespace

bool IsMutation(FaultOp op) {
  switch (op) {
    case FaultOp::kOpenWrite:
    case FaultOp::kWrite:
    case FaultOp::kSync:
    case FaultOp::kClose:
    case FaultOp::kCreateDir:
    case FaultOp::kDelete:
    case FaultOp::kRename:
    case FaultOp::kSyncDir:
      return true;
    default:
      return false;
  }
}

absl::Status NoSpaceError() {
  return absl::ResourceExhaustedError("injected fault: No space left on device");
}
absl::Status IoError() { return absl::DataLossError("injected fault: Input/output error"); }
absl::Status PermissionError() {
  return absl::PermissionDeniedError("injected fault: Permission denied");
}

void FaultInjectionFilesystem::FailNth(FaultOp op, int n, absl::Status error) {
  absl::MutexLock lock(&mu_);
  const int k = static_cast<int>(op);
  by_kind_[k] = Armed{counts_[k] + n, false, std::move(error)};
}

void FaultInjectionFilesystem::FailAll(FaultOp op, absl::Status error) {
  absl::MutexLock lock(&mu_);
  const int k = static_cast<int>(op);
  by_kind_[k] = Armed{counts_[k], true, std::move(error)};
}

void FaultInjectionFilesystem::FailNthMutation(int n, absl::Status error) {
  absl::MutexLock lock(&mu_);
  by_mutation_ = Armed{mutations_ + n, false, std::move(error)};
}

void FaultInjectionFilesystem::FailAllMutationsFrom(int n, absl::Status error) {
  absl::MutexLock lock(&mu_);
  by_mutation_ = Armed{mutations_ + n, true, std::move(error)};
}

void FaultInjectionFilesystem::ShortWriteNth(int n) {
  absl::MutexLock lock(&mu_);
  short_write_at_ = counts_[static_cast<int>(FaultOp::kWrite)] + n;
}

void FaultInjectionFilesystem::Clear() {
  absl::MutexLock lock(&mu_);
  for (auto& armed : by_kind_) armed.reset();
  by_mutation_.reset();
  short_write_at_.reset();
}

int64_t FaultInjectionFilesystem::Count(FaultOp op) const {
  absl::MutexLock lock(&mu_);
  return counts_[static_cast<int>(op)];
}

int64_t FaultInjectionFilesystem::MutationCount() const {
  absl::MutexLock lock(&mu_);
  return mutations_;
}

void FaultInjectionFilesystem::ResetCounts() {
  absl::MutexLock lock(&mu_);
  counts_.fill(0);
  mutations_ = 0;
}

absl::Status FaultInjectionFilesystem::Check(FaultOp op, absl::string_view path,
                                             bool* short_write) {
  absl::MutexLock lock(&mu_);
  const int k = static_cast<int>(op);
  const int64_t index = counts_[k]++;
  auto fires = [](std::optional<Armed>& armed, int64_t count) -> std::optional<absl::Status> {
    if (!armed || count < armed->at || (!armed->repeat && count != armed->at)) return std::nullopt;
    absl::Status error = armed->error;
    if (!armed->repeat) armed.reset();
    return error;
  };
  std::optional<absl::Status> error = fires(by_kind_[k], index);
  if (IsMutation(op)) {
    const int64_t mutation = mutations_++;
    if (!error) error = fires(by_mutation_, mutation);
  }
  if (error) return Annotate(*error, path);
  if (short_write != nullptr && short_write_at_ && *short_write_at_ == index) {
    short_write_at_.reset();
    *short_write = true;
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kOpenWrite, path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, inner_->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new FaultWritableFile(this, std::move(file)));
}

absl::StatusOr<std::unique_ptr<ReadableFile>> FaultInjectionFilesystem::NewReadableFile(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kOpenRead, path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, inner_->NewReadableFile(path));
  return std::unique_ptr<ReadableFile>(new FaultReadableFile(this, std::move(file)));
}

absl::StatusOr<FileInfo> FaultInjectionFilesystem::Stat(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kStat, path));
  return inner_->Stat(path);
}

absl::StatusOr<std::vector<std::string>> FaultInjectionFilesystem::ListDir(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kListDir, path));
  return inner_->ListDir(path);
}

absl::StatusOr<std::vector<DirEntry>> FaultInjectionFilesystem::ListDirEntries(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kListDir, path));
  return inner_->ListDirEntries(path);
}

absl::Status FaultInjectionFilesystem::CreateDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kCreateDir, path));
  return inner_->CreateDir(path);
}

absl::Status FaultInjectionFilesystem::DeleteFile(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kDelete, path));
  return inner_->DeleteFile(path);
}

absl::Status FaultInjectionFilesystem::DeleteDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kDelete, path));
  return inner_->DeleteDir(path);
}

absl::Status FaultInjectionFilesystem::Rename(const std::string& from, const std::string& to) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kRename, absl::StrCat(from, " -> ", to)));
  return inner_->Rename(from, to);
}

absl::Status FaultInjectionFilesystem::SyncDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path));
  return inner_->SyncDir(path);
}

}  // namespace cairn
