// Writes the B+tree of one database generation bottom-up from its sorted keys: leaves, then
// levels of interior nodes until one node is left, the root. Nodes are cut at a target size
// (an upper bound of the decoded body, never above the configuration's max_decoded_node_bytes)
// and given the common prefix of their keys, as the format allows every node but the root.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_WRITER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_WRITER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/storage/ocdbt/internal/data_file_table.h"
#include "cairn/storage/ocdbt/internal/data_file_writer.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"

namespace cairn::ocdbt_internal {

// One key of the tree, its value inline or already in a data file.
struct KeyToWrite {
  std::string key;  // whole
  bool inline_value = true;
  std::string value;                 // when inline_value
  const DataFileId* file = nullptr;  // otherwise; must outlive WriteBtree
  uint64_t offset = 0;
  uint64_t length = 0;
};

// A tree as the manifest names it: its generation reference (the root's location indexes a
// table holding `root_file` alone) and the root's file.
struct WrittenTree {
  GenerationReference reference;  // version.generation and commit time left for the caller
  DataFileId root_file;           // empty for an empty tree
};

// Writes the tree of `keys` (strictly increasing) through `files`. An empty `keys` is an empty
// tree. InvalidArgument when one entry alone exceeds max_decoded_node_bytes.
absl::StatusOr<WrittenTree> WriteBtree(std::vector<KeyToWrite> keys, const OcdbtConfig& config,
                                       uint64_t target_node_bytes, DataFileWriter& files);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_BTREE_WRITER_H_
