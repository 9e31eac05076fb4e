#include "cairn/storage/ocdbt/internal/btree_node.h"

#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/internal/byte_reader.h"
#include "cairn/storage/ocdbt/internal/byte_writer.h"
#include "cairn/storage/ocdbt/internal/encoded_object.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

// Reads the key columns shared by leaves and interior nodes: prefix lengths (one fewer than the
// entries), suffix lengths, for interior nodes the subtree common prefix lengths, then the
// concatenated suffixes.
template <typename Entry>
absl::Status ReadKeys(ByteReader& reader, std::vector<Entry>* entries, bool interior) {
  const size_t n = entries->size();
  std::vector<uint64_t> prefix(n, 0);
  std::vector<uint64_t> suffix(n);
  for (size_t i = 1; i < n; ++i) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&prefix[i], "key prefix length", kMaxKeyLength));
  }
  for (auto& length : suffix) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&length, "key suffix length", kMaxKeyLength));
  }
  std::vector<uint64_t> common(interior ? n : 0);
  for (auto& length : common) {
    CAIRN_RETURN_IF_ERROR(
        reader.ReadVarint(&length, "subtree common prefix length", kMaxKeyLength));
  }
  uint64_t previous_length = 0;
  uint64_t total_suffix = 0;
  for (size_t i = 0; i < n; ++i) {
    if (prefix[i] > previous_length) {
      return reader.Error(absl::StrCat("key ", i, ": prefix length ", prefix[i],
                                       " exceeds the previous key's length ", previous_length));
    }
    const uint64_t length = prefix[i] + suffix[i];
    if (length > kMaxKeyLength) {
      return reader.Error(absl::StrCat("key ", i, ": length ", length, " exceeds the limit"));
    }
    if (interior && common[i] > length) {
      return reader.Error(absl::StrCat("key ", i, ": subtree common prefix length ", common[i],
                                       " exceeds the key's length ", length));
    }
    total_suffix += suffix[i];
    previous_length = length;
  }
  // Keys are rebuilt from bytes that must be there: check before building any.
  if (total_suffix > reader.remaining()) {
    return reader.Error(absl::StrCat("key suffixes of ", total_suffix, " bytes exceed the ",
                                     reader.remaining(), " bytes left"));
  }
  for (size_t i = 0; i < n; ++i) {
    absl::string_view bytes;
    CAIRN_RETURN_IF_ERROR(reader.ReadBytes(suffix[i], &bytes, "key suffix"));
    Entry& entry = (*entries)[i];
    if (i > 0) {
      const std::string& previous = (*entries)[i - 1].key;
      // The new key shares `prefix[i]` bytes with the previous one and must sort after it.
      if (absl::string_view(previous).substr(prefix[i]) >= bytes) {
        return reader.Error(absl::StrCat("key ", i, " does not sort after key ", i - 1));
      }
      entry.key.reserve(prefix[i] + bytes.size());
      entry.key.assign(previous, 0, prefix[i]);
    }
    entry.key.append(bytes.data(), bytes.size());
    if (interior) {
      if constexpr (std::is_same_v<Entry, BtreeInteriorEntry>) {
        entry.subtree_common_prefix_length = common[i];
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ReadLeafValues(ByteReader& reader, size_t num_files,
                            std::vector<BtreeLeafEntry>* entries) {
  std::vector<uint64_t> lengths(entries->size());
  for (auto& length : lengths) CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&length, "value length"));
  size_t num_indirect = 0;
  for (size_t i = 0; i < entries->size(); ++i) {
    uint8_t kind;
    CAIRN_RETURN_IF_ERROR(reader.ReadByte(&kind, "value kind"));
    if (kind > 1) return reader.Error(absl::StrCat("value ", i, ": unknown value kind ", kind));
    BtreeLeafEntry& entry = (*entries)[i];
    entry.inline_value = kind == 0;
    if (entry.inline_value) {
      if (lengths[i] > kMaxInlineValueLength) {
        return reader.Error(absl::StrCat("value ", i, ": inline length ", lengths[i],
                                         " exceeds the limit of ", kMaxInlineValueLength));
      }
    } else {
      entry.location.length = lengths[i];
      ++num_indirect;
    }
  }
  if (num_indirect > reader.remaining() / 2) {
    return reader.Error("more out-of-line values than the bytes left can describe");
  }
  for (auto& entry : *entries) {
    if (entry.inline_value) continue;
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.location.file, "value data file id"));
    if (entry.location.file >= num_files) {
      return reader.Error(absl::StrCat("value data file id ", entry.location.file,
                                       " outside the table of ", num_files, " files"));
    }
  }
  for (auto& entry : *entries) {
    if (entry.inline_value) continue;
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.location.offset, "value offset"));
    if (entry.location.offset + entry.location.length < entry.location.offset) {
      return reader.Error("value offset + length overflows 64 bits");
    }
  }
  for (size_t i = 0; i < entries->size(); ++i) {
    BtreeLeafEntry& entry = (*entries)[i];
    if (!entry.inline_value) continue;
    absl::string_view value;
    CAIRN_RETURN_IF_ERROR(reader.ReadBytes(lengths[i], &value, "inline value"));
    entry.value.assign(value.data(), value.size());
  }
  return absl::OkStatus();
}

absl::Status ReadChildren(ByteReader& reader, size_t num_files,
                          std::vector<BtreeInteriorEntry>* entries) {
  std::vector<DataReference> refs;
  CAIRN_RETURN_IF_ERROR(ReadDataReferences(reader, num_files, entries->size(), false, &refs));
  for (size_t i = 0; i < entries->size(); ++i) (*entries)[i].location = refs[i];
  for (auto& entry : *entries)
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.num_keys, "key count"));
  for (auto& entry : *entries) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.num_tree_bytes, "tree bytes"));
  }
  for (auto& entry : *entries) {
    CAIRN_RETURN_IF_ERROR(
        reader.ReadVarint(&entry.num_indirect_value_bytes, "indirect value bytes"));
  }
  return absl::OkStatus();
}

// The key columns ReadKeys reads.
template <typename Entry>
void AppendKeys(const std::vector<Entry>& entries, std::string* out) {
  const size_t n = entries.size();
  std::vector<size_t> prefix(n, 0);
  for (size_t i = 1; i < n; ++i) {
    const std::string& a = entries[i - 1].key;
    const std::string& b = entries[i].key;
    size_t shared = 0;
    while (shared < a.size() && shared < b.size() && a[shared] == b[shared]) ++shared;
    prefix[i] = shared;
  }
  for (size_t i = 1; i < n; ++i) AppendVarint(out, prefix[i]);
  for (size_t i = 0; i < n; ++i) AppendVarint(out, entries[i].key.size() - prefix[i]);
  if constexpr (std::is_same_v<Entry, BtreeInteriorEntry>) {
    for (const auto& entry : entries) AppendVarint(out, entry.subtree_common_prefix_length);
  }
  for (size_t i = 0; i < n; ++i) out->append(entries[i].key, prefix[i]);
}

void AppendLeafValues(const std::vector<BtreeLeafEntry>& entries, std::string* out) {
  for (const auto& entry : entries) {
    AppendVarint(out, entry.inline_value ? entry.value.size() : entry.location.length);
  }
  for (const auto& entry : entries) AppendByte(out, entry.inline_value ? 0 : 1);
  for (const auto& entry : entries) {
    if (!entry.inline_value) AppendVarint(out, entry.location.file);
  }
  for (const auto& entry : entries) {
    if (!entry.inline_value) AppendVarint(out, entry.location.offset);
  }
  for (const auto& entry : entries) {
    if (entry.inline_value) out->append(entry.value);
  }
}

void AppendChildren(const std::vector<BtreeInteriorEntry>& entries, std::string* out) {
  std::vector<DataReference> refs;
  refs.reserve(entries.size());
  for (const auto& entry : entries) refs.push_back(entry.location);
  AppendDataReferences(refs, out);
  for (const auto& entry : entries) AppendVarint(out, entry.num_keys);
  for (const auto& entry : entries) AppendVarint(out, entry.num_tree_bytes);
  for (const auto& entry : entries) AppendVarint(out, entry.num_indirect_value_bytes);
}

}  // namespace

std::string EncodeBtreeNodeBody(const BtreeNode& node) {
  std::string out;
  AppendByte(&out, node.height);
  AppendDataFileTable(node.files, &out);
  if (node.height == 0) {
    AppendVarint(&out, node.leaves.size());
    AppendKeys(node.leaves, &out);
    AppendLeafValues(node.leaves, &out);
  } else {
    AppendVarint(&out, node.children.size());
    AppendKeys(node.children, &out);
    AppendChildren(node.children, &out);
  }
  return out;
}

absl::StatusOr<BtreeNode> DecodeBtreeNode(absl::string_view encoded,
                                          absl::string_view transitive_path,
                                          uint64_t max_decoded_bytes) {
  CAIRN_ASSIGN_OR_RETURN(std::string body,
                         DecodeEncodedObject(encoded, kBtreeNodeMagic, max_decoded_bytes));
  ByteReader reader(body);
  BtreeNode node;
  CAIRN_RETURN_IF_ERROR(reader.ReadByte(&node.height, "node height"));
  CAIRN_RETURN_IF_ERROR(ReadDataFileTable(reader, transitive_path, &node.files));
  uint64_t count;
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&count, "entry count", kMaxNodeArity));
  // A leaf entry takes at least 3 bytes (suffix length, value length, kind), an interior one 7.
  const size_t min_entry_bytes = node.height == 0 ? 3 : 7;
  if (count == 0 || count > reader.remaining() / min_entry_bytes + 1) {
    return reader.Error(absl::StrCat("entry count ", count, " is 0 or exceeds what ",
                                     reader.remaining(), " bytes can hold"));
  }
  if (node.height == 0) {
    node.leaves.resize(count);
    CAIRN_RETURN_IF_ERROR(ReadKeys(reader, &node.leaves, false));
    CAIRN_RETURN_IF_ERROR(ReadLeafValues(reader, node.files.size(), &node.leaves));
  } else {
    node.children.resize(count);
    CAIRN_RETURN_IF_ERROR(ReadKeys(reader, &node.children, true));
    CAIRN_RETURN_IF_ERROR(ReadChildren(reader, node.files.size(), &node.children));
  }
  CAIRN_RETURN_IF_ERROR(reader.ExpectEnd());
  return node;
}

}  // namespace cairn::ocdbt_internal
