#include "cairn/storage/internal/chunk_codec.h"

#include <zstd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/byte_shuffle.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/status_macros.h"

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

absl::Status Decompress(absl::string_view stored, uint64_t raw_size, char* out) {
  const unsigned long long declared = ZSTD_getFrameContentSize(stored.data(), stored.size());
  if (declared != raw_size) {
    return absl::DataLossError(
        absl::StrCat("compressed chunk declares ",
                     declared == ZSTD_CONTENTSIZE_UNKNOWN || declared == ZSTD_CONTENTSIZE_ERROR
                         ? std::string("no valid size")
                         : absl::StrCat(declared, " bytes"),
                     ", expected ", raw_size));
  }
  const size_t size =
      ZSTD_decompressDCtx(ThreadContexts().decompress, out, raw_size, stored.data(), stored.size());
  if (ZSTD_isError(size) || size != raw_size) {
    return absl::DataLossError(
        absl::StrCat("compressed chunk does not decode: ",
                     ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short output"));
  }
  return absl::OkStatus();
}

}  // namespace

size_t ZstdCompressBound(size_t raw_size) { return ZSTD_compressBound(raw_size); }

absl::StatusOr<size_t> ZstdCompressInto(absl::string_view raw, int level, char* out) {
  const size_t size =
      ZSTD_compressCCtx(ThreadContexts().compress, out, ZSTD_compressBound(raw.size()), raw.data(),
                        raw.size(), level);
  if (ZSTD_isError(size)) {
    return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(size)));
  }
  return size;
}

absl::StatusOr<EncodedChunk> EncodeChunk(const void* src, DType dtype, DType stored_dtype,
                                         uint64_t count, format::Compression compression,
                                         int level) {
  EncodedChunk chunk;
  const size_t width = DTypeSize(stored_dtype);
  const uint64_t raw_size = count * width;
  const char* raw = static_cast<const char*>(src);
  std::optional<ScratchBuffer> cast;
  if (dtype != stored_dtype) {
    cast.emplace(ScratchUse::kRaw, raw_size);
    CastElements(dtype, src, stored_dtype, cast->data(), count);
    raw = cast->data();
  }
  if (compression == format::COMPRESSION_NONE) {
    chunk.bytes = absl::string_view(raw, raw_size);
    chunk.buffer = std::move(cast);
  } else {
    std::optional<ScratchBuffer> planes;
    if (compression == format::COMPRESSION_ZSTD_SHUFFLED) {
      planes.emplace(ScratchUse::kPlanes, raw_size);
      ByteShuffle(raw, width, count, planes->data());
      raw = planes->data();
    }
    const size_t bound = ZstdCompressBound(raw_size);
    ScratchBuffer out(ScratchUse::kStored, bound);
    CAIRN_ASSIGN_OR_RETURN(const size_t size,
                           ZstdCompressInto(absl::string_view(raw, raw_size), level, out.data()));
    chunk.bytes = absl::string_view(out.data(), size);
    chunk.buffer = std::move(out);
  }
  chunk.checksum = Checksum64(chunk.bytes);
  return chunk;
}

absl::Status DecodeChunk(absl::string_view stored, format::Compression compression, size_t width,
                         uint64_t checksum, uint64_t raw_size, char* out) {
  if (Checksum64(stored) != checksum) {
    return absl::DataLossError(absl::StrCat("checksum mismatch in a chunk of ", stored.size(),
                                            " bytes; the data file is corrupt"));
  }
  switch (compression) {
    case format::COMPRESSION_NONE:
      if (stored.size() != raw_size) {
        return absl::DataLossError(
            absl::StrCat("chunk has ", stored.size(), " bytes, expected ", raw_size));
      }
      if (out != stored.data()) std::memcpy(out, stored.data(), raw_size);
      return absl::OkStatus();
    case format::COMPRESSION_ZSTD:
      return Decompress(stored, raw_size, out);
    case format::COMPRESSION_ZSTD_SHUFFLED: {
      ScratchBuffer planes(ScratchUse::kPlanes, raw_size);
      absl::Status status = Decompress(stored, raw_size, planes.data());
      if (status.ok()) ByteUnshuffle(planes.data(), width, raw_size / width, out);
      return status;
    }
    default:
      return absl::DataLossError(absl::StrCat("unknown compression ", compression));
  }
}

}  // namespace cairn
