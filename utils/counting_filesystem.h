// A Filesystem wrapper that counts the bytes written through it, so that a save can report how
// much it wrote (data, indexes and metadata alike) without each writer keeping its own tally.
#ifndef CAIRN_UTILS_COUNTING_FILESYSTEM_H_
#define CAIRN_UTILS_COUNTING_FILESYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "cairn/utils/filesystem.h"

namespace cairn {

class CountingFilesystem final : public Filesystem {
 public:
  // `inner` is not owned and must outlive this wrapper and every file it opened.
  explicit CountingFilesystem(Filesystem* inner) : inner_(inner) {}

  // Bytes successfully written through files opened here.
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    return inner_->NewReadableFile(path);
  }
  absl::StatusOr<FileInfo> Stat(const std::string& path) override { return inner_->Stat(path); }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    return inner_->ListDir(path);
  }
  absl::StatusOr<std::vector<DirEntry>> ListDirEntries(const std::string& path) override {
    return inner_->ListDirEntries(path);
  }
  absl::Status CreateDir(const std::string& path) override { return inner_->CreateDir(path); }
  absl::Status DeleteFile(const std::string& path) override { return inner_->DeleteFile(path); }
  absl::Status DeleteDir(const std::string& path) override { return inner_->DeleteDir(path); }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    return inner_->Rename(from, to);
  }
  absl::Status SyncDir(const std::string& path) override { return inner_->SyncDir(path); }

 private:
  Filesystem* const inner_;
  std::atomic<uint64_t> bytes_written_{0};
};

}  // namespace cairn

#endif  // CAIRN_UTILS_COUNTING_FILESYSTEM_H_
