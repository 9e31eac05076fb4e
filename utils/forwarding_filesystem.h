// A Filesystem, and a WritableFile, that pass every operation to another one: the bases of
// wrappers that change only a few operations (counting bytes written, holding writers at a
// gate in tests).
#ifndef CAIRN_UTILS_FORWARDING_FILESYSTEM_H_
#define CAIRN_UTILS_FORWARDING_FILESYSTEM_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "cairn/utils/filesystem.h"

namespace cairn {

class ForwardingFilesystem : public Filesystem {
 public:
  // `inner` is not owned and must outlive this wrapper and every file it opened.
  explicit ForwardingFilesystem(Filesystem* inner) : inner_(inner) {}

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    return inner_->NewWritableFile(path);
  }
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
  absl::StatusOr<std::string> CanonicalPath(const std::string& path) override {
    return inner_->CanonicalPath(path);
  }

 protected:
  Filesystem* inner() const { return inner_; }

 private:
  Filesystem* const inner_;
};

// A WritableFile that passes every operation to another one, which it owns: the base of file
// wrappers that change only a few operations.
class ForwardingWritableFile : public WritableFile {
 public:
  explicit ForwardingWritableFile(std::unique_ptr<WritableFile> inner) : inner_(std::move(inner)) {}

  absl::Status Append(absl::string_view data) override { return inner_->Append(data); }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    return inner_->WriteAt(offset, data);
  }
  absl::Status Sync() override { return inner_->Sync(); }
  void StartWriteback(uint64_t offset, uint64_t size) override {
    inner_->StartWriteback(offset, size);
  }
  absl::Status Close() override { return inner_->Close(); }
  const std::string& path() const override { return inner_->path(); }

 protected:
  WritableFile* inner() const { return inner_.get(); }

 private:
  const std::unique_ptr<WritableFile> inner_;
};

}  // namespace cairn

#endif  // CAIRN_UTILS_FORWARDING_FILESYSTEM_H_
