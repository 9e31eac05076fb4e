#include "tests/support/ocdbt_encoder.h"

#include <zstd.h>

#include <algorithm>
#include <set>

#include "cairn/utils/crc32c.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_test {
namespace {

constexpr uint32_t kManifestMagic = 0x0cdb3a2a;
constexpr uint32_t kVersionNodeMagic = 0x0cdb1234;
constexpr uint32_t kBtreeMagic = 0x0cdb20de;
constexpr uint64_t kNone = ~uint64_t{0};

void PutLe(std::string& out, uint64_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

size_t CommonPrefix(const std::string& a, const std::string& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

// Writes the table of `files` (sorted, distinct) and returns each one's index.
std::map<FileRef, uint64_t> WriteTable(std::string& out, const std::set<FileRef>& files) {
  std::vector<FileRef> sorted(files.begin(), files.end());
  std::vector<size_t> prefix(sorted.size(), 0);
  for (size_t i = 1; i < sorted.size(); ++i) {
    const FileRef& a = sorted[i - 1];
    const FileRef& b = sorted[i];
    prefix[i] = CommonPrefix(a.base_path, b.base_path);
    if (a.base_path == b.base_path) prefix[i] += CommonPrefix(a.relative_path, b.relative_path);
  }
  out += Varint(sorted.size());
  for (size_t i = 1; i < sorted.size(); ++i) out += Varint(prefix[i]);
  for (size_t i = 0; i < sorted.size(); ++i) {
    out += Varint(sorted[i].base_path.size() + sorted[i].relative_path.size() - prefix[i]);
  }
  for (const FileRef& f : sorted) out += Varint(f.base_path.size());
  std::map<FileRef, uint64_t> index;
  for (size_t i = 0; i < sorted.size(); ++i) {
    out += (sorted[i].base_path + sorted[i].relative_path).substr(prefix[i]);
    index[sorted[i]] = i;
  }
  return index;
}

void WriteVersionEntries(std::string& out, const std::vector<VersionEntry>& versions,
                         const std::map<FileRef, uint64_t>& index) {
  out += Varint(versions.size());
  for (const auto& v : versions) out += Varint(v.generation);
  for (const auto& v : versions) out.push_back(static_cast<char>(v.root_height));
  for (const auto& v : versions) out += Varint(index.at(v.empty ? FileRef{} : v.root.file));
  for (const auto& v : versions) out += Varint(v.empty ? kNone : v.root.offset);
  for (const auto& v : versions) out += Varint(v.empty ? kNone : v.root.length);
  for (const auto& v : versions) out += Varint(v.stats.num_keys);
  for (const auto& v : versions) out += Varint(v.stats.num_tree_bytes);
  for (const auto& v : versions) out += Varint(v.stats.num_indirect_value_bytes);
  for (const auto& v : versions) PutLe(out, v.commit_time_nanos, 8);
}

void WriteVersionNodeEntries(std::string& out, const std::vector<VersionNodeEntry>& nodes,
                             const std::map<FileRef, uint64_t>& index, bool with_heights) {
  out += Varint(nodes.size());
  for (const auto& n : nodes) out += Varint(n.generation);
  for (const auto& n : nodes) out += Varint(index.at(n.location.file));
  for (const auto& n : nodes) out += Varint(n.location.offset);
  for (const auto& n : nodes) out += Varint(n.location.length);
  for (const auto& n : nodes) out += Varint(n.num_generations);
  for (const auto& n : nodes) PutLe(out, n.commit_time_nanos, 8);
  if (with_heights) {
    for (const auto& n : nodes) out.push_back(static_cast<char>(n.height));
  }
}

std::set<FileRef> FilesOf(const std::vector<VersionEntry>& versions,
                          const std::vector<VersionNodeEntry>& nodes) {
  std::set<FileRef> files;
  for (const auto& v : versions) files.insert(v.empty ? FileRef{} : v.root.file);
  for (const auto& n : nodes) files.insert(n.location.file);
  return files;
}

template <typename Entry>
void WriteKeys(std::string& out, const std::vector<Entry>& entries, const size_t* common) {
  for (size_t i = 1; i < entries.size(); ++i) {
    out += Varint(CommonPrefix(entries[i - 1].key, entries[i].key));
  }
  std::vector<size_t> prefix(entries.size(), 0);
  for (size_t i = 1; i < entries.size(); ++i) {
    prefix[i] = CommonPrefix(entries[i - 1].key, entries[i].key);
  }
  for (size_t i = 0; i < entries.size(); ++i) out += Varint(entries[i].key.size() - prefix[i]);
  if (common != nullptr) {
    for (size_t i = 0; i < entries.size(); ++i) out += Varint(common[i]);
  }
  for (size_t i = 0; i < entries.size(); ++i) out += entries[i].key.substr(prefix[i]);
}

uint64_t RoundDown(uint64_t value, unsigned bits) {
  return bits >= 64 ? 0 : (value >> bits) << bits;
}

}  // namespace

std::string Varint(uint64_t value) {
  std::string out;
  while (value >= 0x80) {
    out.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string FrameObject(uint32_t magic, const std::string& body, const OcdbtConfig& config) {
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(magic >> shift));
  PutLe(out, 0, 8);  // length, filled in below
  out += Varint(0);
  if (config.compression == OcdbtConfig::Compression::kZstd) {
    out += Varint(1);
    std::string compressed(ZSTD_compressBound(body.size()), '\0');
    size_t n = ZSTD_compress(compressed.data(), compressed.size(), body.data(), body.size(),
                             config.zstd_level);
    compressed.resize(ZSTD_isError(n) ? 0 : n);
    out += compressed;
  } else {
    out += Varint(0);
    out += body;
  }
  std::string length;
  PutLe(length, out.size() + 4, 8);
  out.replace(4, 8, length);
  PutLe(out, Crc32c(out), 4);
  return out;
}

std::string EncodeConfig(const OcdbtConfig& config) {
  std::string out(config.uuid.begin(), config.uuid.end());
  out.push_back(static_cast<char>(config.manifest_kind));
  out += Varint(config.max_inline_value_bytes);
  out += Varint(config.max_decoded_node_bytes);
  out.push_back(static_cast<char>(config.version_tree_arity_log2));
  if (config.compression == OcdbtConfig::Compression::kZstd) {
    out += Varint(1);
    PutLe(out, static_cast<uint32_t>(config.zstd_level), 4);
  } else {
    out += Varint(0);
  }
  return out;
}

std::string EncodeManifestBody(const OcdbtConfig& config, const std::vector<VersionEntry>& versions,
                               const std::vector<VersionNodeEntry>& version_nodes) {
  std::string out = EncodeConfig(config);
  if (config.manifest_kind == OcdbtConfig::ManifestKind::kNumbered) return out;
  auto index = WriteTable(out, FilesOf(versions, version_nodes));
  WriteVersionEntries(out, versions, index);
  WriteVersionNodeEntries(out, version_nodes, index, true);
  return out;
}

std::string EncodeVersionLeafBody(uint8_t arity_log2, const std::vector<VersionEntry>& versions) {
  std::string out{static_cast<char>(arity_log2), '\0'};
  auto index = WriteTable(out, FilesOf(versions, {}));
  WriteVersionEntries(out, versions, index);
  return out;
}

std::string EncodeVersionInteriorBody(uint8_t arity_log2, uint8_t height,
                                      const std::vector<VersionNodeEntry>& children) {
  std::string out{static_cast<char>(arity_log2), static_cast<char>(height)};
  auto index = WriteTable(out, FilesOf({}, children));
  WriteVersionNodeEntries(out, children, index, false);
  return out;
}

std::string EncodeLeafBody(const std::vector<LeafEntry>& entries) {
  std::string out(1, '\0');
  std::set<FileRef> files;
  for (const auto& e : entries) {
    if (e.out_of_line) files.insert(e.location.file);
  }
  auto index = WriteTable(out, files);
  out += Varint(entries.size());
  WriteKeys(out, entries, nullptr);
  for (const auto& e : entries) out += Varint(e.out_of_line ? e.location.length : e.value.size());
  for (const auto& e : entries) out.push_back(e.out_of_line ? '\1' : '\0');
  for (const auto& e : entries) {
    if (e.out_of_line) out += Varint(index.at(e.location.file));
  }
  for (const auto& e : entries) {
    if (e.out_of_line) out += Varint(e.location.offset);
  }
  for (const auto& e : entries) {
    if (!e.out_of_line) out += e.value;
  }
  return out;
}

std::string EncodeInteriorBody(uint8_t height, const std::vector<ChildEntry>& entries) {
  std::string out(1, static_cast<char>(height));
  std::set<FileRef> files;
  for (const auto& e : entries) files.insert(e.location.file);
  auto index = WriteTable(out, files);
  out += Varint(entries.size());
  std::vector<size_t> common;
  for (const auto& e : entries) common.push_back(e.subtree_common_prefix_length);
  WriteKeys(out, entries, common.data());
  for (const auto& e : entries) out += Varint(index.at(e.location.file));
  for (const auto& e : entries) out += Varint(e.location.offset);
  for (const auto& e : entries) out += Varint(e.location.length);
  for (const auto& e : entries) out += Varint(e.stats.num_keys);
  for (const auto& e : entries) out += Varint(e.stats.num_tree_bytes);
  for (const auto& e : entries) out += Varint(e.stats.num_indirect_value_bytes);
  return out;
}

ByteRange DatabaseBuilder::Append(const std::string& relative, const std::string& bytes) {
  std::string& file = files_[relative];
  ByteRange range{FileRef{"", relative}, file.size(), bytes.size()};
  file += bytes;
  return range;
}

std::string DatabaseBuilder::NodeFileName(const std::string& sub_dir) const {
  return sub_dir + "d/nodes";
}

Subtree DatabaseBuilder::WriteLeaf(const std::vector<std::pair<std::string, std::string>>& kvs,
                                   const std::string& sub_dir, bool root) {
  // A root's keys are whole: only a parent can give a node a prefix.
  std::string prefix = root ? "" : kvs.front().first;
  for (const auto& kv : kvs) prefix.resize(CommonPrefix(prefix, kv.first));
  std::vector<LeafEntry> entries;
  Stats stats;
  for (const auto& [key, value] : kvs) {
    LeafEntry entry;
    entry.key = key.substr(prefix.size());
    if (value.size() > config_.max_inline_value_bytes) {
      entry.out_of_line = true;
      entry.location = Append(sub_dir + "d/values", value);
      entry.location.file.relative_path = "d/values";  // relative to the subtree's directory
      stats.num_indirect_value_bytes += value.size();
    } else {
      entry.value = value;
    }
    entries.push_back(std::move(entry));
  }
  std::string encoded = FrameObject(kBtreeMagic, EncodeLeafBody(entries), config_);
  Subtree tree;
  tree.first_key = kvs.front().first;
  tree.prefix = prefix;
  tree.location = Append(NodeFileName(sub_dir), encoded);
  tree.location.file.relative_path = "d/nodes";
  tree.height = 0;
  stats.num_keys = kvs.size();
  stats.num_tree_bytes = encoded.size();
  tree.stats = stats;
  return tree;
}

Subtree DatabaseBuilder::BuildInterior(const std::vector<std::pair<Subtree, std::string>>& children,
                                       const std::string& sub_dir, bool root) {
  std::string prefix = root ? "" : children.front().first.prefix;
  for (const auto& c : children) prefix.resize(CommonPrefix(prefix, c.first.prefix));
  std::vector<ChildEntry> entries;
  Stats stats;
  for (const auto& [child, child_dir] : children) {
    ChildEntry entry;
    entry.key = child.first_key.substr(prefix.size());
    entry.subtree_common_prefix_length = child.prefix.size() - prefix.size();
    entry.location = child.location;
    entry.location.file.base_path = child_dir + entry.location.file.base_path;
    entry.stats = child.stats;
    stats.num_keys += child.stats.num_keys;
    stats.num_tree_bytes += child.stats.num_tree_bytes;
    stats.num_indirect_value_bytes += child.stats.num_indirect_value_bytes;
    entries.push_back(std::move(entry));
  }
  const uint8_t height = children.front().first.height + 1;
  std::string encoded = FrameObject(kBtreeMagic, EncodeInteriorBody(height, entries), config_);
  Subtree tree;
  tree.first_key = children.front().first.first_key;
  tree.prefix = prefix;
  tree.location = Append(NodeFileName(sub_dir), encoded);
  tree.location.file.relative_path = "d/nodes";
  tree.height = height;
  stats.num_tree_bytes += encoded.size();
  tree.stats = stats;
  return tree;
}

Subtree DatabaseBuilder::BuildTree(const std::map<std::string, std::string>& kvs, size_t fanout,
                                   const std::string& sub_dir) {
  std::vector<Subtree> level;
  std::vector<std::pair<std::string, std::string>> group;
  const bool leaf_is_root = kvs.size() <= fanout;
  for (const auto& kv : kvs) {
    group.push_back(kv);
    if (group.size() == fanout) {
      level.push_back(WriteLeaf(group, sub_dir, leaf_is_root));
      group.clear();
    }
  }
  if (!group.empty()) level.push_back(WriteLeaf(group, sub_dir, leaf_is_root));
  while (level.size() > 1) {
    const bool is_root = level.size() <= fanout;
    std::vector<Subtree> next;
    std::vector<std::pair<Subtree, std::string>> children;
    for (const Subtree& t : level) {
      children.emplace_back(t, "");
      if (children.size() == fanout) {
        next.push_back(BuildInterior(children, sub_dir, is_root));
        children.clear();
      }
    }
    if (!children.empty()) next.push_back(BuildInterior(children, sub_dir, is_root));
    level = std::move(next);
  }
  return level.front();
}

VersionEntry DatabaseBuilder::Version(uint64_t generation, const Subtree& tree,
                                      uint64_t commit_nanos) {
  VersionEntry v;
  v.generation = generation;
  v.root_height = tree.height;
  v.root = tree.location;
  v.stats = tree.stats;
  v.commit_time_nanos = commit_nanos;
  return v;
}

VersionEntry DatabaseBuilder::EmptyVersion(uint64_t generation, uint64_t commit_nanos) {
  VersionEntry v;
  v.generation = generation;
  v.empty = true;
  v.commit_time_nanos = commit_nanos;
  return v;
}

VersionNodeEntry DatabaseBuilder::WriteVersionNode(const std::vector<VersionEntry>& versions,
                                                   uint8_t height, uint64_t first, uint64_t last) {
  const uint8_t a = config_.version_tree_arity_log2;
  VersionNodeEntry entry;
  entry.generation = last;
  entry.height = height;
  std::string body;
  if (height == 0) {
    std::vector<VersionEntry> leaf(versions.begin() + (first - 1), versions.begin() + last);
    entry.num_generations = leaf.size();
    entry.commit_time_nanos = leaf.front().commit_time_nanos;
    body = EncodeVersionLeafBody(a, leaf);
  } else {
    const uint64_t span = uint64_t{1} << (a * height);
    std::vector<VersionNodeEntry> children;
    for (uint64_t child_first = first; child_first <= last;) {
      uint64_t child_last = std::min(last, ((child_first - 1) / span + 1) * span);
      children.push_back(WriteVersionNode(versions, height - 1, child_first, child_last));
      child_first = child_last + 1;
    }
    for (const auto& c : children) entry.num_generations += c.num_generations;
    entry.commit_time_nanos = children.front().commit_time_nanos;
    body = EncodeVersionInteriorBody(a, height, children);
  }
  entry.location = Append("d/versions", FrameObject(kVersionNodeMagic, body, config_));
  return entry;
}

void DatabaseBuilder::WriteManifest(const std::vector<VersionEntry>& versions, bool numbered) {
  const uint8_t a = config_.version_tree_arity_log2;
  const uint64_t latest = versions.back().generation;
  const uint64_t inline_first = latest - (latest - 1) % (uint64_t{1} << a);
  std::vector<VersionEntry> inline_versions(versions.begin() + (inline_first - 1), versions.end());
  std::vector<VersionNodeEntry> nodes;
  uint64_t upper = RoundDown(latest - 1, a);
  for (unsigned height = 1; upper != 0; ++height) {
    uint64_t next = RoundDown(upper - 1, (height + 1) * a);
    nodes.push_back(WriteVersionNode(versions, static_cast<uint8_t>(height), next + 1, upper));
    upper = next;
  }
  std::reverse(nodes.begin(), nodes.end());
  OcdbtConfig single = config_;
  single.manifest_kind = OcdbtConfig::ManifestKind::kSingle;
  std::string manifest =
      FrameObject(kManifestMagic, EncodeManifestBody(single, inline_versions, nodes), config_);
  if (!numbered) {
    Put("manifest.ocdbt", manifest);
    return;
  }
  char name[32];
  snprintf(name, sizeof(name), "manifest.%016llx", static_cast<unsigned long long>(latest));
  Put(name, manifest);
  OcdbtConfig config_only = config_;
  config_only.manifest_kind = OcdbtConfig::ManifestKind::kNumbered;
  Put("manifest.ocdbt",
      FrameObject(kManifestMagic, EncodeManifestBody(config_only, {}, {}), config_));
}

absl::Status DatabaseBuilder::Flush(Filesystem& fs) const {
  for (const auto& [relative, bytes] : files_) {
    const std::string path = JoinPath(dir_, relative);
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs, ParentPath(path)));
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, path, bytes, false));
  }
  return absl::OkStatus();
}

}  // namespace cairn::ocdbt_test
