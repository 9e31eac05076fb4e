// A Filesystem wrapper that counts reads (ReadAt calls) of files opened through it, so that
// tests can hold a lookup to reading only the nodes on its path.
#ifndef CAIRN_TESTS_SUPPORT_READ_COUNTING_FILESYSTEM_H_
#define CAIRN_TESTS_SUPPORT_READ_COUNTING_FILESYSTEM_H_

#include <atomic>
#include <memory>
#include <string>

#include "cairn/utils/forwarding_filesystem.h"

namespace cairn::testing {

class ReadCountingFilesystem final : public ForwardingFilesystem {
 public:
  explicit ReadCountingFilesystem(Filesystem* inner) : ForwardingFilesystem(inner) {}

  int reads() const { return reads_.load(); }
  void Reset() { reads_ = 0; }

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override;

 private:
  std::atomic<int> reads_{0};
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_READ_COUNTING_FILESYSTEM_H_
