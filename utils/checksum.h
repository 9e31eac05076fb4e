// The checksum cairn stores with every chunk, index and committed file: XXH3, 64 bits, seed 0.
#ifndef CAIRN_UTILS_CHECKSUM_H_
#define CAIRN_UTILS_CHECKSUM_H_

#include <cstddef>
#include <cstdint>
#include <memory>

#include "absl/strings/string_view.h"

namespace cairn {

uint64_t Checksum64(const void* data, size_t size);
inline uint64_t Checksum64(absl::string_view data) { return Checksum64(data.data(), data.size()); }

// Checksum64 of data that arrives in pieces: the digest of the concatenation.
class StreamingChecksum64 {
 public:
  StreamingChecksum64();
  ~StreamingChecksum64();
  StreamingChecksum64(const StreamingChecksum64&) = delete;
  StreamingChecksum64& operator=(const StreamingChecksum64&) = delete;

  void Update(absl::string_view data);
  uint64_t Digest() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// What a commit records of a file it vouches for.
struct FileDigest {
  uint64_t size = 0;
  uint64_t checksum = 0;  // Checksum64 of the whole file

  bool operator==(const FileDigest& other) const {
    return size == other.size && checksum == other.checksum;
  }
};

}  // namespace cairn

#endif  // CAIRN_UTILS_CHECKSUM_H_
