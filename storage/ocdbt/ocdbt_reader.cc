#include "cairn/storage/ocdbt/ocdbt_reader.h"

#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/database_files.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

using ocdbt_internal::BtreeNode;
using ocdbt_internal::DataFileId;
using ocdbt_internal::DataReference;
using ocdbt_internal::Manifest;
using ocdbt_internal::VersionNodeReference;
using ocdbt_internal::VersionTreeNode;

namespace {

constexpr char kManifestName[] = "manifest.ocdbt";
constexpr char kNumberedPrefix[] = "manifest.";
// ListVersions gives up past this many generations rather than grow without bound.
constexpr size_t kMaxListedVersions = size_t{1} << 24;

// The generation a numbered manifest's name carries: 16 hex digits, not zero.
bool ParseNumberedManifestName(absl::string_view name, uint64_t* generation) {
  if (!absl::ConsumePrefix(&name, kNumberedPrefix) || name.size() != 16) return false;
  uint64_t value = 0;
  for (char c : name) {
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'F') {
      digit = c - 'A' + 10;
    } else {
      return false;
    }
    value = value << 4 | static_cast<uint64_t>(digit);
  }
  if (value == 0) return false;
  *generation = value;
  return true;
}

// Whether a key that starts with `prefix` can sort at or after `key`.
bool BelowPrefixEnd(absl::string_view key, absl::string_view prefix) {
  return key.substr(0, prefix.size()) <= prefix;
}

}  // namespace

struct OcdbtReader::State {
  State(Filesystem* fs, std::string dir) : files(fs, std::move(dir)) {}

  mutable ocdbt_internal::DatabaseFiles files;  // lookups open files as they go
  Manifest manifest;
  std::string manifest_name;  // the file the versions came from
  OcdbtVersion version;
  DataFileId root_file;
  DataReference root;
  size_t node_cache_limit = 0;

  mutable absl::Mutex mu;
  mutable absl::flat_hash_map<std::string, std::shared_ptr<const BtreeNode>> nodes
      ABSL_GUARDED_BY(mu);
  mutable size_t cached_bytes ABSL_GUARDED_BY(mu) = 0;

  absl::Status ReadManifests();
  absl::Status SelectVersion(uint64_t generation);
  absl::StatusOr<VersionTreeNode> ReadVersionNode(const DataFileId& file,
                                                  const VersionNodeReference& ref) const;
  absl::Status CollectVersions(const DataFileId& file, const VersionNodeReference& ref,
                               std::vector<OcdbtVersion>* out) const;

  absl::StatusOr<std::shared_ptr<const BtreeNode>> Node(const DataFileId& file,
                                                        const DataReference& ref, uint8_t height,
                                                        absl::string_view inclusive_min) const;
  absl::StatusOr<std::string> ReadValue(const DataFileId& file, const DataReference& ref,
                                        absl::string_view key) const;
  // The leaf entry of `key`, with the node that holds it (and its file table).
  struct Found {
    std::shared_ptr<const BtreeNode> node;
    const ocdbt_internal::BtreeLeafEntry* entry;
  };
  absl::StatusOr<Found> Lookup(absl::string_view key) const;
  // Where bytes [offset, offset + length) of `key`'s value are: inline in a node (`file` null) or
  // in a data file. OutOfRange when the value is shorter.
  struct Range {
    std::shared_ptr<const BtreeNode> node;
    absl::string_view inline_bytes;
    const DataFileId* file = nullptr;
    DataReference part;
  };
  absl::StatusOr<Range> FindRange(absl::string_view key, uint64_t offset, uint64_t length) const;
  absl::Status List(const DataFileId& file, const DataReference& ref, uint8_t height,
                    const std::string& key_prefix, absl::string_view wanted,
                    absl::string_view inclusive_min, std::vector<std::string>* out) const;
};

absl::Status OcdbtReader::State::ReadManifests() {
  const std::string path = files.FullPath(kManifestName);
  absl::StatusOr<std::string> encoded =
      files.ReadWhole(kManifestName, ocdbt_internal::kMaxDecodedManifestBytes);
  if (absl::IsNotFound(encoded.status())) {
    return absl::NotFoundError(absl::StrCat("no OCDBT database: ", path, " does not exist"));
  }
  CAIRN_RETURN_IF_ERROR(encoded.status());
  absl::StatusOr<Manifest> decoded = ocdbt_internal::DecodeManifest(*encoded);
  if (!decoded.ok()) return Annotate(decoded.status(), path);
  manifest = *std::move(decoded);
  manifest_name = kManifestName;
  if (manifest.config.manifest_kind == OcdbtConfig::ManifestKind::kSingle) {
    return absl::OkStatus();
  }
  // The configuration alone is in manifest.ocdbt; the versions are in the newest numbered one.
  CAIRN_ASSIGN_OR_RETURN(std::vector<std::string> names, files.ListNames());
  uint64_t newest = 0;
  for (const std::string& name : names) {
    uint64_t generation;
    if (ParseNumberedManifestName(name, &generation) && generation > newest) {
      newest = generation;
      manifest_name = name;
    }
  }
  if (newest == 0) {
    return absl::DataLossError(absl::StrCat(path,
                                            " says the versions are in numbered manifests, "
                                            "but there is no manifest.<16 hex digits> beside it"));
  }
  const std::string numbered_path = files.FullPath(manifest_name);
  CAIRN_ASSIGN_OR_RETURN(std::string numbered,
                         files.ReadWhole(manifest_name, ocdbt_internal::kMaxDecodedManifestBytes));
  absl::StatusOr<Manifest> latest = ocdbt_internal::DecodeManifest(numbered);
  if (!latest.ok()) return Annotate(latest.status(), numbered_path);
  if (latest->config.manifest_kind != OcdbtConfig::ManifestKind::kSingle) {
    return absl::DataLossError(
        absl::StrCat(numbered_path, ": a numbered manifest must hold its versions"));
  }
  OcdbtConfig expected = manifest.config;
  expected.manifest_kind = OcdbtConfig::ManifestKind::kSingle;
  if (latest->config != expected) {
    return absl::DataLossError(
        absl::StrCat(numbered_path, ": configuration differs from ", path, "'s"));
  }
  if (latest->versions.back().version.generation != newest) {
    return absl::DataLossError(absl::StrCat(numbered_path, ": latest generation is ",
                                            latest->versions.back().version.generation,
                                            ", not the one its name says"));
  }
  OcdbtConfig config = manifest.config;
  manifest = *std::move(latest);
  manifest.config = config;
  return absl::OkStatus();
}

absl::StatusOr<VersionTreeNode> OcdbtReader::State::ReadVersionNode(
    const DataFileId& file, const VersionNodeReference& ref) const {
  const std::string path = files.FullPath(file.path());
  absl::StatusOr<std::string> encoded =
      ref.location.length > ocdbt_internal::kMaxDecodedManifestBytes
          ? absl::DataLossError(absl::StrCat("version node of ", ref.location.length,
                                             " bytes is larger than the limit"))
          : files.ReadRange(file.path(), ref.location.offset, ref.location.length);
  if (absl::IsNotFound(encoded.status())) {
    return absl::DataLossError(absl::StrCat(path, ": data file of a version tree node is missing"));
  }
  if (!encoded.ok()) return Annotate(encoded.status(), path);
  absl::StatusOr<VersionTreeNode> node =
      ocdbt_internal::DecodeVersionTreeNode(*encoded, file.base_path);
  const std::string where = absl::StrCat(path, " at offset ", ref.location.offset);
  if (!node.ok()) return Annotate(node.status(), where);
  if (node->height != ref.height ||
      node->version_tree_arity_log2 != manifest.config.version_tree_arity_log2) {
    return absl::DataLossError(absl::StrCat(
        where, ": version node of height ", node->height, " and arity log2 ",
        node->version_tree_arity_log2, " where height ", ref.height, " and arity log2 ",
        manifest.config.version_tree_arity_log2, " were expected"));
  }
  const uint64_t last = node->height == 0 ? node->versions.back().version.generation
                                          : node->children.back().generation;
  if (last != ref.generation) {
    return absl::DataLossError(absl::StrCat(where, ": version node ends at generation ", last,
                                            ", its parent says ", ref.generation));
  }
  return node;
}

absl::Status OcdbtReader::State::CollectVersions(const DataFileId& file,
                                                 const VersionNodeReference& ref,
                                                 std::vector<OcdbtVersion>* out) const {
  CAIRN_ASSIGN_OR_RETURN(VersionTreeNode node, ReadVersionNode(file, ref));
  if (node.height == 0) {
    if (out->size() + node.versions.size() > kMaxListedVersions) {
      return absl::ResourceExhaustedError(
          absl::StrCat(files.dir(), ": more than ", kMaxListedVersions, " generations"));
    }
    for (const auto& entry : node.versions) out->push_back(entry.version);
    return absl::OkStatus();
  }
  for (const VersionNodeReference& child : node.children) {
    CAIRN_RETURN_IF_ERROR(CollectVersions(node.files[child.location.file], child, out));
  }
  return absl::OkStatus();
}

absl::Status OcdbtReader::State::SelectVersion(uint64_t generation) {
  const auto& inline_versions = manifest.versions;
  const ocdbt_internal::GenerationReference* found = nullptr;
  const std::vector<DataFileId>* table = &manifest.files;
  VersionTreeNode node;  // holds the table of the leaf `found` came from
  if (generation == 0) {
    found = &inline_versions.back();
  } else if (generation >= inline_versions.front().version.generation) {
    for (const auto& entry : inline_versions) {
      if (entry.version.generation == generation) found = &entry;
    }
  } else {
    // Older generations live under the first version node whose range reaches them.
    const VersionNodeReference* ref = nullptr;
    for (const auto& candidate : manifest.version_nodes) {
      if (candidate.generation >= generation) {
        ref = &candidate;
        break;
      }
    }
    DataFileId file = ref != nullptr ? manifest.files[ref->location.file] : DataFileId{};
    VersionNodeReference current = ref != nullptr ? *ref : VersionNodeReference{};
    while (ref != nullptr) {
      CAIRN_ASSIGN_OR_RETURN(node, ReadVersionNode(file, current));
      if (node.height == 0) {
        for (const auto& entry : node.versions) {
          if (entry.version.generation == generation) found = &entry;
        }
        table = &node.files;
        break;
      }
      ref = nullptr;
      for (const auto& child : node.children) {
        if (child.generation >= generation) {
          file = node.files[child.location.file];
          current = child;
          ref = &current;
          break;
        }
      }
    }
  }
  if (found == nullptr) {
    return absl::NotFoundError(
        absl::StrCat(files.FullPath(manifest_name), ": no generation ", generation));
  }
  version = found->version;
  root = found->root;
  if (!version.empty) root_file = (*table)[root.file];
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<const BtreeNode>> OcdbtReader::State::Node(
    const DataFileId& file, const DataReference& ref, uint8_t height,
    absl::string_view inclusive_min) const {
  const std::string relative = file.path();
  std::string cache_key = absl::StrCat(relative, "@", ref.offset, "+", ref.length);
  std::shared_ptr<const BtreeNode> node;
  {
    absl::MutexLock lock(&mu);
    auto it = nodes.find(cache_key);
    if (it != nodes.end()) node = it->second;
  }
  const std::string where = absl::StrCat(files.FullPath(relative), " at offset ", ref.offset);
  if (node == nullptr) {
    const uint64_t max_decoded = manifest.config.max_decoded_node_bytes;
    // Even an incompressible node may grow only by zstd's bound: longer is not a node.
    if (ref.length > ZSTD_compressBound(max_decoded) + 64) {
      return absl::DataLossError(absl::StrCat(where, ": B+tree node of ", ref.length,
                                              " bytes exceeds max decoded node bytes ",
                                              max_decoded));
    }
    absl::StatusOr<std::string> encoded = files.ReadRange(relative, ref.offset, ref.length);
    if (absl::IsNotFound(encoded.status())) {
      return absl::DataLossError(
          absl::StrCat(files.FullPath(relative), ": data file of a B+tree node is missing"));
    }
    if (!encoded.ok()) return encoded.status();
    absl::StatusOr<BtreeNode> decoded =
        ocdbt_internal::DecodeBtreeNode(*encoded, file.base_path, max_decoded);
    if (!decoded.ok()) return Annotate(decoded.status(), where);
    node = std::make_shared<const BtreeNode>(*std::move(decoded));
    absl::MutexLock lock(&mu);
    if (cached_bytes + ref.length > node_cache_limit) {
      nodes.clear();
      cached_bytes = 0;
    }
    if (ref.length <= node_cache_limit) {
      nodes.emplace(std::move(cache_key), node);
      cached_bytes += ref.length;
    }
  }
  if (node->height != height) {
    return absl::DataLossError(absl::StrCat(where, ": B+tree node of height ", node->height,
                                            " where its parent says ", height));
  }
  const std::string& first =
      node->height == 0 ? node->leaves.front().key : node->children.front().key;
  if (first < inclusive_min) {
    return absl::DataLossError(
        absl::StrCat(where, ": B+tree node's first key sorts before its parent's entry"));
  }
  return node;
}

absl::StatusOr<std::string> OcdbtReader::State::ReadValue(const DataFileId& file,
                                                          const DataReference& ref,
                                                          absl::string_view key) const {
  const std::string relative = file.path();
  absl::StatusOr<std::string> value = files.ReadRange(relative, ref.offset, ref.length);
  if (absl::IsNotFound(value.status())) {
    return absl::DataLossError(
        absl::StrCat(files.FullPath(relative), ": data file of key \"", key, "\" is missing"));
  }
  if (!value.ok()) return Annotate(value.status(), absl::StrCat("key \"", key, "\""));
  return value;
}

absl::Status OcdbtReader::State::List(const DataFileId& file, const DataReference& ref,
                                      uint8_t height, const std::string& key_prefix,
                                      absl::string_view wanted, absl::string_view inclusive_min,
                                      std::vector<std::string>* out) const {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const BtreeNode> node,
                         Node(file, ref, height, inclusive_min));
  if (node->height == 0) {
    auto it = std::lower_bound(
        node->leaves.begin(), node->leaves.end(), wanted,
        [](const ocdbt_internal::BtreeLeafEntry& e, absl::string_view k) { return e.key < k; });
    for (; it != node->leaves.end() && absl::StartsWith(it->key, wanted); ++it) {
      out->push_back(key_prefix + it->key);
    }
    return absl::OkStatus();
  }
  const auto& children = node->children;
  for (size_t i = 0; i < children.size(); ++i) {
    const auto& child = children[i];
    // Child i holds keys in [key_i, key_i+1): skip it unless that range meets the prefix.
    if (i + 1 < children.size() && children[i + 1].key <= wanted) continue;
    if (!BelowPrefixEnd(child.key, wanted)) break;
    absl::string_view common =
        absl::string_view(child.key).substr(0, child.subtree_common_prefix_length);
    absl::string_view rest;
    if (absl::StartsWith(wanted, common)) {
      rest = wanted.substr(common.size());
    } else if (!absl::StartsWith(common, wanted)) {
      continue;
    }
    CAIRN_RETURN_IF_ERROR(List(node->files[child.location.file], child.location, node->height - 1,
                               absl::StrCat(key_prefix, common), rest,
                               absl::string_view(child.key).substr(common.size()), out));
  }
  return absl::OkStatus();
}

OcdbtReader::OcdbtReader(std::unique_ptr<State> state) : state_(std::move(state)) {}
OcdbtReader::~OcdbtReader() = default;

absl::StatusOr<std::unique_ptr<OcdbtReader>> OcdbtReader::Open(const std::string& dir,
                                                               const OcdbtReaderOptions& options) {
  Filesystem* fs = options.filesystem != nullptr ? options.filesystem : Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(std::string resolved, ResolveAbove(*fs, dir));
  auto state = std::make_unique<State>(fs, std::move(resolved));
  state->node_cache_limit = options.node_cache_bytes;
  CAIRN_RETURN_IF_ERROR(state->ReadManifests());
  CAIRN_RETURN_IF_ERROR(state->SelectVersion(options.generation));
  return std::unique_ptr<OcdbtReader>(new OcdbtReader(std::move(state)));
}

const OcdbtConfig& OcdbtReader::config() const { return state_->manifest.config; }
const std::string& OcdbtReader::dir() const { return state_->files.dir(); }
const OcdbtVersion& OcdbtReader::version() const { return state_->version; }

absl::StatusOr<OcdbtReader::State::Found> OcdbtReader::State::Lookup(absl::string_view key) const {
  auto not_found = [&] {
    return absl::NotFoundError(
        absl::StrCat("key \"", key, "\" is not in the OCDBT database ", files.dir()));
  };
  if (version.empty) return not_found();
  DataFileId file = root_file;
  DataReference ref = root;
  uint8_t height = version.root_height;
  std::string inclusive_min;
  absl::string_view rest = key;
  while (true) {
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const BtreeNode> node,
                           Node(file, ref, height, inclusive_min));
    if (node->height == 0) {
      auto it = std::lower_bound(
          node->leaves.begin(), node->leaves.end(), rest,
          [](const ocdbt_internal::BtreeLeafEntry& e, absl::string_view k) { return e.key < k; });
      if (it == node->leaves.end() || it->key != rest) return not_found();
      return Found{std::move(node), &*it};
    }
    // The child that can hold `rest` is the last whose first key is not greater.
    auto it = std::upper_bound(
        node->children.begin(), node->children.end(), rest,
        [](absl::string_view k, const ocdbt_internal::BtreeInteriorEntry& e) { return k < e.key; });
    if (it == node->children.begin()) return not_found();
    const auto& child = *(it - 1);
    absl::string_view common =
        absl::string_view(child.key).substr(0, child.subtree_common_prefix_length);
    if (!absl::StartsWith(rest, common)) return not_found();
    rest.remove_prefix(common.size());
    inclusive_min = child.key.substr(common.size());
    file = node->files[child.location.file];
    ref = child.location;
    height = node->height - 1;
  }
}

absl::StatusOr<std::string> OcdbtReader::Read(absl::string_view key) const {
  CAIRN_ASSIGN_OR_RETURN(State::Found found, state_->Lookup(key));
  const ocdbt_internal::BtreeLeafEntry& entry = *found.entry;
  if (entry.inline_value) return entry.value;
  return state_->ReadValue(found.node->files[entry.location.file], entry.location, key);
}

absl::StatusOr<uint64_t> OcdbtReader::ValueSize(absl::string_view key) const {
  CAIRN_ASSIGN_OR_RETURN(State::Found found, state_->Lookup(key));
  const ocdbt_internal::BtreeLeafEntry& entry = *found.entry;
  return entry.inline_value ? entry.value.size() : entry.location.length;
}

absl::StatusOr<OcdbtReader::State::Range> OcdbtReader::State::FindRange(absl::string_view key,
                                                                        uint64_t offset,
                                                                        uint64_t length) const {
  CAIRN_ASSIGN_OR_RETURN(Found found, Lookup(key));
  const ocdbt_internal::BtreeLeafEntry& entry = *found.entry;
  const uint64_t size = entry.inline_value ? entry.value.size() : entry.location.length;
  if (offset > size || length > size - offset) {
    return absl::OutOfRangeError(absl::StrCat("bytes [", offset, ", +", length, ") of key \"", key,
                                              "\" lie past the end of its value (", size,
                                              " bytes) in the OCDBT database ", files.dir()));
  }
  Range range;
  if (entry.inline_value) {
    range.inline_bytes = absl::string_view(entry.value).substr(offset, length);
    range.node = std::move(found.node);  // keeps inline_bytes alive
    return range;
  }
  range.part = entry.location;
  if (range.part.offset > UINT64_MAX - offset) {
    return absl::DataLossError(absl::StrCat("key \"", key, "\": value offset ", range.part.offset,
                                            " overflows in the OCDBT database ", files.dir()));
  }
  range.part.offset += offset;
  range.part.length = length;
  range.file = &found.node->files[entry.location.file];
  range.node = std::move(found.node);
  return range;
}

absl::StatusOr<std::string> OcdbtReader::ReadRange(absl::string_view key, uint64_t offset,
                                                   uint64_t length) const {
  CAIRN_ASSIGN_OR_RETURN(State::Range range, state_->FindRange(key, offset, length));
  if (range.file == nullptr) return std::string(range.inline_bytes);
  return state_->ReadValue(*range.file, range.part, key);
}

absl::Status OcdbtReader::ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                                        char* out) const {
  CAIRN_ASSIGN_OR_RETURN(State::Range range, state_->FindRange(key, offset, length));
  if (range.file == nullptr) {
    if (length > 0) std::memcpy(out, range.inline_bytes.data(), length);
    return absl::OkStatus();
  }
  const std::string relative = range.file->path();
  absl::Status status = state_->files.ReadRangeInto(relative, range.part.offset, length, out);
  if (status.ok()) return status;
  if (absl::IsNotFound(status)) {
    return absl::DataLossError(absl::StrCat(state_->files.FullPath(relative),
                                            ": data file of key \"", key, "\" is missing"));
  }
  return Annotate(status, absl::StrCat("key \"", key, "\""));
}

absl::StatusOr<std::vector<std::string>> OcdbtReader::ListKeys(absl::string_view prefix) const {
  std::vector<std::string> keys;
  if (state_->version.empty) return keys;
  CAIRN_RETURN_IF_ERROR(state_->List(state_->root_file, state_->root, state_->version.root_height,
                                     "", prefix, "", &keys));
  return keys;
}

absl::StatusOr<std::vector<OcdbtVersion>> OcdbtReader::ListVersions() const {
  const State& s = *state_;
  std::vector<OcdbtVersion> versions;
  for (const VersionNodeReference& ref : s.manifest.version_nodes) {
    CAIRN_RETURN_IF_ERROR(s.CollectVersions(s.manifest.files[ref.location.file], ref, &versions));
  }
  for (const auto& entry : s.manifest.versions) versions.push_back(entry.version);
  return versions;
}

}  // namespace cairn
