// What an OCDBT database's manifest says about it: its configuration and its versions
// (generations). Read by storage/ocdbt/ocdbt_reader.h; docs/OCDBT.md describes the encoding.
#ifndef CAIRN_STORAGE_OCDBT_OCDBT_TYPES_H_
#define CAIRN_STORAGE_OCDBT_OCDBT_TYPES_H_

#include <array>
#include <cstdint>

namespace cairn {

struct OcdbtConfig {
  enum class ManifestKind : uint8_t { kSingle = 0, kNumbered = 1 };
  enum class Compression : uint8_t { kNone = 0, kZstd = 1 };

  std::array<uint8_t, 16> uuid{};
  ManifestKind manifest_kind = ManifestKind::kSingle;
  uint32_t max_inline_value_bytes = 0;
  uint32_t max_decoded_node_bytes = 0;
  uint8_t version_tree_arity_log2 = 0;
  Compression compression = Compression::kNone;
  int32_t zstd_level = 0;  // meaningful with kZstd: the level writers use

  bool operator==(const OcdbtConfig& other) const {
    return uuid == other.uuid && manifest_kind == other.manifest_kind &&
           max_inline_value_bytes == other.max_inline_value_bytes &&
           max_decoded_node_bytes == other.max_decoded_node_bytes &&
           version_tree_arity_log2 == other.version_tree_arity_log2 &&
           compression == other.compression && zstd_level == other.zstd_level;
  }
  bool operator!=(const OcdbtConfig& other) const { return !(*this == other); }
};

// One generation of the database: the root of its B+tree and the statistics recorded with it.
struct OcdbtVersion {
  uint64_t generation = 0;
  uint64_t commit_time_nanos = 0;  // since the Unix epoch
  uint8_t root_height = 0;
  bool empty = false;  // no B+tree at all: no keys
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_OCDBT_OCDBT_TYPES_H_
