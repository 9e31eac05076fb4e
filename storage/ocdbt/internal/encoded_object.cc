#include "cairn/storage/ocdbt/internal/encoded_object.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/storage/ocdbt/internal/byte_reader.h"
#include "cairn/storage/ocdbt/internal/byte_writer.h"
#include "cairn/utils/crc32c.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

struct DctxDeleter {
  void operator()(ZSTD_DCtx* dctx) const { ZSTD_freeDCtx(dctx); }
};

// Streams the frames of `compressed` into a string that may never grow past `max_bytes`: frames
// need not declare their content size, and a declared size is not trusted for allocation.
absl::StatusOr<std::string> DecompressBounded(absl::string_view compressed, uint64_t max_bytes) {
  std::unique_ptr<ZSTD_DCtx, DctxDeleter> dctx(ZSTD_createDCtx());
  if (dctx == nullptr) return absl::ResourceExhaustedError("cannot create a zstd context");
  std::string out;
  unsigned long long declared = ZSTD_getFrameContentSize(compressed.data(), compressed.size());
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != ZSTD_CONTENTSIZE_ERROR) {
    if (declared > max_bytes) {
      return absl::DataLossError(absl::StrCat("compressed body declares ", declared,
                                              " bytes, more than the limit of ", max_bytes));
    }
    out.reserve(declared);
  }
  ZSTD_inBuffer in{compressed.data(), compressed.size(), 0};
  char chunk[16384];
  while (true) {
    ZSTD_outBuffer piece{chunk, sizeof(chunk), 0};
    size_t pending = ZSTD_decompressStream(dctx.get(), &piece, &in);
    if (ZSTD_isError(pending)) {
      return absl::DataLossError(absl::StrCat("corrupt zstd body: ", ZSTD_getErrorName(pending)));
    }
    if (out.size() + piece.pos > max_bytes) {
      return absl::DataLossError(
          absl::StrCat("compressed body decodes to more than the limit of ", max_bytes, " bytes"));
    }
    out.append(chunk, piece.pos);
    // With all input taken and room left in the output, the decoder has nothing more to give.
    if (in.pos == in.size && piece.pos < piece.size) {
      if (pending != 0) return absl::DataLossError("truncated zstd body");
      break;
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::string> DecodeEncodedObject(absl::string_view encoded, uint32_t magic,
                                                uint64_t max_body_bytes) {
  if (encoded.size() < kMinEncodedObjectSize) {
    return absl::DataLossError(absl::StrCat("encoded object of ", encoded.size(),
                                            " bytes is shorter than the minimum of ",
                                            kMinEncodedObjectSize));
  }
  ByteReader header(encoded);
  uint8_t magic_bytes[4];
  for (uint8_t& b : magic_bytes) CAIRN_RETURN_IF_ERROR(header.ReadByte(&b, "magic"));
  uint32_t found_magic = (uint32_t{magic_bytes[0]} << 24) | (uint32_t{magic_bytes[1]} << 16) |
                         (uint32_t{magic_bytes[2]} << 8) | magic_bytes[3];
  if (found_magic != magic) {
    return absl::DataLossError(
        absl::StrFormat("expected magic 0x%08x, found 0x%08x", magic, found_magic));
  }
  uint64_t length;
  CAIRN_RETURN_IF_ERROR(header.ReadLittleEndian64(&length, "length"));
  if (length != encoded.size()) {
    return absl::DataLossError(
        absl::StrCat("header length ", length, " differs from the object's size ", encoded.size()));
  }
  const size_t covered = encoded.size() - 4;
  ByteReader footer(encoded.substr(covered));
  uint32_t stored_crc;
  CAIRN_RETURN_IF_ERROR(footer.ReadLittleEndian32(&stored_crc, "checksum"));
  uint32_t actual_crc = Crc32c(encoded.data(), covered);
  if (stored_crc != actual_crc) {
    return absl::DataLossError(absl::StrFormat("CRC-32C mismatch: stored 0x%08x, computed 0x%08x",
                                               stored_crc, actual_crc));
  }
  ByteReader prefix(encoded.substr(12, covered - 12));
  uint64_t version;
  CAIRN_RETURN_IF_ERROR(prefix.ReadVarint(&version, "format version", 0xFFFFFFFF));
  if (version != 0) {
    return absl::DataLossError(absl::StrCat("unsupported format version ", version));
  }
  uint64_t compression;
  CAIRN_RETURN_IF_ERROR(prefix.ReadVarint(&compression, "compression format", 0xFFFFFFFF));
  absl::string_view body = encoded.substr(12 + prefix.position(), prefix.remaining());
  switch (compression) {
    case 0:
      if (body.size() > max_body_bytes) {
        return absl::DataLossError(
            absl::StrCat("body of ", body.size(), " bytes exceeds the limit of ", max_body_bytes));
      }
      return std::string(body);
    case 1:
      return DecompressBounded(body, max_body_bytes);
    default:
      return absl::DataLossError(absl::StrCat("unknown compression format ", compression));
  }
}

absl::StatusOr<std::string> EncodeEncodedObject(uint32_t magic, absl::string_view body,
                                                OcdbtConfig::Compression compression,
                                                int32_t zstd_level) {
  std::string out;
  // The magic is the one big-endian field.
  for (int shift = 24; shift >= 0; shift -= 8)
    AppendByte(&out, static_cast<uint8_t>(magic >> shift));
  AppendLittleEndian(&out, 0, 8);  // the length, known once the body is in
  AppendVarint(&out, 0);           // format version
  if (compression == OcdbtConfig::Compression::kZstd) {
    AppendVarint(&out, 1);
    const size_t start = out.size();
    out.resize(start + ZSTD_compressBound(body.size()));
    size_t n =
        ZSTD_compress(out.data() + start, out.size() - start, body.data(), body.size(), zstd_level);
    if (ZSTD_isError(n)) {
      return absl::InternalError(absl::StrCat("zstd compression failed: ", ZSTD_getErrorName(n)));
    }
    out.resize(start + n);
  } else {
    AppendVarint(&out, 0);
    out.append(body.data(), body.size());
  }
  std::string length;
  AppendLittleEndian(&length, out.size() + 4, 8);
  out.replace(4, 8, length);
  AppendLittleEndian(&out, Crc32c(out), 4);
  return out;
}

}  // namespace cairn::ocdbt_internal
