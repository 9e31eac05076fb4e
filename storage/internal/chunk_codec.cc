#include "cairn/storage/internal/chunk_codec.h"

#include <zstd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "cairn/utils/checksum.h"

namespace cairn {
namespace {

// zstd contexts are costly to create; each worker thread keeps one of each.
struct ZstdContexts {
  ZstdContexts() : compress(ZSTD_createCCtx()), decompress(ZSTD_createDCtx()) {}
  ~ZstdContexts() {
    ZSTD_freeCCtx(compress);
    ZSTD_freeDCtx(decompress);
  }
  ZSTD_CCtx* compress;
  ZSTD_DCtx* decompress;
};

ZstdContexts& ThreadContexts() {
  thread_local ZstdContexts contexts;
  return contexts;
}

}  // namespace

absl::StatusOr<EncodedChunk> EncodeChunk(const void* src, DType dtype, DType stored_dtype,
                                         uint64_t count, bool compress, int level) {
  EncodedChunk chunk;
  const uint64_t raw_size = count * DTypeSize(stored_dtype);
  const char* raw = static_cast<const char*>(src);
  std::unique_ptr<char[]> cast_buffer;
  if (dtype != stored_dtype) {
    cast_buffer.reset(new char[raw_size]);
    CastElements(dtype, src, stored_dtype, cast_buffer.get(), count);
    raw = cast_buffer.get();
  }
  if (compress) {
    const size_t bound = ZSTD_compressBound(raw_size);
    chunk.buffer.reset(new char[bound]);
    const size_t size = ZSTD_compressCCtx(ThreadContexts().compress, chunk.buffer.get(), bound, raw,
                                          raw_size, level);
    if (ZSTD_isError(size)) {
      return absl::InternalError(
          absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(size)));
    }
    chunk.bytes = absl::string_view(chunk.buffer.get(), size);
  } else if (cast_buffer) {
    chunk.buffer = std::move(cast_buffer);
    chunk.bytes = absl::string_view(chunk.buffer.get(), raw_size);
  } else {
    chunk.bytes = absl::string_view(raw, raw_size);
  }
  chunk.checksum = Checksum64(chunk.bytes);
  return chunk;
}

absl::Status DecodeChunk(absl::string_view stored, bool compressed, uint64_t checksum,
                         uint64_t raw_size, char* out, const std::string& context) {
  if (Checksum64(stored) != checksum) {
    return absl::DataLossError(absl::StrCat(context, ": checksum mismatch in a chunk of ",
                                            stored.size(), " bytes; the data file is corrupt"));
  }
  if (!compressed) {
    if (stored.size() != raw_size) {
      return absl::DataLossError(
          absl::StrCat(context, ": chunk has ", stored.size(), " bytes, expected ", raw_size));
    }
    if (out != stored.data()) std::memcpy(out, stored.data(), raw_size);
    return absl::OkStatus();
  }
  const unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared != raw_size) {
    return absl::DataLossError(
        absl::StrCat(context, ": compressed chunk declares ",
                     declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR
                         ? std::string("no valid size")
                         : absl::StrCat(declared, " bytes"),
                     ", expected ", raw_size));
  }
  const size_t size =
      ZSTD_decompressDCtx(ThreadContexts().decompress, out, raw_size, stored.data(), stored.size());
  if (ZSTD_isError(size) || size != raw_size) {
    return absl::DataLossError(
        absl::StrCat(context, ": compressed chunk does not decode: ",
                     ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short output"));
  }
  return absl::OkStatus();
}

}  // namespace cairn
