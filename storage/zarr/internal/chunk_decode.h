// Decoding one stored zarr chunk into native elements: undoing the bytes-to-bytes codecs (zstd,
// gzip, zlib, crc32c) with every output bounded by the size the chunk must have, then the byte
// order and the transpose. Errors say what is wrong; the caller adds the key.
#ifndef CAIRN_STORAGE_ZARR_INTERNAL_CHUNK_DECODE_H_
#define CAIRN_STORAGE_ZARR_INTERNAL_CHUNK_DECODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"
#include "cairn/storage/zarr/internal/zarr_spec.h"

namespace cairn::zarr_internal {

// Undoes `codecs` (listed in encoding order) on `stored`. The result must be exactly
// `decoded_size` bytes: a stream that decodes to more or fewer is DataLoss, found without
// producing more than the expected bytes. A crc32c mismatch is DataLoss.
absl::StatusOr<std::string> DecodeBytes(const std::vector<BytesCodec>& codecs, std::string stored,
                                        uint64_t decoded_size);

// The same, written to `out` (which holds `decoded_size` bytes) from bytes the caller holds: a
// chunk decoded straight into the memory it is loaded into. `out` may be `stored.data()` when
// there is nothing to undo but checksums. `out` may be partly written when it fails.
absl::Status DecodeBytesInto(const std::vector<BytesCodec>& codecs, absl::string_view stored,
                             uint64_t decoded_size, char* out);

// The most bytes a chunk that decodes to `decoded_size` bytes through `codecs` can be stored in
// by any compressor's worst case; a longer one is read as it is, without a scratch buffer.
uint64_t StoredSizeBound(const std::vector<BytesCodec>& codecs, uint64_t decoded_size);

// The whole of a zstd stream (one or more frames, with or without a content size), which must
// decode to exactly `expected` bytes when `exact`, or at most `expected` otherwise.
absl::StatusOr<std::string> ZstdDecode(absl::string_view in, uint64_t expected, bool exact);
// The same into `out` (room for `capacity` bytes); returns the bytes decoded. A stream that
// decodes to more is DataLoss, found without writing past `capacity`.
absl::StatusOr<uint64_t> ZstdDecodeInto(absl::string_view in, char* out, uint64_t capacity);
// The same for a zlib stream, or with `gzip` one or more gzip members.
absl::StatusOr<std::string> InflateDecode(absl::string_view in, bool gzip, uint64_t expected,
                                          bool exact);

// Whether ToNativeLayout leaves the bytes of `dtype` under `chain` as they are.
bool IsNativeLayout(const CodecChain& chain, DType dtype);
// Turns the `size` serialized bytes of a chunk of `chunk_shape` (byte order and dimension order
// as `chain` says) into native little-endian row-major elements, in place.
void ToNativeLayout(const CodecChain& chain, DType dtype, const Shape& chunk_shape, char* bytes,
                    uint64_t size);

// Swaps the bytes of each of `count` elements of `dtype` (each part of a complex one).
void SwapElementBytes(DType dtype, char* data, uint64_t count);

}  // namespace cairn::zarr_internal

#endif  // CAIRN_STORAGE_ZARR_INTERNAL_CHUNK_DECODE_H_
