#include "cairn/utils/counting_filesystem.h"

#include <utility>

#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class CountingFile final : public WritableFile {
 public:
  CountingFile(std::unique_ptr<WritableFile> inner, std::atomic<uint64_t>* counter)
      : inner_(std::move(inner)), counter_(counter) {}

  absl::Status Append(absl::string_view data) override {
    CAIRN_RETURN_IF_ERROR(inner_->Append(data));
    counter_->fetch_add(data.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    CAIRN_RETURN_IF_ERROR(inner_->WriteAt(offset, data));
    counter_->fetch_add(data.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }
  absl::Status Sync() override { return inner_->Sync(); }
  void StartWriteback(uint64_t offset, uint64_t size) override {
    inner_->StartWriteback(offset, size);
  }
  absl::Status Close() override { return inner_->Close(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<WritableFile> inner_;
  std::atomic<uint64_t>* const counter_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WritableFile>> CountingFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, inner()->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new CountingFile(std::move(file), &bytes_written_));
}

}  // namespace cairn
