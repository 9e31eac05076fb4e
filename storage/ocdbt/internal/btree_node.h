// OCDBT B+tree nodes, decoded and encoded: leaves map keys to values (inline, or a byte range of
// a data file), interior nodes map the first key of each child to where the child is stored.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_NODE_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_NODE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/internal/data_file_table.h"

namespace cairn::ocdbt_internal {

inline constexpr size_t kMaxKeyLength = 65535;
inline constexpr size_t kMaxNodeArity = size_t{1} << 20;
inline constexpr size_t kMaxInlineValueLength = size_t{1} << 20;

// Keys in a node are relative: the path from the root supplies the prefix they lack.
struct BtreeLeafEntry {
  std::string key;
  bool inline_value = true;
  std::string value;       // when inline_value
  DataReference location;  // otherwise; location.length is the value's length
};

struct BtreeInteriorEntry {
  std::string key;  // the child's smallest key is at least this
  // How much of `key` every key below the child starts with: it becomes the child's prefix.
  size_t subtree_common_prefix_length = 0;
  DataReference location;
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
};

struct BtreeNode {
  uint8_t height = 0;
  std::vector<DataFileId> files;
  std::vector<BtreeLeafEntry> leaves;        // height 0, keys strictly increasing
  std::vector<BtreeInteriorEntry> children;  // height > 0, keys strictly increasing
};

// `encoded` is the node's byte range; `transitive_path` the base path of the file it came from;
// a body that decodes to more than `max_decoded_bytes` is DataLoss.
absl::StatusOr<BtreeNode> DecodeBtreeNode(absl::string_view encoded,
                                          absl::string_view transitive_path,
                                          uint64_t max_decoded_bytes);

// The unframed body of `node`, the inverse of DecodeBtreeNode: `node.files` is written as given
// (base paths relative to the file the node will be in), keys as given (relative to the node's
// prefix, strictly increasing).
std::string EncodeBtreeNodeBody(const BtreeNode& node);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_NODE_H_
