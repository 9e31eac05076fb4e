#include "cairn/storage/internal/cairn_stored_tree.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "cairn/storage/internal/array_read.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

class CairnStoredTree final : public StoredTree {
 public:
  CairnStoredTree(Filesystem& fs, const std::string& dir, std::shared_ptr<const ParsedIndex> parsed)
      : parsed_(std::move(parsed)),
        files_(fs, JoinPath(dir, kTreeDataDirName), *parsed_->index),
        // Growing the lists read by read would move every read planned so far each time they
        // double: a third of a 100,000-leaf load. Arrays, with a target each, number at most
        // the chunks unless empty.
        plan_(TakeReadPlan(parsed_->num_chunks)) {}

  ~CairnStoredTree() override { GiveBackReadPlan(std::move(plan_)); }

  const format::Node& root() const override { return parsed_->index->root(); }

  absl::StatusOr<const format::ArrayLeaf*> ResolveArray(const format::Node& node,
                                                        const KeyPath&) override {
    return &node.array();  // the index records everything, validated when it was read
  }

  absl::StatusOr<uint64_t> Prepare(const format::ArrayLeaf& leaf, const Shape& origin,
                                   const Shape& shape, const std::string&) override {
    // The sizes the index gives the data files are checked against the files before anything
    // is allocated for their chunks.
    return files_.OpenFor(leaf, origin, shape);
  }

  absl::StatusOr<bool> Plan(const format::ArrayLeaf& leaf, const Array& destination,
                            const Shape& origin, std::string path, bool saturate_casts) override {
    bool covered = false;
    PlanArrayReads(leaf, destination, origin, std::move(path), saturate_casts, &plan_, &covered);
    return covered;
  }

  absl::StatusOr<std::variant<Array, MapFallback>> MapArray(const format::ArrayLeaf& leaf,
                                                            std::string path) override {
    return MapArrayReads(leaf, std::move(path), files_, &plan_);
  }

  absl::Status ExecutePlanned(ThreadPool* pool, int parallelism) override {
    const std::vector<std::pair<size_t, size_t>> runs = GroupChunkReads(plan_.reads);
    absl::Status status = ParallelFor(pool, runs.size(), parallelism, [&](size_t i) {
      return ExecuteChunkReads(plan_, runs[i].first, runs[i].second, files_);
    });
    plan_.reads.clear();
    plan_.targets.clear();
    return status;
  }

  ArrayStorageInfo StorageInfo(const format::ArrayLeaf& leaf) const override {
    ArrayStorageInfo info;
    info.stored_dtype = static_cast<DType>(leaf.stored_dtype());
    info.chunk_shape = Shape(leaf.global_shape().begin(), leaf.global_shape().end());
    if (!info.chunk_shape.empty()) {
      info.chunk_shape[0] = std::min<int64_t>(info.chunk_shape[0], leaf.chunk_rows());
    }
    info.compressed = leaf.compression() != format::COMPRESSION_NONE;
    info.byte_shuffled = leaf.compression() == format::COMPRESSION_ZSTD_SHUFFLED;
    info.compression_level = leaf.compression_level();
    info.num_shards = leaf.shards_size();
    for (const format::Shard& shard : leaf.shards()) {
      for (const format::Chunk& chunk : shard.chunks()) info.stored_bytes += chunk.stored_size();
    }
    return info;
  }

  absl::Status DescribeStore(StoreMetadata* metadata) const override {
    const format::TreeIndex& index = *parsed_->index;
    if (!index.custom_metadata_json().empty()) {
      metadata->custom_metadata = nlohmann::json::parse(index.custom_metadata_json());
    }
    metadata->format_version = index.format_version();
    metadata->layout = index.layout() == format::LAYOUT_PER_LEAF ? StoreLayout::kPerLeaf
                                                                 : StoreLayout::kAggregated;
    metadata->writer = index.writer();
    for (const format::DataFile& file : index.data_files()) metadata->data_bytes += file.size();
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<const ParsedIndex> parsed_;
  DataFiles files_;
  ReadPlan plan_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<StoredTree>> OpenCairnStoredTree(Filesystem& fs,
                                                                const std::string& dir,
                                                                const StoreLoadOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const ParsedIndex> parsed,
                         ReadIndexFileCached(fs, dir, options.max_index_bytes));
  return std::unique_ptr<StoredTree>(new CairnStoredTree(fs, dir, std::move(parsed)));
}

}  // namespace cairn
