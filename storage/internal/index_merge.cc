#include "cairn/storage/internal/index_merge.h"

#include "absl/strings/str_cat.h"
#include "cairn/storage/key_path.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

absl::Status Mismatch(const KeyPath& path, absl::string_view what) {
  return absl::InvalidArgumentError(
      absl::StrCat("processes saved different trees at ", path.ToString(), ": ", what,
                   "; every process must save the same structure, each with its own pieces"));
}

absl::Status MergeNode(const format::Node& other, const KeyPath& path, uint32_t file_offset,
                       format::Node* primary) {
  if (other.kind_case() != primary->kind_case()) return Mismatch(path, "node kinds differ");
  switch (other.kind_case()) {
    case format::Node::kDict: {
      const format::Dict& a = other.dict();
      format::Dict* b = primary->mutable_dict();
      if (a.keys_size() != b->keys_size()) return Mismatch(path, "dict sizes differ");
      for (int i = 0; i < a.keys_size(); ++i) {
        if (a.keys(i) != b->keys(i)) return Mismatch(path, "dict keys differ");
        CAIRN_RETURN_IF_ERROR(
            MergeNode(a.values(i), path.Child(a.keys(i)), file_offset, b->mutable_values(i)));
      }
      return absl::OkStatus();
    }
    case format::Node::kList:
    case format::Node::kTuple: {
      const bool list = other.kind_case() == format::Node::kList;
      const format::Sequence& a = list ? other.list() : other.tuple();
      format::Sequence* b = list ? primary->mutable_list() : primary->mutable_tuple();
      if (a.items_size() != b->items_size()) return Mismatch(path, "sequence lengths differ");
      for (int i = 0; i < a.items_size(); ++i) {
        CAIRN_RETURN_IF_ERROR(MergeNode(a.items(i), path.Child(static_cast<size_t>(i)), file_offset,
                                        b->mutable_items(i)));
      }
      return absl::OkStatus();
    }
    case format::Node::kArray: {
      const format::ArrayLeaf& a = other.array();
      format::ArrayLeaf* b = primary->mutable_array();
      if (a.dtype() != b->dtype() || a.stored_dtype() != b->stored_dtype() ||
          a.chunk_rows() != b->chunk_rows() || a.compression() != b->compression() ||
          a.global_shape().size() != b->global_shape().size()) {
        return Mismatch(path, "array dtype, shape or storage options differ");
      }
      for (int d = 0; d < a.global_shape_size(); ++d) {
        if (a.global_shape(d) != b->global_shape(d)) return Mismatch(path, "global shapes differ");
      }
      for (const format::Shard& shard : a.shards()) {
        format::Shard* copy = b->add_shards();
        *copy = shard;
        for (format::Chunk& chunk : *copy->mutable_chunks()) {
          chunk.set_file(chunk.file() + file_offset);
        }
      }
      return absl::OkStatus();
    }
    default:
      return absl::OkStatus();  // scalars: the primary's value stands
  }
}

}  // namespace

absl::Status MergeProcessIndex(const format::TreeIndex& other, format::TreeIndex* primary) {
  const uint32_t file_offset = static_cast<uint32_t>(primary->data_files_size());
  for (const format::DataFile& file : other.data_files()) *primary->add_data_files() = file;
  return MergeNode(other.root(), KeyPath(), file_offset, primary->mutable_root());
}

}  // namespace cairn
