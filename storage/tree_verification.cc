#include "cairn/storage/tree_verification.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

constexpr size_t kReadBlock = size_t{8} << 20;

struct ChunkRef {
  uint64_t offset = 0;
  uint64_t size = 0;
  uint64_t checksum = 0;
  const format::Node* leaf = nullptr;  // for messages, rendered only on damage
};

// Every array node of the tree with its key path, for naming a damaged chunk's array.
void CollectLeaves(const format::Node& node, KeyPath& path,
                   std::vector<std::pair<const format::Node*, KeyPath>>& out) {
  switch (node.kind_case()) {
    case format::Node::kDict:
      for (int i = 0; i < node.dict().values_size() && i < node.dict().keys_size(); ++i) {
        path.Push(node.dict().keys(i));
        CollectLeaves(node.dict().values(i), path, out);
        path.Pop();
      }
      return;
    case format::Node::kList:
    case format::Node::kTuple: {
      const format::Sequence& items =
          node.kind_case() == format::Node::kList ? node.list() : node.tuple();
      for (int i = 0; i < items.items_size(); ++i) {
        path.Push(static_cast<size_t>(i));
        CollectLeaves(items.items(i), path, out);
        path.Pop();
      }
      return;
    }
    case format::Node::kArray:
      out.emplace_back(&node, path);
      return;
    default:
      return;
  }
}

}  // namespace

absl::StatusOr<bool> HoldsCairnIndex(const std::string& named_dir, Filesystem* filesystem) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  return PathExists(fs, JoinPath(dir, kTreeIndexFileName));
}

absl::StatusOr<ChunkVerification> VerifyTreeChunks(const std::string& named_dir,
                                                   const ChunkVerifyOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  CAIRN_ASSIGN_OR_RETURN(const std::unique_ptr<ParsedIndex> parsed,
                         ReadIndexFile(fs, dir, options.max_index_bytes));
  const format::TreeIndex& index = *parsed->index;

  std::vector<std::pair<const format::Node*, KeyPath>> leaves;
  KeyPath root;
  CollectLeaves(index.root(), root, leaves);
  std::vector<std::vector<ChunkRef>> by_file(static_cast<size_t>(index.data_files_size()));
  ChunkVerification result;
  for (const auto& [node, path] : leaves) {
    for (const format::Shard& shard : node->array().shards()) {
      for (const format::Chunk& chunk : shard.chunks()) {
        by_file[chunk.file()].push_back(
            ChunkRef{chunk.offset(), chunk.stored_size(), chunk.checksum(), node});
        result.stored_bytes += chunk.stored_size();
        ++result.chunks;
      }
    }
  }
  auto path_of = [&leaves](const format::Node* node) {
    for (const auto& [leaf, path] : leaves) {
      if (leaf == node) return path.ToString();
    }
    return std::string("?");
  };

  std::string block(kReadBlock, '\0');
  const std::string data_dir = JoinPath(dir, kTreeDataDirName);
  for (size_t f = 0; f < by_file.size(); ++f) {
    std::vector<ChunkRef>& chunks = by_file[f];
    if (chunks.empty()) continue;
    std::sort(chunks.begin(), chunks.end(),
              [](const ChunkRef& a, const ChunkRef& b) { return a.offset < b.offset; });
    const std::string name = index.data_files(static_cast<int>(f)).name();
    const std::string relative = JoinPath(kTreeDataDirName, name);
    const std::string path = JoinPath(data_dir, name);
    absl::StatusOr<std::unique_ptr<ReadableFile>> file = fs.NewReadableFile(path);
    if (absl::IsNotFound(file.status())) {
      result.damage.push_back({relative, absl::StrCat("data file ", path, " is missing")});
      continue;
    }
    CAIRN_RETURN_IF_ERROR(file.status());
    CAIRN_ASSIGN_OR_RETURN(const uint64_t size, (*file)->Size());
    const uint64_t expected = index.data_files(static_cast<int>(f)).size();
    if (size < expected) {
      result.damage.push_back(
          {relative, absl::StrCat("data file ", path, " has ", size,
                                  " bytes but the index expects ", expected, ": it is truncated")});
    }
    for (const ChunkRef& chunk : chunks) {
      if (chunk.offset + chunk.size > size) {
        result.damage.push_back(
            {relative, absl::StrCat(path, ": the chunk of ", path_of(chunk.leaf), " at byte ",
                                    chunk.offset, " lies past the end of the file")});
        continue;
      }
      StreamingChecksum64 checksum;
      uint64_t done = 0;
      while (done < chunk.size) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(kReadBlock, chunk.size - done));
        CAIRN_ASSIGN_OR_RETURN(const size_t got,
                               (*file)->ReadAt(chunk.offset + done, want, block.data()));
        if (got == 0) break;
        checksum.Update(absl::string_view(block.data(), got));
        done += got;
        result.bytes_read += got;
        if (options.progress) options.progress(result.bytes_read);
      }
      if (done != chunk.size || checksum.Digest() != chunk.checksum) {
        result.damage.push_back(
            {relative, absl::StrFormat("%s: checksum mismatch in the chunk of %s at byte %d "
                                       "(%d bytes)",
                                       path, path_of(chunk.leaf), chunk.offset, chunk.size)});
      }
    }
  }
  return result;
}

}  // namespace cairn
