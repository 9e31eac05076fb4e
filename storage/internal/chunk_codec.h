// Turns a chunk's in-memory elements into its stored bytes (cast to the stored dtype, then
// zstd-compressed) and stored bytes back into elements, checking the checksum on the way in.
#ifndef CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_
#define CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"

namespace cairn {

struct EncodedChunk {
  // The stored bytes: a view of the caller's memory when nothing had to change, else of
  // `buffer`.
  absl::string_view bytes;
  std::unique_ptr<char[]> buffer;
  uint64_t checksum = 0;
};

// Encodes `count` elements at `src`. When `dtype == stored_dtype` and `compress` is false the
// result borrows `src` (no copy) and stays valid while `src` does.
absl::StatusOr<EncodedChunk> EncodeChunk(const void* src, DType dtype, DType stored_dtype,
                                         uint64_t count, bool compress, int level);

// Checks `stored` against `checksum`, then writes the `raw_size` decoded bytes (still in the
// stored dtype) into `out`. DataLoss naming `context` (file and key path) on any mismatch.
absl::Status DecodeChunk(absl::string_view stored, bool compressed, uint64_t checksum,
                         uint64_t raw_size, char* out, const std::string& context);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_
