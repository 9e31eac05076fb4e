// FaultInjectionFilesystem: counts every call, fails the armed ones, forwards the rest.
#include "cairn/utils/fault_injection_filesystem.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

class FaultInjectionFilesystem::Writable final : public WritableFile {
 public:
  Writable(FaultInjectionFilesystem* fs, std::unique_ptr<WritableFile> inner)
      : fs_(fs), inner_(std::move(inner)) {}

  absl::Status Append(absl::string_view data) override {
    bool short_write = false;
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kWrite, path(), &short_write));
    const absl::string_view written = short_write ? data.substr(0, data.size() / 2) : data;
    CAIRN_RETURN_IF_ERROR(Extend(std::nullopt, written.size()));
    CAIRN_RETURN_IF_ERROR(inner_->Append(written));
    return short_write ? DiskFull() : absl::OkStatus();
  }

  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    bool short_write = false;
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kWrite, path(), &short_write));
    const absl::string_view written = short_write ? data.substr(0, data.size() / 2) : data;
    CAIRN_RETURN_IF_ERROR(Extend(offset, written.size()));
    CAIRN_RETURN_IF_ERROR(inner_->WriteAt(offset, written));
    return short_write ? DiskFull() : absl::OkStatus();
  }

  absl::Status Sync() override {
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kSync, path()));
    return inner_->Sync();
  }
  // Not a fault point: a hint that fails reports nothing, and the Sync after it is one.
  void StartWriteback(uint64_t offset, uint64_t size) override {
    inner_->StartWriteback(offset, size);
  }

  absl::Status Close() override {
    absl::Status injected = fs_->Check(FaultOp::kClose, path());
    // close(2) releases the descriptor even when it reports an error.
    absl::Status closed = inner_->Close();
    return injected.ok() ? closed : injected;
  }

  const std::string& path() const override { return inner_->path(); }

 private:
  // Takes the space a write of `n` bytes at `offset` (the end when nullopt) adds to the file.
  absl::Status Extend(std::optional<uint64_t> offset, uint64_t n) {
    absl::MutexLock lock(&mu_);
    const uint64_t end = offset.value_or(size_) + n;
    if (end <= size_) return absl::OkStatus();
    CAIRN_RETURN_IF_ERROR(fs_->TakeSpace(path(), end - size_));
    size_ = end;
    return absl::OkStatus();
  }

  absl::Status DiskFull() const {
    return absl::ResourceExhaustedError(
        absl::StrCat("write ", path(), ": injected fault: short write, no space left on device"));
  }

  FaultInjectionFilesystem* const fs_;
  const std::unique_ptr<WritableFile> inner_;
  // Writes at disjoint offsets may come from several threads; the size they reach is shared.
  absl::Mutex mu_;
  uint64_t size_ ABSL_GUARDED_BY(mu_) = 0;
};

class FaultInjectionFilesystem::Readable final : public ReadableFile {
 public:
  Readable(FaultInjectionFilesystem* fs, std::unique_ptr<ReadableFile> inner)
      : fs_(fs), inner_(std::move(inner)) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    CAIRN_RETURN_IF_ERROR(fs_->Check(FaultOp::kRead, path()));
    return inner_->ReadAt(offset, n, scratch);
  }
  // Not a fault point: the size of an open file comes from memory the kernel already holds.
  absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  FaultInjectionFilesystem* const fs_;
  const std::unique_ptr<ReadableFile> inner_;
};

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
    case FaultOp::kOpenRead:
    case FaultOp::kRead:
    case FaultOp::kStat:
    case FaultOp::kListDir:
      return false;
  }
  return false;
}

absl::string_view FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kOpenWrite:
      return "create";
    case FaultOp::kWrite:
      return "write";
    case FaultOp::kSync:
      return "fsync";
    case FaultOp::kClose:
      return "close";
    case FaultOp::kOpenRead:
      return "open";
    case FaultOp::kRead:
      return "read";
    case FaultOp::kStat:
      return "stat";
    case FaultOp::kListDir:
      return "list";
    case FaultOp::kCreateDir:
      return "mkdir";
    case FaultOp::kDelete:
      return "delete";
    case FaultOp::kRename:
      return "rename";
    case FaultOp::kSyncDir:
      return "fsync directory";
  }
  return "unknown operation";
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
  by_kind_[k] = Armed{counts_[k] + std::max(n, 0), false, std::move(error)};
}

void FaultInjectionFilesystem::FailAll(FaultOp op, absl::Status error) {
  absl::MutexLock lock(&mu_);
  const int k = static_cast<int>(op);
  by_kind_[k] = Armed{counts_[k], true, std::move(error)};
}

void FaultInjectionFilesystem::FailNthMutation(int n, absl::Status error) {
  absl::MutexLock lock(&mu_);
  by_mutation_ = Armed{mutations_ + std::max(n, 0), false, std::move(error)};
}

void FaultInjectionFilesystem::FailAllMutationsFrom(int n, absl::Status error) {
  absl::MutexLock lock(&mu_);
  by_mutation_ = Armed{mutations_ + std::max(n, 0), true, std::move(error)};
}

void FaultInjectionFilesystem::ShortWriteNth(int n) {
  absl::MutexLock lock(&mu_);
  short_write_at_ = counts_[static_cast<int>(FaultOp::kWrite)] + std::max(n, 0);
}

void FaultInjectionFilesystem::LimitFreeSpace(uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  free_bytes_ = bytes;
}

void FaultInjectionFilesystem::Clear() {
  absl::MutexLock lock(&mu_);
  for (auto& armed : by_kind_) armed.reset();
  by_mutation_.reset();
  short_write_at_.reset();
  free_bytes_.reset();
}

absl::Status FaultInjectionFilesystem::TakeSpace(absl::string_view path, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (!free_bytes_) return absl::OkStatus();
  if (bytes > *free_bytes_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("write ", path, ": injected fault: No space left on device (", bytes,
                     " bytes asked, ", *free_bytes_, " free)"));
  }
  *free_bytes_ -= bytes;
  return absl::OkStatus();
}

uint64_t FaultInjectionFilesystem::SpaceOf(const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    if (!free_bytes_) return 0;
  }
  absl::StatusOr<FileInfo> info = inner_->Stat(path);
  return info.ok() && info->is_file() ? info->size : 0;
}

absl::Status FaultInjectionFilesystem::GiveBackIfOk(absl::Status status, uint64_t bytes) {
  absl::MutexLock lock(&mu_);
  if (status.ok() && free_bytes_) *free_bytes_ += bytes;
  return status;
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
  // Armed faults are positions on the counters; move them so they still fire when intended.
  for (int k = 0; k < kNumFaultOps; ++k) {
    if (by_kind_[k]) by_kind_[k]->at -= counts_[k];
  }
  if (by_mutation_) by_mutation_->at -= mutations_;
  if (short_write_at_) *short_write_at_ -= counts_[static_cast<int>(FaultOp::kWrite)];
  counts_.fill(0);
  mutations_ = 0;
}

absl::Status FaultInjectionFilesystem::Check(FaultOp op, absl::string_view path,
                                             bool* short_write) {
  absl::MutexLock lock(&mu_);
  // Whether `armed` fires at `count`; a one-shot fault is spent by firing.
  auto fires = [](std::optional<Armed>& armed, int64_t count) -> std::optional<absl::Status> {
    if (!armed || count < armed->at || (!armed->repeat && count != armed->at)) return std::nullopt;
    absl::Status error = armed->error;
    if (!armed->repeat) armed.reset();
    return error;
  };
  const int k = static_cast<int>(op);
  const int64_t index = counts_[k]++;
  std::optional<absl::Status> error = fires(by_kind_[k], index);
  if (IsMutation(op)) {
    // Checked even when the kind's fault fired, so that a fault armed on this same mutation is
    // spent rather than left waiting for a count that has passed.
    std::optional<absl::Status> by_mutation = fires(by_mutation_, mutations_++);
    if (!error) error = std::move(by_mutation);
  }
  if (short_write != nullptr && short_write_at_ && *short_write_at_ == index) {
    short_write_at_.reset();
    *short_write = !error.has_value();
  }
  if (error) return Annotate(*error, absl::StrCat(FaultOpName(op), " ", path));
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<WritableFile>> FaultInjectionFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kOpenWrite, path));
  const uint64_t truncated = SpaceOf(path);
  absl::StatusOr<std::unique_ptr<WritableFile>> opened = inner_->NewWritableFile(path);
  CAIRN_RETURN_IF_ERROR(GiveBackIfOk(opened.status(), truncated));
  std::unique_ptr<WritableFile> file = *std::move(opened);
  return std::unique_ptr<WritableFile>(new Writable(this, std::move(file)));
}

absl::StatusOr<std::unique_ptr<ReadableFile>> FaultInjectionFilesystem::NewReadableFile(
    const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kOpenRead, path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, inner_->NewReadableFile(path));
  return std::unique_ptr<ReadableFile>(new Readable(this, std::move(file)));
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
  const uint64_t freed = SpaceOf(path);
  return GiveBackIfOk(inner_->DeleteFile(path), freed);
}

absl::Status FaultInjectionFilesystem::DeleteDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kDelete, path));
  return inner_->DeleteDir(path);
}

absl::Status FaultInjectionFilesystem::Rename(const std::string& from, const std::string& to) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kRename, absl::StrCat(from, " to ", to)));
  const uint64_t replaced = from != to ? SpaceOf(to) : 0;
  return GiveBackIfOk(inner_->Rename(from, to), replaced);
}

absl::Status FaultInjectionFilesystem::SyncDir(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(Check(FaultOp::kSyncDir, path));
  return inner_->SyncDir(path);
}

}  // namespace cairn
