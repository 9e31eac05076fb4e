// A Filesystem wrapper that makes chosen operations fail, for tests of every failure path.
//
// Each operation is one fault point, counted by kind. A test can fail the Nth operation of a
// kind, every operation of a kind, the Nth mutation of any kind (to enumerate every failure
// point of a save), every mutation from the Nth on (a machine that died there), or make the Nth
// write short, as a full disk does. An operation that fails by injection is not passed to the
// wrapped filesystem, so it changes nothing there; the one exception is Close, which releases
// the wrapped file anyway, as close(2) does.
#ifndef CAIRN_UTILS_FAULT_INJECTION_FILESYSTEM_H_
#define CAIRN_UTILS_FAULT_INJECTION_FILESYSTEM_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// The kinds of fault point.
enum class FaultOp {
  kOpenWrite,  // NewWritableFile
  kWrite,      // WritableFile::Append and WriteAt
  kSync,       // WritableFile::Sync
  kClose,      // WritableFile::Close
  kOpenRead,   // NewReadableFile
  kRead,       // ReadableFile::ReadAt
  kStat,       // Stat
  kListDir,    // ListDir and ListDirEntries
  kCreateDir,  // CreateDir
  kDelete,     // DeleteFile and DeleteDir
  kRename,     // Rename
  kSyncDir,    // SyncDir
};
inline constexpr int kNumFaultOps = 12;

// Whether `op` changes the filesystem (what a crash can interrupt): every kind except kOpenRead,
// kRead, kStat and kListDir.
bool IsMutation(FaultOp op);
// A short lower-case name for `op` ("write", "sync directory"), used in injected errors.
absl::string_view FaultOpName(FaultOp op);

// Errors as the kernel would report them, marked as injected.
absl::Status NoSpaceError();     // ResourceExhausted, as ENOSPC maps
absl::Status IoError();          // DataLoss, as EIO maps
absl::Status PermissionError();  // PermissionDenied, as EACCES maps

class FaultInjectionFilesystem final : public Filesystem {
 public:
  // `inner` is not owned and must outlive this wrapper and every file it opened.
  explicit FaultInjectionFilesystem(Filesystem* inner) : inner_(inner) {}
  FaultInjectionFilesystem(const FaultInjectionFilesystem&) = delete;
  FaultInjectionFilesystem& operator=(const FaultInjectionFilesystem&) = delete;

  // Arming. `n` counts from 0 and from the moment of arming: n = 0 is the very next operation.
  // Arming again a kind (or the mutations, or the short write) replaces what was armed before.

  // The n-th operation of kind `op` from now on fails with `error`, once.
  void FailNth(FaultOp op, int n, absl::Status error);
  // Every operation of kind `op` fails with `error` until Clear().
  void FailAll(FaultOp op, absl::Status error);
  // The n-th mutation (of any mutating kind) from now on fails with `error`, once.
  void FailNthMutation(int n, absl::Status error);
  // The n-th mutation from now on and every one after it fail with `error` until Clear().
  void FailAllMutationsFrom(int n, absl::Status error);
  // The n-th write from now on really writes only the first half of its bytes, then reports a
  // full disk (ResourceExhausted). An injected error for the same write takes precedence.
  void ShortWriteNth(int n);
  // From now on the disk has `bytes` free, as a small tmpfs would: a write takes the bytes by
  // which it extends its file, deleting or truncating a file (or renaming over it) gives its
  // bytes back, and a write that does not fit fails with ResourceExhausted and writes nothing.
  // Empty files and directories take no space.
  void LimitFreeSpace(uint64_t bytes);
  // Disarms every fault and lifts the space limit; the counts are kept.
  void Clear();

  // Operations attempted (failed ones included) since construction or ResetCounts().
  int64_t Count(FaultOp op) const;
  int64_t MutationCount() const;
  void ResetCounts();

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;
  absl::StatusOr<FileInfo> Stat(const std::string& path) override;
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override;
  absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path) override;
  absl::Status CreateDir(const std::string& path) override;
  absl::Status DeleteFile(const std::string& path) override;
  absl::Status DeleteDir(const std::string& path) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& path) override;
  // Not a fault point: it only spells a path, and inner's answer is what callers resolve with.
  absl::StatusOr<std::string> CanonicalPath(const std::string& path) override {
    return inner_->CanonicalPath(path);
  }

 private:
  class Writable;
  class Readable;

  struct Armed {
    int64_t at = 0;       // the count that triggers
    bool repeat = false;  // fail every operation from `at` on
    absl::Status error;
  };

  // Counts one operation of kind `op` on `path` and returns the injected error for it, if any.
  // With `short_write`, also reports whether this write is the one to cut short.
  absl::Status Check(FaultOp op, absl::string_view path, bool* short_write = nullptr);

  // With a space limit: takes `bytes` from the free space, or fails with ResourceExhausted.
  absl::Status TakeSpace(absl::string_view path, uint64_t bytes);
  // With a space limit: the size of the file at `path` (0 without one, or for no file).
  uint64_t SpaceOf(const std::string& path);
  // With a space limit: gives `bytes` back when `status`, the outcome of the operation that
  // freed them, is OK. Returns `status`.
  absl::Status GiveBackIfOk(absl::Status status, uint64_t bytes);

  Filesystem* const inner_;
  mutable absl::Mutex mu_;
  std::array<int64_t, kNumFaultOps> counts_ ABSL_GUARDED_BY(mu_) = {};
  int64_t mutations_ ABSL_GUARDED_BY(mu_) = 0;
  std::array<std::optional<Armed>, kNumFaultOps> by_kind_ ABSL_GUARDED_BY(mu_);
  std::optional<Armed> by_mutation_ ABSL_GUARDED_BY(mu_);
  std::optional<int64_t> short_write_at_ ABSL_GUARDED_BY(mu_);
  std::optional<uint64_t> free_bytes_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_FAULT_INJECTION_FILESYSTEM_H_
