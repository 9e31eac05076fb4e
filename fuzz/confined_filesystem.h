// A read-only view of one directory of another Filesystem that traps (so that the fuzzer
// reports it) when a load touches a path outside that directory, spells a path with ".", ".."
// or empty components, or tries to change anything: loading must only ever read the checkpoint.
#ifndef CAIRN_FUZZ_CONFINED_FILESYSTEM_H_
#define CAIRN_FUZZ_CONFINED_FILESYSTEM_H_

#include <memory>
#include <string>
#include <vector>

#include "cairn/utils/forwarding_filesystem.h"

namespace cairn::fuzz {

class ConfinedFilesystem final : public ForwardingFilesystem {
 public:
  // `root` is an absolute path without a trailing slash; `inner` must outlive this.
  ConfinedFilesystem(Filesystem* inner, std::string root);

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

 private:
  // Traps unless `path` is `root_` or a clean path below it.
  void CheckInside(const std::string& path, const char* operation) const;
  [[noreturn]] void Refuse(const std::string& path, const char* operation) const;

  const std::string root_;
};

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_CONFINED_FILESYSTEM_H_
