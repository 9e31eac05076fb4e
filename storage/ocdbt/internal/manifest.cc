#include "cairn/storage/ocdbt/internal/manifest.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/internal/byte_reader.h"
#include "cairn/storage/ocdbt/internal/byte_writer.h"
#include "cairn/storage/ocdbt/internal/encoded_object.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

constexpr uint64_t kMaxUint32 = 0xFFFFFFFF;
// zstd's own level range (ZSTD_minCLevel() is -(1 << 17), ZSTD_maxCLevel() 22).
constexpr int64_t kMinZstdLevel = -(int64_t{1} << 17);
constexpr int64_t kMaxZstdLevel = 22;

absl::Status ReadConfig(ByteReader& reader, OcdbtConfig* config) {
  absl::string_view uuid;
  CAIRN_RETURN_IF_ERROR(reader.ReadBytes(16, &uuid, "uuid"));
  for (size_t i = 0; i < 16; ++i) config->uuid[i] = static_cast<uint8_t>(uuid[i]);
  uint8_t kind;
  CAIRN_RETURN_IF_ERROR(reader.ReadByte(&kind, "manifest kind"));
  if (kind > 1) return reader.Error(absl::StrCat("unknown manifest kind ", kind));
  config->manifest_kind = static_cast<OcdbtConfig::ManifestKind>(kind);
  uint64_t value;
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&value, "max inline value bytes", kMaxUint32));
  config->max_inline_value_bytes = static_cast<uint32_t>(value);
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&value, "max decoded node bytes", kMaxUint32));
  config->max_decoded_node_bytes = static_cast<uint32_t>(value);
  CAIRN_RETURN_IF_ERROR(reader.ReadByte(&config->version_tree_arity_log2, "version tree arity"));
  if (config->version_tree_arity_log2 == 0 ||
      config->version_tree_arity_log2 > kMaxVersionTreeArityLog2) {
    return reader.Error(absl::StrCat("version tree arity log2 ", config->version_tree_arity_log2,
                                     " outside [1, ", kMaxVersionTreeArityLog2, "]"));
  }
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&value, "compression method", kMaxUint32));
  if (value == 0) {
    config->compression = OcdbtConfig::Compression::kNone;
    config->zstd_level = 0;
  } else if (value == 1) {
    config->compression = OcdbtConfig::Compression::kZstd;
    uint32_t level;
    CAIRN_RETURN_IF_ERROR(reader.ReadLittleEndian32(&level, "zstd level"));
    config->zstd_level = static_cast<int32_t>(level);
    if (config->zstd_level < kMinZstdLevel || config->zstd_level > kMaxZstdLevel) {
      return reader.Error(absl::StrCat("zstd level ", config->zstd_level, " out of range"));
    }
  } else {
    return reader.Error(absl::StrCat("unknown compression method ", value));
  }
  return absl::OkStatus();
}

// The entries of a version tree leaf, or the manifest's inline versions.
absl::Status ReadGenerationReferences(ByteReader& reader, uint8_t arity_log2, size_t num_files,
                                      std::vector<GenerationReference>* out) {
  const uint64_t max_entries = uint64_t{1} << arity_log2;
  uint64_t count;
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&count, "version count", max_entries));
  // Generation, height, reference (3), statistics (3) and an 8-byte commit time.
  if (count == 0 || count > reader.remaining() / 16) {
    return reader.Error(absl::StrCat("version count ", count, " is 0 or exceeds what ",
                                     reader.remaining(), " bytes can hold"));
  }
  out->assign(count, GenerationReference{});
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.version.generation, "generation number"));
  }
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadByte(&entry.version.root_height, "root height"));
  }
  std::vector<DataReference> roots;
  CAIRN_RETURN_IF_ERROR(ReadDataReferences(reader, num_files, count, true, &roots));
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.version.num_keys, "key count"));
  }
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.version.num_tree_bytes, "tree bytes"));
  }
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(
        reader.ReadVarint(&entry.version.num_indirect_value_bytes, "indirect value bytes"));
  }
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(
        reader.ReadLittleEndian64(&entry.version.commit_time_nanos, "commit time"));
  }
  for (size_t i = 0; i < count; ++i) {
    GenerationReference& entry = (*out)[i];
    entry.root = roots[i];
    entry.version.empty = IsMissing(roots[i]);
    const OcdbtVersion& v = entry.version;
    if (v.empty && (v.root_height != 0 || v.num_keys != 0 || v.num_tree_bytes != 0 ||
                    v.num_indirect_value_bytes != 0)) {
      return reader.Error(
          absl::StrCat("empty generation ", v.generation, " has a root height or statistics"));
    }
    if (v.generation == 0) return reader.Error("generation number 0");
    if (i > 0 && v.generation <= (*out)[i - 1].version.generation) {
      return reader.Error(absl::StrCat("generation ", v.generation, " does not follow ",
                                       (*out)[i - 1].version.generation));
    }
  }
  // All entries of one leaf belong to the same run of 2^arity generations.
  const uint64_t last = out->back().version.generation;
  const uint64_t first_allowed = last - (last - 1) % max_entries;
  if (out->front().version.generation < first_allowed) {
    return reader.Error(absl::StrCat("generations ", out->front().version.generation, "..", last,
                                     " do not fit one version tree leaf"));
  }
  return absl::OkStatus();
}

absl::Status ReadVersionNodeReferences(ByteReader& reader, size_t num_files, uint64_t max_count,
                                       bool with_heights, std::vector<VersionNodeReference>* out) {
  uint64_t count;
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&count, "version node count", max_count));
  // Generation, reference (3), generation count and an 8-byte commit time.
  if (count > reader.remaining() / 13) {
    return reader.Error(absl::StrCat("version node count ", count, " exceeds what ",
                                     reader.remaining(), " bytes can hold"));
  }
  out->assign(count, VersionNodeReference{});
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.generation, "generation number"));
  }
  std::vector<DataReference> locations;
  CAIRN_RETURN_IF_ERROR(ReadDataReferences(reader, num_files, count, false, &locations));
  for (size_t i = 0; i < count; ++i) (*out)[i].location = locations[i];
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&entry.num_generations, "generation count"));
  }
  for (auto& entry : *out) {
    CAIRN_RETURN_IF_ERROR(reader.ReadLittleEndian64(&entry.commit_time_nanos, "commit time"));
  }
  if (with_heights) {
    for (auto& entry : *out) CAIRN_RETURN_IF_ERROR(reader.ReadByte(&entry.height, "node height"));
  }
  for (size_t i = 0; i < count; ++i) {
    if ((*out)[i].generation == 0) return reader.Error("version node generation number 0");
    if (i > 0 && (*out)[i].generation <= (*out)[i - 1].generation) {
      return reader.Error(absl::StrCat("version node generation ", (*out)[i].generation,
                                       " does not follow ", (*out)[i - 1].generation));
    }
  }
  return absl::OkStatus();
}

// The manifest names at most one version node per height, each covering the run of generations
// that height holds below the previous one's.
absl::Status ValidateManifestVersionNodes(const ByteReader& reader, uint8_t arity_log2,
                                          uint64_t latest,
                                          const std::vector<VersionNodeReference>& nodes) {
  const uint8_t max_height = MaxVersionTreeHeight(arity_log2);
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (nodes[i].height == 0 || nodes[i].height > max_height) {
      return reader.Error(
          absl::StrCat("version node height ", nodes[i].height, " outside [1, ", max_height, "]"));
    }
    if (i > 0 && nodes[i].height >= nodes[i - 1].height) {
      return reader.Error("version node heights do not decrease");
    }
  }
  auto round_down = [](uint64_t value, unsigned bits) {
    return bits >= 64 ? uint64_t{0} : (value >> bits) << bits;
  };
  size_t unmatched = nodes.size();
  uint64_t upper = round_down(latest - 1, arity_log2);
  for (unsigned height = 1; upper != 0 && unmatched > 0; ++height) {
    uint64_t next = round_down(upper - 1, (height + 1) * arity_log2);
    const VersionNodeReference& node = nodes[unmatched - 1];
    if (node.height == height) {
      if (node.generation < next + 1 || node.generation > upper) {
        return reader.Error(absl::StrCat("version node of height ", height, " ends at generation ",
                                         node.generation, ", outside [", next + 1, ", ", upper,
                                         "]"));
      }
      --unmatched;
    }
    upper = next;
  }
  if (unmatched != 0) {
    return reader.Error(absl::StrCat("version node ending at generation ",
                                     nodes[unmatched - 1].generation,
                                     " has no place below generation ", latest));
  }
  return absl::OkStatus();
}

absl::Status ValidateInteriorVersionNode(const ByteReader& reader, const VersionTreeNode& node) {
  const uint64_t arity = uint64_t{1} << node.version_tree_arity_log2;
  const auto& children = node.children;
  if (children.empty()) return reader.Error("version node without children");
  const uint64_t stride = uint64_t{1} << (node.version_tree_arity_log2 * node.height);
  for (size_t i = 0; i < children.size(); ++i) {
    const VersionNodeReference& child = children[i];
    if (child.generation % stride != 0) {
      return reader.Error(
          absl::StrCat("child generation ", child.generation, " is not a multiple of ", stride));
    }
    if (child.num_generations > stride) {
      return reader.Error(
          absl::StrCat("child holds ", child.num_generations, " generations, more than ", stride));
    }
    if (i > 0 && (child.generation - 1) / stride == (children[i - 1].generation - 1) / stride) {
      return reader.Error("two children cover the same generations");
    }
  }
  if ((children.back().generation - 1) / stride / arity !=
      (children.front().generation - 1) / stride / arity) {
    return reader.Error("children span more than one node's generations");
  }
  return absl::OkStatus();
}

void AppendConfig(const OcdbtConfig& config, std::string* out) {
  out->append(reinterpret_cast<const char*>(config.uuid.data()), config.uuid.size());
  AppendByte(out, static_cast<uint8_t>(config.manifest_kind));
  AppendVarint(out, config.max_inline_value_bytes);
  AppendVarint(out, config.max_decoded_node_bytes);
  AppendByte(out, config.version_tree_arity_log2);
  if (config.compression == OcdbtConfig::Compression::kZstd) {
    AppendVarint(out, 1);
    AppendLittleEndian(out, static_cast<uint32_t>(config.zstd_level), 4);
  } else {
    AppendVarint(out, 0);
  }
}

void AppendGenerationReferences(const std::vector<GenerationReference>& versions,
                                std::string* out) {
  AppendVarint(out, versions.size());
  for (const auto& v : versions) AppendVarint(out, v.version.generation);
  for (const auto& v : versions) AppendByte(out, v.version.root_height);
  std::vector<DataReference> roots;
  for (const auto& v : versions) {
    roots.push_back(v.version.empty ? DataReference{v.root.file, ~uint64_t{0}, ~uint64_t{0}}
                                    : v.root);
  }
  AppendDataReferences(roots, out);
  for (const auto& v : versions) AppendVarint(out, v.version.num_keys);
  for (const auto& v : versions) AppendVarint(out, v.version.num_tree_bytes);
  for (const auto& v : versions) AppendVarint(out, v.version.num_indirect_value_bytes);
  for (const auto& v : versions) AppendLittleEndian(out, v.version.commit_time_nanos, 8);
}

void AppendManifestVersionNodes(const std::vector<VersionNodeReference>& nodes, std::string* out) {
  AppendVarint(out, nodes.size());
  for (const auto& n : nodes) AppendVarint(out, n.generation);
  std::vector<DataReference> locations;
  for (const auto& n : nodes) locations.push_back(n.location);
  AppendDataReferences(locations, out);
  for (const auto& n : nodes) AppendVarint(out, n.num_generations);
  for (const auto& n : nodes) AppendLittleEndian(out, n.commit_time_nanos, 8);
  for (const auto& n : nodes) AppendByte(out, n.height);
}

}  // namespace

std::string EncodeManifestBody(const Manifest& manifest) {
  std::string out;
  AppendConfig(manifest.config, &out);
  if (manifest.config.manifest_kind == OcdbtConfig::ManifestKind::kNumbered) return out;
  AppendDataFileTable(manifest.files, &out);
  AppendGenerationReferences(manifest.versions, &out);
  AppendManifestVersionNodes(manifest.version_nodes, &out);
  return out;
}

absl::StatusOr<Manifest> DecodeManifest(absl::string_view encoded) {
  CAIRN_ASSIGN_OR_RETURN(std::string body,
                         DecodeEncodedObject(encoded, kManifestMagic, kMaxDecodedManifestBytes));
  ByteReader reader(body);
  Manifest manifest;
  CAIRN_RETURN_IF_ERROR(ReadConfig(reader, &manifest.config));
  if (manifest.config.manifest_kind == OcdbtConfig::ManifestKind::kNumbered) {
    CAIRN_RETURN_IF_ERROR(reader.ExpectEnd());
    return manifest;
  }
  const uint8_t arity_log2 = manifest.config.version_tree_arity_log2;
  CAIRN_RETURN_IF_ERROR(ReadDataFileTable(reader, "", &manifest.files));
  CAIRN_RETURN_IF_ERROR(
      ReadGenerationReferences(reader, arity_log2, manifest.files.size(), &manifest.versions));
  CAIRN_RETURN_IF_ERROR(ReadVersionNodeReferences(reader, manifest.files.size(),
                                                  MaxVersionTreeHeight(arity_log2), true,
                                                  &manifest.version_nodes));
  CAIRN_RETURN_IF_ERROR(ValidateManifestVersionNodes(
      reader, arity_log2, manifest.versions.back().version.generation, manifest.version_nodes));
  CAIRN_RETURN_IF_ERROR(reader.ExpectEnd());
  return manifest;
}

absl::StatusOr<VersionTreeNode> DecodeVersionTreeNode(absl::string_view encoded,
                                                      absl::string_view transitive_path) {
  CAIRN_ASSIGN_OR_RETURN(std::string body, DecodeEncodedObject(encoded, kVersionTreeNodeMagic,
                                                               kMaxDecodedManifestBytes));
  ByteReader reader(body);
  VersionTreeNode node;
  CAIRN_RETURN_IF_ERROR(reader.ReadByte(&node.version_tree_arity_log2, "version tree arity"));
  if (node.version_tree_arity_log2 == 0 ||
      node.version_tree_arity_log2 > kMaxVersionTreeArityLog2) {
    return reader.Error(absl::StrCat("version tree arity log2 ", node.version_tree_arity_log2,
                                     " outside [1, ", kMaxVersionTreeArityLog2, "]"));
  }
  CAIRN_RETURN_IF_ERROR(reader.ReadByte(&node.height, "version node height"));
  if (node.height > MaxVersionTreeHeight(node.version_tree_arity_log2)) {
    return reader.Error(absl::StrCat("version node height ", node.height, " too large"));
  }
  CAIRN_RETURN_IF_ERROR(ReadDataFileTable(reader, transitive_path, &node.files));
  if (node.height == 0) {
    CAIRN_RETURN_IF_ERROR(ReadGenerationReferences(reader, node.version_tree_arity_log2,
                                                   node.files.size(), &node.versions));
  } else {
    CAIRN_RETURN_IF_ERROR(ReadVersionNodeReferences(reader, node.files.size(),
                                                    uint64_t{1} << node.version_tree_arity_log2,
                                                    false, &node.children));
    for (auto& child : node.children) child.height = node.height - 1;
    CAIRN_RETURN_IF_ERROR(ValidateInteriorVersionNode(reader, node));
  }
  CAIRN_RETURN_IF_ERROR(reader.ExpectEnd());
  return node;
}

}  // namespace cairn::ocdbt_internal
