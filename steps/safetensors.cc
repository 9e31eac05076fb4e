#include "cairn/steps/safetensors.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cairn/storage/safetensors/safetensors_dtype.h"
#include "cairn/storage/safetensors/safetensors_header.h"
#include "cairn/storage/safetensors/safetensors_reader.h"
#include "cairn/storage/safetensors/safetensors_writer.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/utf8.h"

namespace cairn {
namespace {

Filesystem& FsOf(Filesystem* filesystem) {
  return filesystem ? *filesystem : *Filesystem::Default();
}

// Rebuilds `node` with each leaf replaced by `leaf_fn(ordinal, leaf)`, leaves numbered in
// ForEachLeaf's order, so that a walk and a later rebuild agree on which leaf is which.
Tree Rebuild(const Tree& node, size_t& ordinal,
             const std::function<Tree(size_t, const Tree&)>& leaf_fn) {
  if (!node.is_container()) return leaf_fn(ordinal++, node);
  if (node.kind() == Tree::Kind::kDict) {
    std::vector<Tree> values;
    values.reserve(node.size());
    for (const Tree& child : node.children()) values.push_back(Rebuild(child, ordinal, leaf_fn));
    // The keys are those of a valid tree: distinct.
    return Tree::DictFrom(node.keys(), std::move(values)).value();
  }
  Tree result = node.kind() == Tree::Kind::kList ? Tree::List() : Tree::Tuple();
  for (const Tree& child : node.children()) result.Append(Rebuild(child, ordinal, leaf_fn));
  return result;
}

Tree Rebuild(const Tree& node, const std::function<Tree(size_t, const Tree&)>& leaf_fn) {
  size_t ordinal = 0;
  return Rebuild(node, ordinal, leaf_fn);
}

// One tensor of the export: where its bytes come from.
struct Source {
  KeyPath path;
  // Set for scalars, whose values the first pass loaded: their bytes.
  std::optional<std::string> bytes;
};

template <typename T>
std::string BytesOf(T value) {
  return std::string(reinterpret_cast<const char*>(&value), sizeof(value));
}

absl::Status Refuse(const KeyPath& path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("cannot export ", path.ToString(), " to safetensors: ", why));
}

// The checkpoint's custom metadata as __metadata__ strings; none for a tree directory.
absl::StatusOr<std::map<std::string, std::string>> CheckpointMetadataStrings(
    const std::string& dir, const SafetensorsExportOptions& options) {
  std::map<std::string, std::string> result;
  if (!options.include_checkpoint_metadata) return result;
  // A tree directory has no checkpoint metadata (and CheckpointMetadataOf refuses it).
  Filesystem& fs = FsOf(options.filesystem);
  CAIRN_ASSIGN_OR_RETURN(const std::string resolved, ResolveAbove(fs, dir));
  CAIRN_ASSIGN_OR_RETURN(const bool has_metadata,
                         PathExists(fs, JoinPath(resolved, kCheckpointMetadataFileName)));
  if (!has_metadata) return result;
  CheckpointOptions checkpoint;
  checkpoint.filesystem = options.filesystem;
  CAIRN_ASSIGN_OR_RETURN(const CheckpointMetadata metadata, CheckpointMetadataOf(dir, checkpoint));
  if (!metadata.custom_metadata.is_object()) return result;
  for (const auto& [key, value] : metadata.custom_metadata.items()) {
    result[key] = value.is_string()
                      ? value.get<std::string>()
                      : value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return result;
}

}  // namespace

absl::StatusOr<std::string> SafetensorsTensorName(const KeyPath& path) {
  if (path.is_root()) {
    return Refuse(path, "a safetensors file holds named tensors, not a single leaf");
  }
  std::string name;
  for (const KeyPath::Entry& entry : path.entries()) {
    if (!name.empty()) name += '.';
    if (entry.is_index) {
      absl::StrAppend(&name, entry.index);
    } else {
      if (entry.key.empty()) return Refuse(path, "an empty key cannot be spelled in a name");
      name += entry.key;
    }
  }
  if (name == kSafetensorsMetadataKey) {
    return Refuse(path, "the name __metadata__ is reserved for the file's metadata");
  }
  return name;
}

absl::Status ExportSafetensors(const std::string& dir, const std::string& out_path,
                               const SafetensorsExportOptions& options) {
  Filesystem& fs = FsOf(options.filesystem);
  CheckpointOptions checkpoint;
  checkpoint.filesystem = options.filesystem;
  CAIRN_ASSIGN_OR_RETURN(const StoreMetadata metadata, Metadata(dir, options.name, checkpoint));

  // Every leaf's tensor, and the scalars to read in a first pass.
  std::vector<SafetensorsTensor> tensors;
  std::map<std::string, size_t> ordinal_of;  // tensor name -> leaf ordinal
  std::map<size_t, Source> sources;          // leaf ordinal -> where its bytes come from
  std::map<std::string, KeyPath> named;      // tensor name -> key path, for collisions
  std::vector<size_t> scalars;
  absl::Status refused;
  size_t ordinal = 0;
  metadata.tree.ForEachLeaf([&](const KeyPath& path, const Tree& leaf) {
    const size_t this_leaf = ordinal++;
    if (!refused.ok() || leaf.kind() == Tree::Kind::kNone) return;
    const bool is_array = leaf.kind() == Tree::Kind::kArraySpec;
    const bool is_scalar =
        leaf.kind() == Tree::Kind::kTypeOnly &&
        (leaf.type_only() == LeafType::kInt || leaf.type_only() == LeafType::kDouble ||
         leaf.type_only() == LeafType::kBool || leaf.type_only() == LeafType::kArray);
    if (!is_array && !is_scalar) {
      refused = Refuse(
          path, absl::StrCat("a ",
                             leaf.kind() == Tree::Kind::kTypeOnly ? LeafTypeName(leaf.type_only())
                                                                  : TreeKindName(leaf.kind()),
                             " leaf has no tensor form"));
      return;
    }
    absl::StatusOr<std::string> name = SafetensorsTensorName(path);
    if (!name.ok()) {
      refused = name.status();
      return;
    }
    auto [it, inserted] = named.emplace(*name, path);
    if (!inserted) {
      refused = Refuse(path, absl::StrCat("its name \"", EscapeForMessage(*name),
                                          "\" is also the name of ", it->second.ToString()));
      return;
    }
    ordinal_of[*name] = this_leaf;
    sources[this_leaf].path = path;
    if (is_scalar) {
      scalars.push_back(this_leaf);
      return;
    }
    if (!leaf.spec().dtype || !leaf.spec().shape) {
      refused = Refuse(path, "the checkpoint's metadata gives no dtype and shape for it");
      return;
    }
    SafetensorsTensor tensor;
    tensor.name = *name;
    tensor.dtype = *leaf.spec().dtype;
    tensor.shape = *leaf.spec().shape;
    absl::StatusOr<absl::string_view> dtype = SafetensorsDTypeName(tensor.dtype);
    if (!dtype.ok()) {
      refused = Refuse(path, dtype.status().message());
      return;
    }
    tensors.push_back(std::move(tensor));
  });
  CAIRN_RETURN_IF_ERROR(refused);
  uint64_t loads = 0;

  // Scalars are small: one load reads all of them, with every array left out.
  if (!scalars.empty()) {
    const Tree abstract = Rebuild(metadata.tree, [&](size_t leaf_ordinal, const Tree& leaf) {
      return leaf.kind() == Tree::Kind::kArraySpec ? Tree::Placeholder() : Tree(leaf);
    });
    CAIRN_ASSIGN_OR_RETURN(const Tree loaded, Load(dir, abstract, options.name, checkpoint));
    ++loads;
    std::map<size_t, const Tree*> loaded_leaves;
    size_t loaded_ordinal = 0;
    loaded.ForEachLeaf(
        [&](const KeyPath&, const Tree& leaf) { loaded_leaves[loaded_ordinal++] = &leaf; });
    for (size_t scalar : scalars) {
      Source& source = sources[scalar];
      const Tree* leaf = loaded_leaves.count(scalar) ? loaded_leaves[scalar] : nullptr;
      SafetensorsTensor tensor;
      CAIRN_ASSIGN_OR_RETURN(tensor.name, SafetensorsTensorName(source.path));
      if (leaf != nullptr && leaf->kind() == Tree::Kind::kInt) {
        tensor.dtype = DType::kInt64;
        source.bytes = BytesOf<int64_t>(leaf->int_value());
      } else if (leaf != nullptr && leaf->kind() == Tree::Kind::kDouble) {
        tensor.dtype = DType::kFloat64;
        source.bytes = BytesOf<double>(leaf->double_value());
      } else if (leaf != nullptr && leaf->kind() == Tree::Kind::kBool) {
        tensor.dtype = DType::kBool;
        source.bytes = std::string(1, leaf->bool_value() ? '\1' : '\0');
      } else if (leaf != nullptr && leaf->kind() == Tree::Kind::kArray) {
        const Array& array = leaf->array();
        absl::Status mapped = SafetensorsDTypeName(array.dtype()).status();
        if (!mapped.ok()) return Refuse(source.path, mapped.message());
        tensor.dtype = array.dtype();
        tensor.shape = array.shape();
        source.bytes = std::string(static_cast<const char*>(array.data()), array.byte_size());
      } else {
        return Refuse(source.path, "the checkpoint did not return a number for it");
      }
      tensors.push_back(std::move(tensor));
    }
  }

  SafetensorsHeader header;
  CAIRN_RETURN_IF_ERROR(LayOutSafetensors(tensors));
  header.tensors = std::move(tensors);
  CAIRN_ASSIGN_OR_RETURN(header.metadata, CheckpointMetadataStrings(dir, options));
  for (const auto& [key, value] : options.metadata) header.metadata[key] = value;

  // Batches of tensors that lie next to each other in the file, each loaded in one call into
  // one reused buffer and written with one append.
  struct Batch {
    size_t first = 0;
    size_t last = 0;  // exclusive
    uint64_t bytes = 0;
  };
  std::vector<Batch> batches;
  uint64_t buffer_bytes = 0;
  for (size_t i = 0; i < header.tensors.size(); ++i) {
    const uint64_t bytes = header.tensors[i].end - header.tensors[i].begin;
    if (batches.empty() || (batches.back().bytes + bytes > options.batch_bytes &&
                            batches.back().last > batches.back().first)) {
      batches.push_back(Batch{i, i, 0});
    }
    batches.back().last = i + 1;
    batches.back().bytes += bytes;
    buffer_bytes = std::max(buffer_bytes, batches.back().bytes);
  }
  CAIRN_ASSIGN_OR_RETURN(
      const Array buffer,
      ArrayAllocator::AllocateUninitialized(DType::kUInt8, {static_cast<int64_t>(buffer_bytes)}));
  char* const base = static_cast<char*>(buffer.mutable_data());

  SafetensorsWriteOptions write_options;
  write_options.overwrite = options.overwrite;
  write_options.sync = options.sync;
  // The caller's links above the file are resolved once; the file itself is never a link.
  CAIRN_ASSIGN_OR_RETURN(const std::string out, ResolveAbove(fs, out_path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsWriter> writer,
                         SafetensorsWriter::Create(fs, out, header, write_options));
  for (const Batch& batch : batches) {
    const uint64_t batch_begin = header.tensors[batch.first].begin;
    // Leaf ordinal -> the tensor of this batch it fills.
    std::map<size_t, const SafetensorsTensor*> in_batch;
    bool needs_load = false;
    for (size_t i = batch.first; i < batch.last; ++i) {
      const SafetensorsTensor& tensor = header.tensors[i];
      const size_t leaf = ordinal_of.at(tensor.name);
      const Source& source = sources.at(leaf);
      if (source.bytes) {
        std::copy(source.bytes->begin(), source.bytes->end(), base + (tensor.begin - batch_begin));
      } else {
        in_batch[leaf] = &tensor;
        needs_load = true;
      }
    }
    if (needs_load) {
      // Every tensor begins at a multiple of its element size (LayOutSafetensors), and so does
      // the batch's first, whose element size is the batch's largest: each destination is
      // aligned for its dtype.
      const Tree abstract = Rebuild(metadata.tree, [&](size_t leaf_ordinal, const Tree&) {
        auto it = in_batch.find(leaf_ordinal);
        if (it == in_batch.end()) return Tree::Placeholder();
        const SafetensorsTensor& tensor = *it->second;
        ArraySpec spec;
        spec.dtype = tensor.dtype;
        spec.shape = tensor.shape;
        spec.destination =
            Array::BorrowMutable(tensor.dtype, tensor.shape, base + (tensor.begin - batch_begin));
        return Tree::Spec(std::move(spec));
      });
      CAIRN_ASSIGN_OR_RETURN(const Tree loaded, Load(dir, abstract, options.name, checkpoint));
      ++loads;
    }
    CAIRN_RETURN_IF_ERROR(writer->Append(absl::string_view(base, batch.bytes)));
  }
  CAIRN_RETURN_IF_ERROR(writer->Commit());
  if (options.stats != nullptr) {
    options.stats->tensors = header.tensors.size();
    options.stats->data_bytes = header.data_bytes();
    CAIRN_ASSIGN_OR_RETURN(const std::string encoded, EncodeSafetensorsHeader(header));
    options.stats->file_bytes = encoded.size() + header.data_bytes();
    options.stats->loads = loads;
    options.stats->buffer_bytes = buffer_bytes;
  }
  return absl::OkStatus();
}

namespace {

// The nested dicts of an import, before they become a tree.
struct NameNode {
  std::map<std::string, NameNode> children;
  const SafetensorsTensor* tensor = nullptr;
  // The name of a tensor at or below this node, for conflict messages.
  std::string some_name;
};

absl::Status NotNestable(const std::string& file, absl::string_view name, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat(file, ": tensor \"", EscapeForMessage(name),
                                                 "\" cannot be nested at '.' (", why,
                                                 "); import with nest off for a flat dict"));
}

absl::Status Insert(NameNode& root, const SafetensorsTensor& tensor, const std::string& file) {
  NameNode* node = &root;
  for (absl::string_view part : absl::StrSplit(tensor.name, '.')) {
    if (part.empty()) return NotNestable(file, tensor.name, "it has an empty part");
    if (node->tensor != nullptr) {
      return NotNestable(
          file, tensor.name,
          absl::StrCat("\"", EscapeForMessage(node->tensor->name), "\" is a tensor, not a dict"));
    }
    if (node->some_name.empty()) node->some_name = tensor.name;
    node = &node->children[std::string(part)];
  }
  if (node->tensor != nullptr || !node->children.empty()) {
    return NotNestable(
        file, tensor.name,
        absl::StrCat("\"", EscapeForMessage(node->some_name), "\" is nested below it"));
  }
  node->tensor = &tensor;
  node->some_name = tensor.name;
  return absl::OkStatus();
}

absl::StatusOr<Tree> ToTree(const NameNode& node, const SafetensorsReader& reader) {
  if (node.tensor != nullptr) {
    CAIRN_ASSIGN_OR_RETURN(Array array, reader.ReadArray(*node.tensor));
    return Tree::FromArray(std::move(array));
  }
  std::vector<std::string> keys;
  std::vector<Tree> values;
  for (const auto& [key, child] : node.children) {
    keys.push_back(key);
    CAIRN_ASSIGN_OR_RETURN(Tree value, ToTree(child, reader));
    values.push_back(std::move(value));
  }
  return Tree::DictFrom(std::move(keys), std::move(values));
}

}  // namespace

absl::Status ImportSafetensors(const std::string& in_path, const std::string& checkpoint_dir,
                               const SafetensorsImportOptions& options) {
  Filesystem& fs = FsOf(options.checkpoint.filesystem);
  CAIRN_ASSIGN_OR_RETURN(const std::string in, ResolveAbove(fs, in_path));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<SafetensorsReader> reader,
                         SafetensorsReader::Open(fs, in, options.map));
  const SafetensorsHeader& header = reader->header();
  Tree tree = Tree::Dict();
  if (options.nest) {
    NameNode root;
    for (const SafetensorsTensor& tensor : header.tensors) {
      CAIRN_RETURN_IF_ERROR(Insert(root, tensor, in));
    }
    CAIRN_ASSIGN_OR_RETURN(tree, ToTree(root, *reader));
  } else {
    std::vector<const SafetensorsTensor*> sorted;
    for (const SafetensorsTensor& tensor : header.tensors) sorted.push_back(&tensor);
    std::sort(
        sorted.begin(), sorted.end(),
        [](const SafetensorsTensor* a, const SafetensorsTensor* b) { return a->name < b->name; });
    std::vector<std::string> keys;
    std::vector<Tree> values;
    for (const SafetensorsTensor* tensor : sorted) {
      keys.push_back(tensor->name);
      CAIRN_ASSIGN_OR_RETURN(Array array, reader->ReadArray(*tensor));
      values.push_back(Tree::FromArray(std::move(array)));
    }
    CAIRN_ASSIGN_OR_RETURN(tree, Tree::DictFrom(std::move(keys), std::move(values)));
  }
  CheckpointOptions checkpoint = options.checkpoint;
  if (!checkpoint.custom_metadata.is_object())
    checkpoint.custom_metadata = nlohmann::json::object();
  for (const auto& [key, value] : header.metadata) checkpoint.custom_metadata[key] = value;
  Checkpointables items;
  items.emplace(options.checkpointable, std::move(tree));
  return SaveCheckpointables(checkpoint_dir, items, checkpoint);
}

}  // namespace cairn
