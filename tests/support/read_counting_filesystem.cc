#include "tests/support/read_counting_filesystem.h"

namespace cairn::testing {
namespace {

class CountingFile final : public ReadableFile {
 public:
  CountingFile(std::unique_ptr<ReadableFile> inner, std::atomic<int>* reads)
      : inner_(std::move(inner)), reads_(reads) {}
  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    ++*reads_;
    return inner_->ReadAt(offset, n, scratch);
  }
  absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<ReadableFile> inner_;
  std::atomic<int>* reads_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ReadableFile>> ReadCountingFilesystem::NewReadableFile(
    const std::string& path) {
  auto file = ForwardingFilesystem::NewReadableFile(path);
  if (!file.ok()) return file.status();
  return std::unique_ptr<ReadableFile>(new CountingFile(*std::move(file), &reads_));
}

}  // namespace cairn::testing
