#include "cairn/storage/orbax/internal/orbax_tree_writer.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/internal/save_directory.h"
#include "cairn/storage/internal/save_plan.h"
#include "cairn/storage/ocdbt/ocdbt_merged_root.h"
#include "cairn/storage/ocdbt/ocdbt_writer.h"
#include "cairn/storage/orbax/internal/orbax_save_leaves.h"
#include "cairn/storage/orbax/internal/orbax_save_metadata.h"
#include "cairn/storage/orbax/orbax_pytree_metadata.h"
#include "cairn/storage/zarr/internal/inner_chunk_shape.h"
#include "cairn/storage/zarr/key_value_sink.h"
#include "cairn/storage/zarr/zarr_writer.h"
#include "cairn/utils/coordinator.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/internal/collective_outcome.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/thread_pool.h"

namespace cairn::internal {
namespace {

constexpr char kProcessDatabasePrefix[] = "ocdbt.process_";
constexpr char kArrayMetadatasDir[] = "array_metadatas";
constexpr char kShardingFileName[] = "_sharding";
constexpr char kStringsFileName[] = "_strings.json";
constexpr int kMinZstdLevel = 1;
constexpr int kMaxZstdLevel = 22;

std::string ProcessDatabaseName(int process) {
  return absl::StrCat(kProcessDatabasePrefix, process);
}

// How one array leaf is stored, the same in every process that holds a piece of it.
struct ArrayEncoding {
  DType stored = DType::kFloat32;
  Zarr3Compression compression = Zarr3Compression::kNone;
  int zstd_level = 0;
  uint64_t inner_chunk_bytes = 0;
  bool checksums = false;
};

// This process's piece of one array leaf (the whole array in a single-process save).
struct ArrayJob {
  const OrbaxSaveLeaf* leaf = nullptr;
  const Array* array = nullptr;
  ArrayEncoding encoding;
  Shape global_shape;
  Shape origin;
  bool writes = true;  // false on the replicas that leave the piece to another
};

// What the primary learns of each process's pieces, to check that they form the regular grid
// of equal shards that zarr's chunk grid is, and to write each array's zarr.json.
struct PieceRecord {
  std::string param;
  Shape shape;
  Shape origin;
  Shape global_shape;
  ArrayEncoding encoding;
};

std::string ShapeText(const Shape& shape) { return absl::StrJoin(shape, ","); }

absl::StatusOr<Shape> ParseShape(absl::string_view text) {
  Shape shape;
  if (text.empty()) return shape;
  for (absl::string_view part : absl::StrSplit(text, ',')) {
    int64_t d = 0;
    if (!absl::SimpleAtoi(part, &d) || d < 0) {
      return absl::InternalError(absl::StrCat("malformed shape \"", text, "\" between processes"));
    }
    shape.push_back(d);
  }
  return shape;
}

// One record per line: fields joined by tabs; the parameter name, which may hold any byte but
// '/', is length-prefixed.
std::string EncodePieces(const std::vector<PieceRecord>& pieces) {
  std::string out;
  for (const PieceRecord& p : pieces) {
    absl::StrAppend(&out, p.param.size(), ":", p.param, "\t", ShapeText(p.shape), "\t",
                    ShapeText(p.origin), "\t", ShapeText(p.global_shape), "\t",
                    static_cast<int>(p.encoding.stored), "\t",
                    static_cast<int>(p.encoding.compression), "\t", p.encoding.zstd_level, "\t",
                    p.encoding.inner_chunk_bytes, "\t", p.encoding.checksums ? 1 : 0, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<PieceRecord>> DecodePieces(absl::string_view text) {
  std::vector<PieceRecord> pieces;
  while (!text.empty()) {
    const size_t colon = text.find(':');
    uint64_t length = 0;
    if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, colon), &length) ||
        length > text.size() - colon - 1) {
      return absl::InternalError("malformed piece records between processes");
    }
    PieceRecord p;
    p.param = std::string(text.substr(colon + 1, length));
    text.remove_prefix(colon + 1 + length);
    const size_t end = text.find('\n');
    if (end == absl::string_view::npos) {
      return absl::InternalError("malformed piece records between processes");
    }
    const std::vector<absl::string_view> f = absl::StrSplit(text.substr(0, end), '\t');
    text.remove_prefix(end + 1);
    int stored = 0, compression = 0, checksums = 0;
    if (f.size() != 9 || !absl::SimpleAtoi(f[8], &checksums) || !f[0].empty() ||
        !absl::SimpleAtoi(f[4], &stored) || !absl::SimpleAtoi(f[5], &compression) ||
        !absl::SimpleAtoi(f[6], &p.encoding.zstd_level) ||
        !absl::SimpleAtoi(f[7], &p.encoding.inner_chunk_bytes)) {
      return absl::InternalError("malformed piece records between processes");
    }
    CAIRN_ASSIGN_OR_RETURN(p.shape, ParseShape(f[1]));
    CAIRN_ASSIGN_OR_RETURN(p.origin, ParseShape(f[2]));
    CAIRN_ASSIGN_OR_RETURN(p.global_shape, ParseShape(f[3]));
    p.encoding.stored = static_cast<DType>(stored);
    p.encoding.compression = static_cast<Zarr3Compression>(compression);
    p.encoding.checksums = checksums != 0;
    pieces.push_back(std::move(p));
  }
  return pieces;
}

// What a process's tree holds, leaf by leaf (key path and value type): the primary's tree decides
// the metadata every reader sees, so a process whose tree differs would leave arrays no metadata
// describes, or describe arrays nobody wrote.
std::string EncodeStructure(const std::vector<OrbaxSaveLeaf>& leaves) {
  std::string out;
  for (const OrbaxSaveLeaf& leaf : leaves) {
    absl::StrAppend(&out, leaf.path.ToString(), "\t", leaf.value_type, "\n");
  }
  return out;
}

// A process's plan as sent to the primary: "<n>:" with the n bytes of its structure, then its
// piece records.
std::string EncodePlan(absl::string_view structure, const std::vector<PieceRecord>& pieces) {
  return absl::StrCat(structure.size(), ":", structure, EncodePieces(pieces));
}

struct SentPlan {
  absl::string_view structure;
  absl::string_view pieces;
};

absl::StatusOr<SentPlan> SplitPlan(absl::string_view text) {
  const size_t colon = text.find(':');
  uint64_t length = 0;
  if (colon == absl::string_view::npos || !absl::SimpleAtoi(text.substr(0, colon), &length) ||
      length > text.size() - colon - 1) {
    return absl::InternalError("malformed plan between processes");
  }
  return SentPlan{text.substr(colon + 1, length), text.substr(colon + 1 + length)};
}

// InvalidArgument naming the first leaf where process `process`'s structure departs from the
// primary's.
absl::Status StructureMismatch(absl::string_view primary, absl::string_view other, int process) {
  const std::vector<absl::string_view> mine = absl::StrSplit(primary, '\n');
  const std::vector<absl::string_view> theirs = absl::StrSplit(other, '\n');
  size_t i = 0;
  while (i < mine.size() && i < theirs.size() && mine[i] == theirs[i]) ++i;
  const auto describe = [](const std::vector<absl::string_view>& lines, size_t i) {
    if (i >= lines.size() || lines[i].empty()) return std::string("no further leaf");
    const std::pair<absl::string_view, absl::string_view> leaf =
        absl::StrSplit(lines[i], absl::MaxSplits('\t', 1));
    return absl::StrCat(leaf.first, " (", leaf.second, ")");
  };
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot save in Orbax's format: the processes saved different trees: process ", process,
      " has ", describe(theirs, i), " where the primary has ", describe(mine, i),
      "; every process must save the same structure, each with its own pieces"));
}

// A zarr chunk grid cell (zarr's chunk) never has a zero extent.
Shape ShardShapeOf(const Shape& write_shape) {
  Shape shard = write_shape;
  for (int64_t& d : shard) d = std::max<int64_t>(d, 1);
  return shard;
}

Shape InnerShapeOf(const PieceRecord& p) {
  return zarr_internal::ChooseInnerChunkShape(p.global_shape, ShardShapeOf(p.shape),
                                              p.encoding.stored, p.encoding.inner_chunk_bytes);
}

// Puts keys into this process's OCDBT database.
class OcdbtSink final : public KeyValueSink {
 public:
  explicit OcdbtSink(OcdbtWriter& writer, std::string dir)
      : writer_(writer), dir_(std::move(dir)) {}
  absl::Status Put(std::string key, absl::string_view value) override {
    return writer_.Put(std::move(key), value);
  }
  absl::Status PutParts(std::string key, absl::Span<const absl::string_view> parts) override {
    return writer_.PutParts(std::move(key), parts);
  }
  std::string Describe(absl::string_view key) const override {
    return absl::StrCat("key \"", key, "\" of the OCDBT database ", dir_);
  }

 private:
  OcdbtWriter& writer_;
  const std::string dir_;
};

class OrbaxTreeSaver {
 public:
  OrbaxTreeSaver(const std::string& dir, const StoreSaveOptions& options)
      : dir_(dir),
        options_(options),
        fs_(options.filesystem ? *options.filesystem : *Filesystem::Default()),
        coordinator_(options.coordinator ? *options.coordinator
                                         : *SingleProcessCoordinator::Default()),
        pool_(options.pool ? options.pool : ThreadPool::Shared()),
        parallelism_(options.parallelism > 0 ? options.parallelism : pool_->num_threads()),
        aggregated_(options.layout == StoreLayout::kAggregated),
        directory_(fs_, dir) {}

  absl::Status Save(const Tree& tree) {
    absl::Status planned = Plan(tree);
    // Every process's plan goes to the primary, which checks that the pieces fit together and
    // prepares the directory; all learn the outcome before anyone writes.
    CAIRN_ASSIGN_OR_RETURN(
        const std::vector<std::string> plans,
        coordinator_.Gather("cairn.orbax.plan",
                            EncodeOutcome(planned, EncodePlan(structure_, pieces_))));
    absl::Status prepared = planned;
    if (coordinator_.is_primary()) {
      prepared = FirstFailure(plans, "planning the save");
      if (prepared.ok()) prepared = CheckPieces(plans);
      if (prepared.ok()) prepared = directory_.Prepare();
    }
    CAIRN_RETURN_IF_ERROR(ShareOutcome(coordinator_, "cairn.orbax.prepare", prepared).status());

    absl::Status written = WriteOwn();
    CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> outcomes,
                           coordinator_.Gather("cairn.orbax.written", EncodeOutcome(written)));
    absl::Status committed = written;
    if (coordinator_.is_primary()) {
      committed = FirstFailure(outcomes, "writing the arrays");
      if (committed.ok()) committed = WriteShared();
      if (!committed.ok()) directory_.Cleanup(WrittenPaths());
    }
    return ShareOutcome(coordinator_, "cairn.orbax.commit", committed).status();
  }

 private:
  absl::Status Plan(const Tree& tree) {
    CAIRN_RETURN_IF_ERROR(CheckTreeText(tree));
    CAIRN_ASSIGN_OR_RETURN(leaves_,
                           FlattenForOrbax(tree, options_.orbax_array_type, options_.layout));
    structure_ = EncodeStructure(leaves_);
    for (const OrbaxSaveLeaf& leaf : leaves_) {
      if (leaf.node->kind() == Tree::Kind::kArray) {
        CAIRN_RETURN_IF_ERROR(PlanArray(leaf));
      } else if (leaf.node->kind() == Tree::Kind::kString) {
        strings_[leaf.param_name] = leaf.node->string_value();
      }
    }
    return absl::OkStatus();
  }

  absl::Status PlanArray(const OrbaxSaveLeaf& leaf) {
    const Array& array = leaf.node->array();
    ArrayStorageOptions custom;
    if (options_.storage_options) custom = options_.storage_options(leaf.path, array);
    ArrayJob job;
    job.leaf = &leaf;
    job.array = &array;
    job.encoding.stored = custom.dtype.value_or(array.dtype());
    CAIRN_RETURN_IF_ERROR(CheckStoredDType(leaf.path, array, job.encoding.stored));
    const bool compress = custom.compress.value_or(options_.compress);
    const int level = custom.compression_level.value_or(options_.compression_level);
    if (compress && (level < kMinZstdLevel || level > kMaxZstdLevel)) {
      return absl::InvalidArgumentError(absl::StrCat("cannot save ", leaf.path.ToString(),
                                                     ": zstd level ", level, " is outside [",
                                                     kMinZstdLevel, ", ", kMaxZstdLevel, "]"));
    }
    job.encoding.compression = compress ? Zarr3Compression::kZstd : Zarr3Compression::kNone;
    job.encoding.zstd_level = compress ? level : 0;
    job.encoding.inner_chunk_bytes = custom.chunk_bytes.value_or(options_.chunk_bytes);
    job.encoding.checksums = options_.orbax_chunk_checksums;
    if (job.encoding.inner_chunk_bytes == 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save ", leaf.path.ToString(), ": chunk size must be positive"));
    }
    job.global_shape = array.global_shape();
    job.origin = array.placement() ? array.placement()->origin : Shape(array.shape().size(), 0);
    if (array.placement() && array.placement()->num_replicas > 1) {
      const ShardPlacement& placement = *array.placement();
      job.writes = ReplicaWriter(leaf.path.ToString(), job.origin, placement.num_replicas) ==
                   placement.replica_id;
    }
    pieces_.push_back(
        PieceRecord{leaf.param_name, array.shape(), job.origin, job.global_shape, job.encoding});
    jobs_.push_back(std::move(job));
    return absl::OkStatus();
  }

  // On the primary: every array's pieces, from every process, share one shape and encoding and
  // tile the global array on the grid of that shape; each array's first piece then says how
  // its zarr.json reads.
  absl::Status CheckPieces(const std::vector<std::string>& plans) {
    std::map<std::string, std::vector<PieceRecord>> by_param;
    for (size_t process = 0; process < plans.size(); ++process) {
      CAIRN_ASSIGN_OR_RETURN(const std::string payload, DecodeOutcome(plans[process]));
      CAIRN_ASSIGN_OR_RETURN(const SentPlan sent, SplitPlan(payload));
      if (sent.structure != structure_) {
        return StructureMismatch(structure_, sent.structure, static_cast<int>(process));
      }
      CAIRN_ASSIGN_OR_RETURN(std::vector<PieceRecord> pieces, DecodePieces(sent.pieces));
      for (PieceRecord& p : pieces) by_param[p.param].push_back(std::move(p));
    }
    for (const OrbaxSaveLeaf& leaf : leaves_) {
      if (leaf.node->kind() != Tree::Kind::kArray) continue;
      const auto found = by_param.find(leaf.param_name);
      if (found == by_param.end()) continue;  // cannot happen: every process holds every leaf
      const std::vector<PieceRecord>& pieces = found->second;
      const PieceRecord& first = pieces.front();
      std::set<Shape> origins;
      uint64_t cells = 1;
      for (size_t d = 0; d < first.global_shape.size(); ++d) {
        const int64_t step = std::max<int64_t>(first.shape[d], 1);
        cells *=
            static_cast<uint64_t>(std::max<int64_t>(1, (first.global_shape[d] + step - 1) / step));
      }
      const auto refuse = [&](absl::string_view why) {
        return absl::InvalidArgumentError(absl::StrCat(
            "cannot save ", leaf.path.ToString(), " in Orbax's format: ", why,
            " (zarr stores an array in shards of one shape on a regular grid; give every "
            "process a piece of one shape, at multiples of it)"));
      };
      for (const PieceRecord& p : pieces) {
        if (p.global_shape != first.global_shape || p.shape != first.shape) {
          return refuse(absl::StrCat("one process holds a piece of shape ", ShapeToString(p.shape),
                                     " of ", ShapeToString(p.global_shape), " and another one of ",
                                     ShapeToString(first.shape), " of ",
                                     ShapeToString(first.global_shape)));
        }
        if (p.encoding.stored != first.encoding.stored ||
            p.encoding.compression != first.encoding.compression ||
            p.encoding.zstd_level != first.encoding.zstd_level ||
            p.encoding.inner_chunk_bytes != first.encoding.inner_chunk_bytes ||
            p.encoding.checksums != first.encoding.checksums) {
          return refuse("the processes' storage options for it differ");
        }
        for (size_t d = 0; d < p.origin.size(); ++d) {
          const int64_t step = std::max<int64_t>(p.shape[d], 1);
          if (p.origin[d] % step != 0) {
            return refuse(absl::StrCat("a piece starts at ", ShapeToString(p.origin),
                                       ", off the grid of ", ShapeToString(p.shape)));
          }
        }
        origins.insert(p.origin);
      }
      if (origins.size() != cells) {
        return refuse(
            absl::StrCat("the processes hold ", origins.size(), " of its ", cells, " shards"));
      }
      zarr_json_.emplace_back(leaf.param_name, first);
      write_shapes_[leaf.param_name] = first.shape;
    }
    return absl::OkStatus();
  }

  // This process's part: its shards (and, on the primary, every array's zarr.json and the
  // scalars), into its own database or the per-leaf directories, and its array_metadatas file.
  absl::Status WriteOwn() {
    const int process = coordinator_.process_index();
    std::unique_ptr<OcdbtWriter> database;
    std::unique_ptr<KeyValueSink> sink;
    if (aggregated_) {
      OcdbtWriterOptions options;
      options.filesystem = &fs_;
      options.sync = options_.sync;
      CAIRN_ASSIGN_OR_RETURN(
          database, OcdbtWriter::Create(JoinPath(dir_, ProcessDatabaseName(process)), options));
      sink = std::make_unique<OcdbtSink>(*database, JoinPath(dir_, ProcessDatabaseName(process)));
    } else {
      sink = std::make_unique<DirectoryKeyValueSink>(fs_, dir_, options_.sync);
    }
    CAIRN_RETURN_IF_ERROR(
        ParallelFor(pool_, jobs_.size(), parallelism_,
                    [&](size_t i) -> absl::Status { return WriteShards(jobs_[i], *sink); }));
    if (coordinator_.is_primary()) CAIRN_RETURN_IF_ERROR(WriteArrayMetadata(*sink));
    if (database) CAIRN_RETURN_IF_ERROR(database->Finish());

    std::vector<OrbaxArrayRecord> records;
    for (const ArrayJob& job : jobs_) {
      if (!job.writes) continue;
      const PieceRecord piece{job.leaf->param_name, job.array->shape(), job.origin,
                              job.global_shape, job.encoding};
      records.push_back(
          OrbaxArrayRecord{job.leaf->param_name, job.array->shape(), InnerShapeOf(piece)});
    }
    const std::string records_dir = JoinPath(dir_, kArrayMetadatasDir);
    absl::Status made = fs_.CreateDir(records_dir);
    if (!made.ok() && !absl::IsAlreadyExists(made)) return made;
    CAIRN_RETURN_IF_ERROR(
        WriteStringToFile(fs_, JoinPath(records_dir, absl::StrCat("process_", process)),
                          OrbaxArrayMetadatasText(records), options_.sync));
    return absl::OkStatus();
  }

  absl::Status WriteShards(const ArrayJob& job, KeyValueSink& sink) {
    if (!job.writes) return absl::OkStatus();
    const Array* source = job.array;
    std::optional<Array> cast;
    if (job.encoding.stored != job.array->dtype()) {
      CAIRN_ASSIGN_OR_RETURN(
          cast, ArrayAllocator::AllocateUninitialized(job.encoding.stored, job.array->shape()));
      CastElements(job.array->dtype(), job.array->data(), job.encoding.stored, cast->mutable_data(),
                   job.array->num_elements());
      source = &*cast;
    }
    Zarr3WriteOptions options;
    options.compression = job.encoding.compression;
    options.zstd_level = job.encoding.zstd_level;
    options.inner_chunk_bytes = job.encoding.inner_chunk_bytes;
    options.shard_shape = ShardShapeOf(job.array->shape());
    options.global_shape = job.global_shape;
    options.origin = job.origin;
    options.write_metadata = false;
    options.chunk_checksums = job.encoding.checksums;
    options.pool = pool_;
    options.parallelism = parallelism_;
    return WriteZarr3Array(sink, job.leaf->param_name, *source, options);
  }

  // On the primary: every array's zarr.json, and the scalars as 0-d arrays of the dtypes
  // Python's ints, floats and bools become (int64, float64, bool).
  absl::Status WriteArrayMetadata(KeyValueSink& sink) {
    for (const auto& [param, piece] : zarr_json_) {
      CAIRN_ASSIGN_OR_RETURN(
          const std::string json,
          Zarr3MetadataJson(piece.encoding.stored, piece.global_shape, ShardShapeOf(piece.shape),
                            InnerShapeOf(piece), piece.encoding.compression,
                            piece.encoding.zstd_level, piece.encoding.checksums));
      CAIRN_RETURN_IF_ERROR(sink.Put(absl::StrCat(param, "/zarr.json"), json));
    }
    for (const OrbaxSaveLeaf& leaf : leaves_) {
      const Tree& node = *leaf.node;
      std::optional<Array> scalar;
      switch (node.kind()) {
        case Tree::Kind::kInt:
          scalar = Array::FromValues<int64_t>({node.int_value()}, Shape{});
          break;
        case Tree::Kind::kDouble:
          scalar = Array::FromValues<double>({node.double_value()}, Shape{});
          break;
        case Tree::Kind::kBool:
          scalar = Array::FromValues<bool>({node.bool_value()}, Shape{});
          break;
        default:
          continue;
      }
      Zarr3WriteOptions options;
      options.compression = Zarr3Compression::kNone;
      options.chunk_checksums = options_.orbax_chunk_checksums;
      CAIRN_RETURN_IF_ERROR(WriteZarr3Array(sink, leaf.param_name, *scalar, options));
    }
    return absl::OkStatus();
  }

  // On the primary, once every process's arrays are durable: the root database over the
  // processes' ones, the strings, the sharding and last the tree's metadata.
  absl::Status WriteShared() {
    if (aggregated_) {
      std::vector<std::string> databases;
      for (int p = 0; p < coordinator_.process_count(); ++p) {
        databases.push_back(ProcessDatabaseName(p));
      }
      OcdbtWriterOptions options;
      options.filesystem = &fs_;
      options.sync = options_.sync;
      CAIRN_RETURN_IF_ERROR(WriteMergedOcdbtRoot(dir_, databases, options));
    }
    if (!strings_.empty()) {
      CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs_, JoinPath(dir_, kStringsFileName),
                                              OrbaxStringsText(strings_), options_.sync));
    }
    if (options_.orbax_array_type == OrbaxArrayType::kJax && coordinator_.process_count() == 1) {
      std::vector<std::string> params;
      for (const auto& [param, piece] : zarr_json_) params.push_back(param);
      CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs_, JoinPath(dir_, kShardingFileName),
                                              OrbaxSingleDeviceShardingText(params),
                                              options_.sync));
    }
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(
        fs_, JoinPath(dir_, kOrbaxPyTreeMetadataFileName),
        OrbaxPyTreeMetadataText(leaves_, write_shapes_, aggregated_, options_.custom_metadata),
        options_.sync));
    if (options_.sync) {
      CAIRN_RETURN_IF_ERROR(fs_.SyncDir(JoinPath(dir_, kArrayMetadatasDir)));
      CAIRN_RETURN_IF_ERROR(fs_.SyncDir(dir_));
      CAIRN_RETURN_IF_ERROR(directory_.SyncCreated());
    }
    return absl::OkStatus();
  }

  // What this save may have written below a directory that existed before it.
  std::vector<std::string> WrittenPaths() const {
    std::vector<std::string> paths;
    absl::StatusOr<std::vector<std::string>> entries = fs_.ListDir(dir_);
    if (!entries.ok()) return paths;
    for (const std::string& entry : *entries) paths.push_back(JoinPath(dir_, entry));
    return paths;
  }

  const std::string dir_;
  const StoreSaveOptions& options_;
  Filesystem& fs_;
  Coordinator& coordinator_;
  ThreadPool* pool_;
  const int parallelism_;
  const bool aggregated_;
  SaveDirectory directory_;

  std::vector<OrbaxSaveLeaf> leaves_;
  std::string structure_;  // EncodeStructure(leaves_), sent to and compared by the primary
  std::vector<ArrayJob> jobs_;
  std::vector<PieceRecord> pieces_;
  std::map<std::string, std::string> strings_;
  // On the primary, by parameter name: how each array's zarr.json reads, and its write shape.
  std::vector<std::pair<std::string, PieceRecord>> zarr_json_;
  std::map<std::string, Shape> write_shapes_;
};

}  // namespace

absl::Status SaveOrbaxTree(const std::string& dir, const Tree& tree,
                           const StoreSaveOptions& options) {
  return OrbaxTreeSaver(dir, options).Save(tree);
}

}  // namespace cairn::internal
