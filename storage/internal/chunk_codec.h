// Turns a chunk's in-memory elements into its stored bytes (cast to the stored dtype, byte
// shuffled, zstd-compressed, as its leaf says) and stored bytes back into elements, checking
// the checksum on the way in.
#ifndef CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_
#define CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/scratch_buffer.h"

namespace cairn {

struct EncodedChunk {
  // The stored bytes: a view of the caller's memory when nothing had to change, else of the
  // calling thread's scratch memory (held by `buffer`).
  absl::string_view bytes;
  std::optional<ScratchBuffer> buffer;
  uint64_t checksum = 0;
};

// Encodes `count` elements at `src`. The result is valid until the calling thread's next
// EncodeChunk, and, when it borrows `src` (same dtype, no compression), while `src` is.
absl::StatusOr<EncodedChunk> EncodeChunk(const void* src, DType dtype, DType stored_dtype,
                                         uint64_t count, format::Compression compression,
                                         int level);

// One zstd frame of `raw` at `level`, recording its size and without a checksum, written to
// `out`, which holds ZstdCompressBound(raw.size()) bytes; returns the frame's size. It uses the
// calling thread's context.
size_t ZstdCompressBound(size_t raw_size);
absl::StatusOr<size_t> ZstdCompressInto(absl::string_view raw, int level, char* out);

// Checks `stored` against `checksum`, then writes the `raw_size` decoded bytes (elements of
// `width` bytes in the stored dtype, in order) into `out`, which may be `stored` itself when
// uncompressed. DataLoss on any mismatch, for the caller to say which file and array it is.
absl::Status DecodeChunk(absl::string_view stored, format::Compression compression, size_t width,
                         uint64_t checksum, uint64_t raw_size, char* out);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_CHUNK_CODEC_H_
