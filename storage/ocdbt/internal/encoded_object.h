// The framing every OCDBT object shares (manifest, version tree node, B+tree node): a magic
// number, the total length, a format version and a compression byte, then the body, then a
// CRC-32C of everything before it. Unframing checks all of it and decompresses the body; framing
// is its inverse, for the writer.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_ENCODED_OBJECT_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_ENCODED_OBJECT_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"

namespace cairn::ocdbt_internal {

inline constexpr uint32_t kManifestMagic = 0x0cdb3a2a;
inline constexpr uint32_t kVersionTreeNodeMagic = 0x0cdb1234;
inline constexpr uint32_t kBtreeNodeMagic = 0x0cdb20de;

// Smallest framed object: magic, length, version, compression and the checksum.
inline constexpr size_t kMinEncodedObjectSize = 4 + 8 + 1 + 1 + 4;

// The body of `encoded`, decompressed. DataLoss when the magic, length, version, compression or
// checksum is wrong, or when the body decodes to more than `max_body_bytes`.
absl::StatusOr<std::string> DecodeEncodedObject(absl::string_view encoded, uint32_t magic,
                                                uint64_t max_body_bytes);

// `body` framed as an object of kind `magic`: compressed as one zstd frame at `zstd_level` when
// `compression` is kZstd. Internal when zstd fails (it can only run out of memory).
absl::StatusOr<std::string> EncodeEncodedObject(uint32_t magic, absl::string_view body,
                                                OcdbtConfig::Compression compression,
                                                int32_t zstd_level);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_ENCODED_OBJECT_H_
