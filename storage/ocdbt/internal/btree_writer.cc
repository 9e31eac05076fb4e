#include "cairn/storage/ocdbt/internal/btree_writer.h"

#include <algorithm>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/functional/function_ref.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/byte_writer.h"
#include "cairn/storage/ocdbt/internal/encoded_object.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

// Bounds of what a node's body takes besides its entries: height, entry count (at most 2^20:
// 3 varint bytes) and file count; then per data file its three path lengths (paths are at most
// 65535 bytes: 3 varint bytes each) and its path.
constexpr size_t kNodeFixedBytes = 1 + 3 + 3;
constexpr size_t kFileIndexBytes = 3;  // a node names fewer files than it has entries
size_t FileBytes(const DataFileId& file) {
  return 9 + file.base_path.size() + file.relative_path.size();
}

size_t SharedPrefix(absl::string_view a, absl::string_view b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// The bytes a key takes in a node, when it shares `shared` bytes with the key before it. Keys in
// a node lose its prefix, which only shortens them: whole keys give an upper bound.
size_t KeyBytes(absl::string_view key, size_t shared) {
  return VarintLength(shared) + VarintLength(key.size() - shared) + (key.size() - shared);
}

// A node written: what its parent's entry for it says.
struct WrittenNode {
  std::string first_key;  // whole
  std::string prefix;     // whole; every key below starts with it
  const DataFileId* file = nullptr;
  uint64_t offset = 0;
  uint64_t length = 0;
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
};

// Cuts `n` entries into runs [begin, end) whose bodies stay within `budget` bytes by the bounds
// above and within the format's arity. A run holds at least one entry whatever its size.
std::vector<std::pair<size_t, size_t>> Partition(
    size_t n, absl::FunctionRef<absl::string_view(size_t)> key_of,
    absl::FunctionRef<size_t(size_t, size_t)> entry_bytes,
    absl::FunctionRef<const DataFileId*(size_t)> file_of, uint64_t budget) {
  std::vector<std::pair<size_t, size_t>> runs;
  absl::flat_hash_set<const DataFileId*> files;
  size_t begin = 0;
  uint64_t used = kNodeFixedBytes;
  auto cost = [&](size_t i, size_t shared) {
    const DataFileId* file = file_of(i);
    size_t bytes = entry_bytes(i, shared);
    if (file != nullptr && !files.contains(file)) bytes += FileBytes(*file);
    return bytes;
  };
  for (size_t i = 0; i < n; ++i) {
    size_t bytes = cost(i, i == begin ? 0 : SharedPrefix(key_of(i - 1), key_of(i)));
    if (i > begin && (used + bytes > budget || i - begin == kMaxNodeArity)) {
      runs.emplace_back(begin, i);
      begin = i;
      used = kNodeFixedBytes;
      files.clear();
      bytes = cost(i, 0);
    }
    used += bytes;
    if (const DataFileId* file = file_of(i)) files.insert(file);
  }
  if (n > begin) runs.emplace_back(begin, n);
  return runs;
}

// The table of the distinct files of `pointers`, sorted, and each pointer's index into it.
std::vector<DataFileId> BuildTable(std::vector<const DataFileId*> pointers,
                                   absl::flat_hash_map<const DataFileId*, uint64_t>* index) {
  std::sort(pointers.begin(), pointers.end(),
            [](const DataFileId* a, const DataFileId* b) { return DataFileIdLess(*a, *b); });
  std::vector<DataFileId> table;
  for (const DataFileId* file : pointers) {
    if (table.empty() || DataFileIdLess(table.back(), *file)) table.push_back(*file);
    (*index)[file] = table.size() - 1;
  }
  return table;
}

class TreeWriter {
 public:
  TreeWriter(const OcdbtConfig& config, uint64_t target_node_bytes, DataFileWriter& files)
      : config_(config), files_(files) {
    budget_ = target_node_bytes;
    if (config.max_decoded_node_bytes != 0) {
      budget_ = std::min<uint64_t>(budget_, config.max_decoded_node_bytes);
    }
  }

  absl::StatusOr<std::vector<WrittenNode>> WriteLeaves(const std::vector<KeyToWrite>& keys);
  absl::StatusOr<std::vector<WrittenNode>> WriteInteriorLevel(
      const std::vector<WrittenNode>& children, uint8_t height);

 private:
  // Frames and writes `node`, whose body must fit max_decoded_node_bytes.
  absl::Status WriteNode(const BtreeNode& node, absl::string_view first_key, WrittenNode* out);

  const OcdbtConfig& config_;
  DataFileWriter& files_;
  uint64_t budget_ = 0;
};

absl::Status TreeWriter::WriteNode(const BtreeNode& node, absl::string_view first_key,
                                   WrittenNode* out) {
  const std::string body = EncodeBtreeNodeBody(node);
  if (config_.max_decoded_node_bytes != 0 && body.size() > config_.max_decoded_node_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the B+tree node starting at key \"", first_key, "\" takes ", body.size(),
        " bytes, more than max_decoded_node_bytes = ", config_.max_decoded_node_bytes));
  }
  CAIRN_ASSIGN_OR_RETURN(
      std::string encoded,
      EncodeEncodedObject(kBtreeNodeMagic, body, config_.compression, config_.zstd_level));
  CAIRN_ASSIGN_OR_RETURN(DataFileWriter::Location location, files_.Write(encoded));
  out->file = location.file;
  out->offset = location.offset;
  out->length = encoded.size();
  out->num_tree_bytes += encoded.size();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<WrittenNode>> TreeWriter::WriteLeaves(
    const std::vector<KeyToWrite>& keys) {
  auto runs = Partition(
      keys.size(), [&](size_t i) -> absl::string_view { return keys[i].key; },
      [&](size_t i, size_t shared) {
        const KeyToWrite& k = keys[i];
        size_t bytes = KeyBytes(k.key, shared) + 1;
        if (k.inline_value) return bytes + VarintLength(k.value.size()) + k.value.size();
        return bytes + VarintLength(k.length) + kFileIndexBytes + VarintLength(k.offset);
      },
      [&](size_t i) { return keys[i].inline_value ? nullptr : keys[i].file; }, budget_);
  const bool root = runs.size() == 1;
  std::vector<WrittenNode> level;
  for (const auto& [begin, end] : runs) {
    WrittenNode written;
    written.first_key = keys[begin].key;
    if (!root) {
      written.prefix = keys[begin].key.substr(
          0, SharedPrefix(keys[begin].key, keys[end - 1].key));  // sorted: first and last
    }
    std::vector<const DataFileId*> pointers;
    for (size_t i = begin; i < end; ++i) {
      if (!keys[i].inline_value) pointers.push_back(keys[i].file);
    }
    absl::flat_hash_map<const DataFileId*, uint64_t> index;
    BtreeNode node;
    node.height = 0;
    node.files = BuildTable(std::move(pointers), &index);
    node.leaves.resize(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const KeyToWrite& k = keys[i];
      BtreeLeafEntry& entry = node.leaves[i - begin];
      entry.key = k.key.substr(written.prefix.size());
      entry.inline_value = k.inline_value;
      if (k.inline_value) {
        entry.value = k.value;
      } else {
        entry.location = DataReference{index.at(k.file), k.offset, k.length};
        written.num_indirect_value_bytes += k.length;
      }
    }
    written.num_keys = end - begin;
    CAIRN_RETURN_IF_ERROR(WriteNode(node, written.first_key, &written));
    level.push_back(std::move(written));
  }
  return level;
}

absl::StatusOr<std::vector<WrittenNode>> TreeWriter::WriteInteriorLevel(
    const std::vector<WrittenNode>& children, uint8_t height) {
  auto runs = Partition(
      children.size(), [&](size_t i) -> absl::string_view { return children[i].first_key; },
      [&](size_t i, size_t shared) {
        const WrittenNode& c = children[i];
        return KeyBytes(c.first_key, shared) + VarintLength(c.prefix.size()) + kFileIndexBytes +
               VarintLength(c.offset) + VarintLength(c.length) + VarintLength(c.num_keys) +
               VarintLength(c.num_tree_bytes) + VarintLength(c.num_indirect_value_bytes);
      },
      [&](size_t i) { return children[i].file; }, budget_);
  const bool root = runs.size() == 1;
  std::vector<WrittenNode> level;
  for (const auto& [begin, end] : runs) {
    WrittenNode written;
    written.first_key = children[begin].first_key;
    if (!root) {
      // Every child's prefix starts with this one: it is a prefix of all their keys.
      written.prefix = children[begin].prefix;
      for (size_t i = begin + 1; i < end; ++i) {
        written.prefix.resize(SharedPrefix(written.prefix, children[i].prefix));
      }
    }
    std::vector<const DataFileId*> pointers;
    for (size_t i = begin; i < end; ++i) pointers.push_back(children[i].file);
    absl::flat_hash_map<const DataFileId*, uint64_t> index;
    BtreeNode node;
    node.height = height;
    node.files = BuildTable(std::move(pointers), &index);
    node.children.resize(end - begin);
    for (size_t i = begin; i < end; ++i) {
      const WrittenNode& c = children[i];
      BtreeInteriorEntry& entry = node.children[i - begin];
      entry.key = c.first_key.substr(written.prefix.size());
      entry.subtree_common_prefix_length = c.prefix.size() - written.prefix.size();
      entry.location = DataReference{index.at(c.file), c.offset, c.length};
      entry.num_keys = c.num_keys;
      entry.num_tree_bytes = c.num_tree_bytes;
      entry.num_indirect_value_bytes = c.num_indirect_value_bytes;
      written.num_keys += c.num_keys;
      written.num_tree_bytes += c.num_tree_bytes;
      written.num_indirect_value_bytes += c.num_indirect_value_bytes;
    }
    CAIRN_RETURN_IF_ERROR(WriteNode(node, written.first_key, &written));
    level.push_back(std::move(written));
  }
  return level;
}

}  // namespace

absl::StatusOr<WrittenTree> WriteBtree(std::vector<KeyToWrite> keys, const OcdbtConfig& config,
                                       uint64_t target_node_bytes, DataFileWriter& files) {
  WrittenTree tree;
  OcdbtVersion& version = tree.reference.version;
  if (keys.empty()) {
    version.empty = true;
    return tree;
  }
  TreeWriter writer(config, target_node_bytes, files);
  CAIRN_ASSIGN_OR_RETURN(std::vector<WrittenNode> level, writer.WriteLeaves(keys));
  keys.clear();  // the leaves hold the inline values now
  uint8_t height = 0;
  while (level.size() > 1) {
    ++height;
    CAIRN_ASSIGN_OR_RETURN(level, writer.WriteInteriorLevel(level, height));
  }
  const WrittenNode& root = level.front();
  tree.root_file = *root.file;
  tree.reference.root = DataReference{0, root.offset, root.length};
  version.root_height = height;
  version.num_keys = root.num_keys;
  version.num_tree_bytes = root.num_tree_bytes;
  version.num_indirect_value_bytes = root.num_indirect_value_bytes;
  return tree;
}

}  // namespace cairn::ocdbt_internal
