// A Filesystem wrapper that counts the bytes written through it, so that a save can report how
// much it wrote (data, indexes and metadata alike) without each writer keeping its own tally.
#ifndef CAIRN_UTILS_COUNTING_FILESYSTEM_H_
#define CAIRN_UTILS_COUNTING_FILESYSTEM_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "cairn/utils/forwarding_filesystem.h"

namespace cairn {

class CountingFilesystem final : public ForwardingFilesystem {
 public:
  explicit CountingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  // Bytes successfully written through files opened here.
  uint64_t bytes_written() const { return bytes_written_.load(std::memory_order_relaxed); }

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override;

 private:
  std::atomic<uint64_t> bytes_written_{0};
};

}  // namespace cairn

#endif  // CAIRN_UTILS_COUNTING_FILESYSTEM_H_
