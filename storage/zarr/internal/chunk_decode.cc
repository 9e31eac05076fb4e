#include "cairn/storage/zarr/internal/chunk_decode.h"

#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <memory>
#include <utility>

#include "absl/strings/str_cat.h"
#include "cairn/utils/crc32c.h"
#include "cairn/utils/status_macros.h"

namespace cairn::zarr_internal {
namespace {

// What an intermediate stream (between two compressors) may grow to, given what it decodes to.
uint64_t IntermediateBound(uint64_t decoded) { return decoded + decoded / 2 + 4096; }

absl::Status SizeMismatch(absl::string_view codec, uint64_t got, bool more, uint64_t expected) {
  return absl::DataLossError(absl::StrCat(codec, " stream decodes to ", more ? "more than " : "",
                                          got, " bytes where ", expected, " were expected"));
}

// Checks the crc32c at the end of `bytes` and takes it off.
absl::Status CheckCrc32c(absl::string_view* bytes) {
  if (bytes->size() < 4) {
    return absl::DataLossError(
        absl::StrCat("crc32c: ", bytes->size(), " bytes, too short to hold a checksum"));
  }
  const size_t body = bytes->size() - 4;
  uint32_t want = 0;
  for (int b = 0; b < 4; ++b) {
    want |= static_cast<uint32_t>(static_cast<uint8_t>((*bytes)[body + b])) << (8 * b);
  }
  const uint32_t got = Crc32c(bytes->data(), body);
  if (got != want) {
    return absl::DataLossError(
        absl::StrCat("crc32c mismatch: the data has ", got, ", the checksum says ", want));
  }
  bytes->remove_suffix(4);
  return absl::OkStatus();
}

}  // namespace

// Both decoders write into room for one byte more than expected: a stream that fills it is
// longer than it may be, and is refused without decoding the rest.

// One zstd context per thread: creating one per chunk costs more than decoding a small chunk.
ZSTD_DCtx* ThreadZstdContext() {
  thread_local std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> context(ZSTD_createDCtx(),
                                                                          ZSTD_freeDCtx);
  return context.get();
}

absl::StatusOr<uint64_t> ZstdDecodeInto(absl::string_view in, char* out, uint64_t capacity) {
  const unsigned long long claimed = ZSTD_getFrameContentSize(in.data(), in.size());
  if (claimed != ZSTD_CONTENTSIZE_UNKNOWN && claimed != ZSTD_CONTENTSIZE_ERROR &&
      claimed > capacity) {
    return SizeMismatch("zstd", claimed, false, capacity);
  }
  ZSTD_DCtx* stream = ThreadZstdContext();
  if (stream == nullptr) return absl::ResourceExhaustedError("cannot create a zstd stream");
  ZSTD_DCtx_reset(stream, ZSTD_reset_session_only);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  ZSTD_outBuffer output{out, capacity, 0};
  // Once `out` is full, one more byte of room: a stream that fills it is too long.
  char extra;
  ZSTD_outBuffer spill{&extra, 1, 0};
  size_t pending = 1;
  while (true) {
    ZSTD_outBuffer* to = output.pos < output.size ? &output : &spill;
    const size_t in_before = input.pos, out_before = to->pos;
    pending = ZSTD_decompressStream(stream, to, &input);
    if (ZSTD_isError(pending)) {
      return absl::DataLossError(absl::StrCat("zstd: ", ZSTD_getErrorName(pending)));
    }
    if (spill.pos > 0) return SizeMismatch("zstd", capacity, true, capacity);
    if (input.pos == input.size && pending == 0) break;
    if (input.pos == in_before && to->pos == out_before) break;
  }
  if (pending != 0) {
    return absl::DataLossError(
        absl::StrCat("zstd stream is truncated after ", output.pos, " decoded bytes"));
  }
  return output.pos;
}

absl::StatusOr<std::string> ZstdDecode(absl::string_view in, uint64_t expected, bool exact) {
  std::string out(expected, '\0');
  CAIRN_ASSIGN_OR_RETURN(const uint64_t got, ZstdDecodeInto(in, out.data(), expected));
  if (exact && got != expected) return SizeMismatch("zstd", got, false, expected);
  out.resize(got);
  return out;
}

absl::StatusOr<std::string> InflateDecode(absl::string_view in, bool gzip, uint64_t expected,
                                          bool exact) {
  const char* name = gzip ? "gzip" : "zlib";
  z_stream stream{};
  if (inflateInit2(&stream, gzip ? 16 + MAX_WBITS : MAX_WBITS) != Z_OK) {
    return absl::ResourceExhaustedError(absl::StrCat("cannot create a ", name, " stream"));
  }
  std::string out(expected + 1, '\0');
  size_t in_pos = 0, out_pos = 0;
  bool ended = false;
  absl::Status status;
  while (true) {
    // zlib counts in unsigned int: give it at most that much at a time.
    stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data() + in_pos));
    stream.avail_in = static_cast<uInt>(std::min<size_t>(in.size() - in_pos, UINT_MAX));
    stream.next_out = reinterpret_cast<Bytef*>(out.data() + out_pos);
    stream.avail_out = static_cast<uInt>(std::min<size_t>(out.size() - out_pos, UINT_MAX));
    const uInt avail_in = stream.avail_in, avail_out = stream.avail_out;
    const int rc = inflate(&stream, Z_NO_FLUSH);
    in_pos += avail_in - stream.avail_in;
    out_pos += avail_out - stream.avail_out;
    if (out_pos > expected) {
      status = SizeMismatch(name, expected, true, expected);
      break;
    }
    if (rc == Z_STREAM_END) {
      ended = true;
      // gzip allows members one after another.
      if (!gzip || in_pos == in.size()) break;
      if (inflateReset(&stream) != Z_OK) {
        status = absl::DataLossError("gzip: cannot start the next member");
        break;
      }
      ended = false;
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      status = absl::DataLossError(
          absl::StrCat(name, ": ", stream.msg != nullptr ? stream.msg : "damaged stream"));
      break;
    }
    if (avail_in == stream.avail_in && avail_out == stream.avail_out) break;  // no progress
  }
  inflateEnd(&stream);
  CAIRN_RETURN_IF_ERROR(status);
  if (!ended) {
    return absl::DataLossError(
        absl::StrCat(name, " stream is truncated after ", out_pos, " decoded bytes"));
  }
  if (exact && out_pos != expected) return SizeMismatch(name, out_pos, false, expected);
  out.resize(out_pos);
  return out;
}

absl::StatusOr<std::string> DecodeBytes(const std::vector<BytesCodec>& codecs, std::string stored,
                                        uint64_t decoded_size) {
  // What each codec's decoding must produce is known exactly from the array's end up to the
  // first compressor; past it, only a bound.
  std::vector<uint64_t> sizes(codecs.size());
  std::vector<bool> exact(codecs.size());
  uint64_t size = decoded_size;
  bool known = true;
  for (size_t i = 0; i < codecs.size(); ++i) {
    sizes[i] = size;
    exact[i] = known;
    if (codecs[i] == BytesCodec::kCrc32c) {
      size += 4;
    } else {
      known = false;
      size = IntermediateBound(size);
    }
  }
  for (size_t i = codecs.size(); i > 0; --i) {
    const BytesCodec codec = codecs[i - 1];
    switch (codec) {
      case BytesCodec::kCrc32c: {
        absl::string_view body = stored;
        CAIRN_RETURN_IF_ERROR(CheckCrc32c(&body));
        stored.resize(body.size());
        break;
      }
      case BytesCodec::kZstd: {
        CAIRN_ASSIGN_OR_RETURN(stored, ZstdDecode(stored, sizes[i - 1], exact[i - 1]));
        break;
      }
      case BytesCodec::kGzip:
      case BytesCodec::kZlib: {
        CAIRN_ASSIGN_OR_RETURN(
            stored, InflateDecode(stored, codec == BytesCodec::kGzip, sizes[i - 1], exact[i - 1]));
        break;
      }
    }
  }
  if (stored.size() != decoded_size) {
    return absl::DataLossError(absl::StrCat("chunk holds ", stored.size(), " bytes where ",
                                            decoded_size, " were expected"));
  }
  return stored;
}

absl::Status DecodeBytesInto(const std::vector<BytesCodec>& codecs, absl::string_view stored,
                             uint64_t decoded_size, char* out) {
  // Checksums last in encoding order are checked where the bytes are.
  size_t n = codecs.size();
  for (; n > 0 && codecs[n - 1] == BytesCodec::kCrc32c; --n) {
    CAIRN_RETURN_IF_ERROR(CheckCrc32c(&stored));
  }
  if (n == 0) {
    if (stored.size() != decoded_size) {
      return absl::DataLossError(absl::StrCat("chunk holds ", stored.size(), " bytes where ",
                                              decoded_size, " were expected"));
    }
    if (out != stored.data() && decoded_size > 0) std::memcpy(out, stored.data(), decoded_size);
    return absl::OkStatus();
  }
  if (n == 1 && codecs[0] == BytesCodec::kZstd) {
    CAIRN_ASSIGN_OR_RETURN(const uint64_t got, ZstdDecodeInto(stored, out, decoded_size));
    if (got != decoded_size) return SizeMismatch("zstd", got, false, decoded_size);
    return absl::OkStatus();
  }
  const std::vector<BytesCodec> rest(codecs.begin(), codecs.begin() + n);
  CAIRN_ASSIGN_OR_RETURN(std::string decoded, DecodeBytes(rest, std::string(stored), decoded_size));
  if (decoded_size > 0) std::memcpy(out, decoded.data(), decoded_size);
  return absl::OkStatus();
}

uint64_t StoredSizeBound(const std::vector<BytesCodec>& codecs, uint64_t decoded_size) {
  uint64_t size = decoded_size;
  for (BytesCodec codec : codecs) {
    size = codec == BytesCodec::kCrc32c ? size + 4 : IntermediateBound(size);
  }
  return size;
}

void SwapElementBytes(DType dtype, char* data, uint64_t count) {
  size_t size = DTypeSize(dtype);
  if (IsComplex(dtype)) {
    size /= 2;
    count *= 2;
  }
  if (size == 1) return;
  for (uint64_t i = 0; i < count; ++i) std::reverse(data + i * size, data + (i + 1) * size);
}

bool IsNativeLayout(const CodecChain& chain, DType dtype) {
  const size_t element = IsComplex(dtype) ? DTypeSize(dtype) / 2 : DTypeSize(dtype);
  if (chain.big_endian && element > 1) return false;
  for (size_t i = 0; i < chain.transpose.size(); ++i) {
    if (chain.transpose[i] != static_cast<int>(i)) return false;
  }
  return true;
}

void ToNativeLayout(const CodecChain& chain, DType dtype, const Shape& chunk_shape, char* bytes,
                    uint64_t size_in_bytes) {
  const uint64_t count = size_in_bytes / DTypeSize(dtype);
  if (chain.big_endian) SwapElementBytes(dtype, bytes, count);
  const std::vector<int>& perm = chain.transpose;
  bool identity = true;
  for (size_t i = 0; i < perm.size(); ++i) identity = identity && perm[i] == static_cast<int>(i);
  if (identity || count == 0) return;
  // Stored dimension i is chunk dimension perm[i]: walk the stored elements in order and put
  // each where its chunk index says.
  const size_t rank = chunk_shape.size();
  const size_t size = DTypeSize(dtype);
  std::vector<uint64_t> chunk_stride(rank, 1);
  for (size_t d = rank - 1; d > 0; --d) {
    chunk_stride[d - 1] = chunk_stride[d] * static_cast<uint64_t>(chunk_shape[d]);
  }
  std::vector<uint64_t> step(rank), extent(rank), index(rank, 0);
  for (size_t i = 0; i < rank; ++i) {
    step[i] = chunk_stride[perm[i]];
    extent[i] = static_cast<uint64_t>(chunk_shape[perm[i]]);
  }
  std::string out(size_in_bytes, '\0');
  uint64_t target = 0;
  for (uint64_t n = 0; n < count; ++n) {
    std::memcpy(out.data() + target * size, bytes + n * size, size);
    for (size_t i = rank; i > 0; --i) {
      if (++index[i - 1] < extent[i - 1]) {
        target += step[i - 1];
        break;
      }
      target -= (extent[i - 1] - 1) * step[i - 1];
      index[i - 1] = 0;
    }
  }
  std::memcpy(bytes, out.data(), size_in_bytes);
}

}  // namespace cairn::zarr_internal
