#include "cairn/storage/orbax/internal/orbax_stored_tree.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/orbax/orbax_pytree_metadata.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

constexpr char kStringsFileName[] = "_strings.json";
constexpr char kOcdbtManifestName[] = "manifest.ocdbt";
// Metadata files are small; larger ones are damaged or hostile.
constexpr uint64_t kMaxMetadataBytes = uint64_t{64} << 20;

// A level of the tree being built from the flat list of leaves.
struct PendingNode {
  std::optional<bool> sequence;  // unset until a child says which kind of container it is
  std::map<std::string, std::unique_ptr<PendingNode>> dict;
  std::map<uint32_t, std::unique_ptr<PendingNode>> items;
  const OrbaxLeaf* leaf = nullptr;
};

std::string KeyPathOf(const OrbaxLeaf& leaf, size_t depth) {
  KeyPath path;
  for (size_t i = 0; i < depth && i < leaf.keys.size(); ++i) {
    if (leaf.keys[i].sequence) {
      path.Push(static_cast<size_t>(std::stoul(leaf.keys[i].name)));
    } else {
      path.Push(leaf.keys[i].name);
    }
  }
  return path.ToString();
}

// One array leaf of the tree: where its zarr array is and, once opened, the array.
struct ArrayEntry {
  const OrbaxLeaf* leaf;
  format::ArrayLeaf* node;
  std::unique_ptr<ZarrArray> array;
};

class OrbaxStoredTree final : public StoredTree {
 public:
  OrbaxStoredTree(Filesystem& fs, std::string dir, OrbaxPyTreeMetadata metadata)
      : fs_(fs), dir_(std::move(dir)), metadata_(std::move(metadata)) {}

  absl::Status Build() {
    PendingNode top;
    for (const OrbaxLeaf& leaf : metadata_.leaves) {
      PendingNode* at = &top;
      for (size_t depth = 0; depth < leaf.keys.size(); ++depth) {
        const OrbaxKey& key = leaf.keys[depth];
        if (at->leaf != nullptr || (at->sequence && *at->sequence != key.sequence)) {
          return Conflict(leaf, depth);
        }
        at->sequence = key.sequence;
        std::unique_ptr<PendingNode>& child =
            key.sequence ? at->items[static_cast<uint32_t>(std::stoul(key.name))]
                         : at->dict[key.name];
        if (!child) child = std::make_unique<PendingNode>();
        at = child.get();
      }
      if (at->leaf != nullptr || at->sequence) return Conflict(leaf, leaf.keys.size());
      at->leaf = &leaf;
    }
    for (const OrbaxLeaf& leaf : metadata_.leaves) {
      if (leaf.kind == OrbaxValueKind::kString && !leaf.skip_deserialize) {
        CAIRN_RETURN_IF_ERROR(ReadStrings());
        break;
      }
    }
    if (!top.sequence) {
      index_.mutable_root()->mutable_dict();  // an empty tree is an empty dict
      return absl::OkStatus();
    }
    KeyPath path;
    return Emit(top, path, index_.mutable_root());
  }

  const format::Node& root() const override { return index_.root(); }

  absl::StatusOr<const format::ArrayLeaf*> ResolveArray(const format::Node& node,
                                                        const KeyPath& path) override {
    const auto it = entries_.find(&node.array());
    if (it == entries_.end()) return absl::InternalError("an array node without an entry");
    ArrayEntry& entry = it->second;
    if (entry.array) return entry.node;
    const OrbaxLeaf& leaf = *entry.leaf;
    if (leaf.kind == OrbaxValueKind::kUnsupported) {
      return absl::UnimplementedError(absl::StrCat(
          "the leaf ", path.ToString(), " of the Orbax pytree in ", dir_, " has the value type '",
          leaf.value_type, "' (a custom type handler's), which cairn does not read"));
    }
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const KeyValueSource> source, Source(leaf));
    const std::string prefix = Prefix(leaf);
    absl::StatusOr<std::unique_ptr<ZarrArray>> array = ZarrArray::Open(source, prefix);
    if (absl::IsNotFound(array.status())) {
      return absl::DataLossError(absl::StrCat(
          "the Orbax pytree metadata ", JoinPath(dir_, kOrbaxPyTreeMetadataFileName), " lists ",
          path.ToString(), " but there is no zarr array '", leaf.param_name, "' (",
          source->Describe(prefix + ".zarray"), " and zarr.json are both absent)"));
    }
    CAIRN_RETURN_IF_ERROR(Annotate(array.status(), path));
    const ZarrMetadata& zarr = (*array)->metadata();
    if (leaf.kind == OrbaxValueKind::kScalar && !zarr.shape.empty()) {
      return absl::DataLossError(absl::StrCat("the Orbax pytree metadata says ", path.ToString(),
                                              " is a scalar, but its array has the ", "shape ",
                                              ShapeToString(zarr.shape)));
    }
    if (leaf.write_shape && leaf.write_shape->size() != zarr.shape.size()) {
      return absl::DataLossError(absl::StrCat("the Orbax pytree metadata gives ", path.ToString(),
                                              " the write shape ", ShapeToString(*leaf.write_shape),
                                              " but its array has the shape ",
                                              ShapeToString(zarr.shape)));
    }
    entry.node->set_dtype(static_cast<uint32_t>(zarr.dtype));
    entry.node->set_stored_dtype(static_cast<uint32_t>(zarr.dtype));
    entry.node->clear_global_shape();
    for (int64_t dim : zarr.shape) entry.node->add_global_shape(static_cast<uint64_t>(dim));
    entry.array = *std::move(array);
    return entry.node;
  }

  std::optional<LeafType> ScalarType(const format::ArrayLeaf& leaf) const override {
    const auto it = entries_.find(&leaf);
    if (it == entries_.end() || it->second.leaf->kind != OrbaxValueKind::kScalar) {
      return std::nullopt;
    }
    const DType dtype = static_cast<DType>(leaf.dtype());
    if (dtype == DType::kBool) return LeafType::kBool;
    return IsInteger(dtype) ? LeafType::kInt : LeafType::kDouble;
  }

  absl::StatusOr<uint64_t> Prepare(const format::ArrayLeaf& leaf, const Shape& origin,
                                   const Shape& shape, const std::string& path) override {
    const ZarrArray& array = ArrayOf(leaf);
    // Only the part inside the array can be stored.
    Shape inner_origin(origin.size()), inner_shape(shape.size());
    for (size_t d = 0; d < shape.size(); ++d) {
      const int64_t extent = array.metadata().shape[d];
      inner_origin[d] = std::min(origin[d], extent);
      inner_shape[d] =
          std::max<int64_t>(0, std::min(origin[d] + shape[d], extent) - inner_origin[d]);
    }
    absl::StatusOr<uint64_t> stored = array.CountStoredElements(inner_origin, inner_shape);
    if (!stored.ok()) {
      return absl::Status(stored.status().code(),
                          absl::StrCat("loading ", path, ": ", stored.status().message()));
    }
    return stored;
  }

  absl::StatusOr<bool> Plan(const format::ArrayLeaf& leaf, const Array& destination,
                            const Shape& origin, std::string path, bool saturate_casts) override {
    const ZarrArray& array = ArrayOf(leaf);
    ZarrReadOptions read;
    read.every_chunk_stored = metadata_.store_array_data_equal_to_fill_value;
    read.saturate_casts = saturate_casts;
    std::vector<ZarrChunkRead> reads;
    CAIRN_RETURN_IF_ERROR(array.Plan(origin, destination, read, path, &reads));
    for (ZarrChunkRead& one : reads) planned_.emplace_back(&array, std::move(one));
    bool inside = true;
    for (size_t d = 0; d < origin.size(); ++d) {
      inside = inside && origin[d] + destination.shape()[d] <= array.metadata().shape[d];
    }
    return inside;
  }

  absl::Status ExecutePlanned(ThreadPool* pool, int parallelism) override {
    absl::Status status = ParallelFor(pool, planned_.size(), parallelism, [&](size_t i) {
      return planned_[i].first->Execute(planned_[i].second);
    });
    planned_.clear();
    return status;
  }

  ArrayStorageInfo StorageInfo(const format::ArrayLeaf& leaf) const override {
    const ZarrMetadata& zarr = ArrayOf(leaf).metadata();
    ArrayStorageInfo info;
    info.stored_dtype = zarr.dtype;
    info.chunk_shape = zarr.inner_chunk_shape ? *zarr.inner_chunk_shape : zarr.chunk_shape;
    info.compressed = zarr.compressed;
    info.num_shards = 1;
    return info;
  }

  absl::Status DescribeStore(StoreMetadata* metadata) const override {
    metadata->custom_metadata = metadata_.custom_metadata;
    CAIRN_ASSIGN_OR_RETURN(const bool ocdbt, UsesOcdbt());
    metadata->layout = ocdbt ? StoreLayout::kAggregated : StoreLayout::kPerLeaf;
    metadata->writer = absl::StrCat("orbax (", metadata_.use_zarr3 ? "zarr v3" : "zarr v2",
                                    ocdbt ? " in OCDBT" : ", one directory per array", ")");
    return absl::OkStatus();
  }

 private:
  absl::Status Conflict(const OrbaxLeaf& leaf, size_t depth) const {
    return absl::DataLossError(
        absl::StrCat("the Orbax pytree metadata ", JoinPath(dir_, kOrbaxPyTreeMetadataFileName),
                     " is inconsistent: ", KeyPathOf(leaf, depth),
                     " is both a leaf and a container, or both a dict and a sequence"));
  }

  absl::Status Annotate(const absl::Status& status, const KeyPath& path) const {
    if (status.ok()) return status;
    return absl::Status(status.code(), absl::StrCat("reading ", path.ToString(), " of the Orbax ",
                                                    "pytree in ", dir_, ": ", status.message()));
  }

  // Writes `pending` as `out`, registering array leaves.
  absl::Status Emit(const PendingNode& pending, KeyPath& path, format::Node* out) {
    if (pending.leaf != nullptr) return EmitLeaf(*pending.leaf, path, out);
    if (*pending.sequence) {
      format::Sequence* list = out->mutable_list();
      uint32_t expected = 0;
      for (const auto& [index, child] : pending.items) {
        if (index != expected) {
          return absl::DataLossError(absl::StrCat(
              "the Orbax pytree metadata ", JoinPath(dir_, kOrbaxPyTreeMetadataFileName),
              " has no leaf at index ", expected, " of the sequence ", path.ToString()));
        }
        ++expected;
        path.Push(static_cast<size_t>(index));
        CAIRN_RETURN_IF_ERROR(Emit(*child, path, list->add_items()));
        path.Pop();
      }
      return absl::OkStatus();
    }
    format::Dict* dict = out->mutable_dict();
    for (const auto& [key, child] : pending.dict) {
      dict->add_keys(key);
      path.Push(key);
      CAIRN_RETURN_IF_ERROR(Emit(*child, path, dict->add_values()));
      path.Pop();
    }
    return absl::OkStatus();
  }

  absl::Status EmitLeaf(const OrbaxLeaf& leaf, const KeyPath& path, format::Node* out) {
    // Orbax restores a skipped leaf as None without reading it, except an empty container
    // (which Orbax itself always records as skipped): that is restored as itself.
    const bool empty_value =
        leaf.kind == OrbaxValueKind::kNone || leaf.kind == OrbaxValueKind::kEmptyDict ||
        leaf.kind == OrbaxValueKind::kEmptyList || leaf.kind == OrbaxValueKind::kEmptyTuple;
    if (leaf.skip_deserialize && !empty_value) {
      out->mutable_none();
      return absl::OkStatus();
    }
    switch (leaf.kind) {
      case OrbaxValueKind::kNone:
        out->mutable_none();
        return absl::OkStatus();
      case OrbaxValueKind::kEmptyDict:
        out->mutable_dict();
        return absl::OkStatus();
      case OrbaxValueKind::kEmptyList:
        out->mutable_list();
        return absl::OkStatus();
      case OrbaxValueKind::kEmptyTuple:
        out->mutable_tuple();
        return absl::OkStatus();
      case OrbaxValueKind::kString: {
        const auto it = strings_.find(leaf.param_name);
        if (it == strings_.end() || !it->is_string()) {
          return absl::DataLossError(absl::StrCat(
              JoinPath(dir_, kStringsFileName), " holds no string for ", path.ToString(),
              " (parameter '", leaf.param_name, "'), which the pytree metadata lists"));
        }
        out->set_string_value(it->get<std::string>());
        return absl::OkStatus();
      }
      case OrbaxValueKind::kArray:
      case OrbaxValueKind::kScalar:
      case OrbaxValueKind::kUnsupported: {
        format::ArrayLeaf* node = out->mutable_array();
        entries_.emplace(node, ArrayEntry{&leaf, node, nullptr});
        return absl::OkStatus();
      }
    }
    return absl::InternalError("unknown Orbax value kind");
  }

  absl::Status ReadStrings() {
    const std::string path = JoinPath(dir_, kStringsFileName);
    CAIRN_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs_, path, kMaxMetadataBytes));
    CAIRN_ASSIGN_OR_RETURN(strings_, ParseJsonFromDisk(text, path));
    if (!strings_.is_object()) {
      return absl::DataLossError(absl::StrCat(path, " is not a JSON object of strings"));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<bool> UsesOcdbt() const {
    if (metadata_.use_ocdbt) return *metadata_.use_ocdbt;
    // Older files do not say: the database's manifest does.
    return PathExists(fs_, JoinPath(dir_, kOcdbtManifestName));
  }

  std::string Prefix(const OrbaxLeaf& leaf) const { return leaf.param_name + "/"; }

  absl::StatusOr<std::shared_ptr<const KeyValueSource>> Source(const OrbaxLeaf& leaf) {
    if (source_) return source_;
    CAIRN_ASSIGN_OR_RETURN(const bool ocdbt, UsesOcdbt());
    if (!ocdbt) {
      source_ = DirectoryKeyValueSource(fs_, dir_);
      return source_;
    }
    OcdbtReaderOptions reader_options;
    reader_options.filesystem = &fs_;
    absl::StatusOr<std::unique_ptr<OcdbtReader>> reader = OcdbtReader::Open(dir_, reader_options);
    if (!reader.ok()) {
      return absl::Status(
          reader.status().code(),
          absl::StrCat("the Orbax pytree in ", dir_, " keeps its arrays in an OCDBT database, ",
                       "which cannot be opened: ", reader.status().message()));
    }
    source_ = OcdbtKeyValueSource(std::shared_ptr<const OcdbtReader>(*std::move(reader)));
    return source_;
  }

  const ZarrArray& ArrayOf(const format::ArrayLeaf& leaf) const {
    return *entries_.at(&leaf).array;  // resolved before the loader asks anything else
  }

  Filesystem& fs_;
  const std::string dir_;
  const OrbaxPyTreeMetadata metadata_;
  format::TreeIndex index_;
  nlohmann::json strings_;
  absl::flat_hash_map<const format::ArrayLeaf*, ArrayEntry> entries_;
  std::shared_ptr<const KeyValueSource> source_;
  std::vector<std::pair<const ZarrArray*, ZarrChunkRead>> planned_;
};

// Whether `dir` holds a file (not a directory) named `name`.
absl::StatusOr<bool> HoldsFile(Filesystem& fs, const std::string& dir, const char* name) {
  absl::StatusOr<FileInfo> info = fs.Stat(JoinPath(dir, name));
  if (absl::IsNotFound(info.status())) return false;
  CAIRN_RETURN_IF_ERROR(info.status());
  return !info->is_directory();
}

}  // namespace

absl::StatusOr<bool> HoldsOrbaxTree(Filesystem& fs, const std::string& dir) {
  return HoldsFile(fs, dir, kOrbaxPyTreeMetadataFileName);
}

absl::StatusOr<bool> HoldsMsgpackCheckpoint(Filesystem& fs, const std::string& dir) {
  return HoldsFile(fs, dir, kMsgpackCheckpointFileName);
}

absl::StatusOr<std::unique_ptr<StoredTree>> OpenOrbaxStoredTree(Filesystem& fs,
                                                                const std::string& dir,
                                                                const StoreLoadOptions& options) {
  const std::string path = JoinPath(dir, kOrbaxPyTreeMetadataFileName);
  CAIRN_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs, path, kMaxMetadataBytes));
  CAIRN_ASSIGN_OR_RETURN(OrbaxPyTreeMetadata metadata, ParseOrbaxPyTreeMetadata(text, path));
  auto tree = std::make_unique<OrbaxStoredTree>(fs, dir, std::move(metadata));
  CAIRN_RETURN_IF_ERROR(tree->Build());
  return std::unique_ptr<StoredTree>(std::move(tree));
}

}  // namespace cairn
