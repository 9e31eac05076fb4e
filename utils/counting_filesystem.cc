#include "cairn/utils/counting_filesystem.h"

#include <utility>

#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class CountingFile final : public ForwardingWritableFile {
 public:
  CountingFile(std::unique_ptr<WritableFile> inner, std::atomic<uint64_t>* counter)
      : ForwardingWritableFile(std::move(inner)), counter_(counter) {}

  absl::Status Append(absl::string_view data) override {
    CAIRN_RETURN_IF_ERROR(inner()->Append(data));
    counter_->fetch_add(data.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    CAIRN_RETURN_IF_ERROR(inner()->WriteAt(offset, data));
    counter_->fetch_add(data.size(), std::memory_order_relaxed);
    return absl::OkStatus();
  }

 private:
  std::atomic<uint64_t>* const counter_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<WritableFile>> CountingFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, inner()->NewWritableFile(path));
  return std::unique_ptr<WritableFile>(new CountingFile(std::move(file), &bytes_written_));
}

}  // namespace cairn
