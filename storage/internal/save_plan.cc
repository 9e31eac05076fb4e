#include "cairn/storage/internal/save_plan.h"

#include <iterator>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/storage/internal/chunk_layout.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/internal/tree_text.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {
namespace {

// Deeper trees than this are refused at save so that every saved tree parses again.
constexpr int kMaxTreeDepth = 200;
constexpr int kMinZstdLevel = 1;
constexpr int kMaxZstdLevel = 22;
// Bounds on what a replica record may say, checked when the primary reads them.
constexpr int64_t kMaxClaimRank = 64;
constexpr int64_t kMaxReplicas = int64_t{1} << 24;

absl::Status Invalid(const KeyPath& path, absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("cannot save ", path.ToString(), ": ", what));
}

}  // namespace

absl::Status CheckStoredDType(const KeyPath& path, const Array& array, DType stored) {
  absl::Status castable = CheckCastable(array.dtype(), stored);
  if (!castable.ok()) return Invalid(path, castable.message());
  // Checked before a byte is written; a saturated value would be a silent change of data.
  if (CastCanLoseValues(array.dtype(), stored)) {
    const uint64_t count = array.num_elements();
    const size_t bad = FindUnrepresentable(array.dtype(), array.data(), stored, count);
    if (bad < count) {
      return Invalid(path,
                     absl::StrCat("it is to be stored as ", DTypeName(stored), ", but element ",
                                  ShapeToString(UnravelIndex(array.shape(), bad)), " is ",
                                  ElementToString(array.dtype(), array.data(), bad), ", which ",
                                  DTypeName(stored), " cannot hold"));
    }
  }
  return absl::OkStatus();
}

namespace {

size_t CountArrays(const Tree& tree) {
  if (tree.kind() == Tree::Kind::kArray) return 1;
  size_t n = 0;
  for (const Tree& child : tree.children()) n += CountArrays(child);
  return n;
}

bool IsContainer(const Tree& tree) {
  return tree.kind() == Tree::Kind::kDict || tree.kind() == Tree::Kind::kList ||
         tree.kind() == Tree::Kind::kTuple;
}

// Leaves (an empty container counts as one): what planning a subtree costs.
size_t CountLeaves(const Tree& tree) {
  if (!IsContainer(tree) || tree.size() == 0) return 1;
  size_t n = 0;
  for (const Tree& child : tree.children()) n += CountLeaves(child);
  return n;
}

// Trees with at least this many leaves are planned by several threads: below it, planning takes
// well under a millisecond.
constexpr size_t kParallelPlanLeaves = 4096;

// A node still to be planned: the tree node, its key path and depth, its slot in the index.
struct PlanItem {
  const Tree* tree;
  KeyPath path;
  int depth;
  format::Node* out;
};

// What planning a run of the tree gathered, in tree order.
struct Planned {
  LargeVector<ArrayPiece> pieces;
  std::vector<ReplicaClaim> claims;
  bool shuffled = false;  // some array is stored byte-shuffled (format version 2)
};

class Planner {
 public:
  Planner(const StoreSaveOptions& options, int process_index, Planned* out)
      : options_(options), process_index_(process_index), out_(out) {}

  // Checks the depth and a container's keys and records the container, with a slot for each
  // child; the children are left to the caller. False (and nothing recorded) for a leaf.
  absl::StatusOr<bool> Container(const Tree& tree, const KeyPath& path, int depth,
                                 format::Node* out, std::vector<PlanItem>* children) {
    if (depth > kMaxTreeDepth) {
      return Invalid(path, absl::StrCat("the tree is nested deeper than ", kMaxTreeDepth));
    }
    switch (tree.kind()) {
      case Tree::Kind::kDict: {
        children->reserve(tree.size());
        format::Dict* dict = out->mutable_dict();
        dict->mutable_keys()->Reserve(static_cast<int>(tree.size()));
        dict->mutable_values()->Reserve(static_cast<int>(tree.size()));
        absl::flat_hash_set<absl::string_view> seen;
        for (size_t i = 0; i < tree.size(); ++i) {
          const std::string& key = tree.keys()[i];
          KeyPath child = path.Child(key);
          CAIRN_RETURN_IF_ERROR(ValidateDictKey(key, child));
          CAIRN_RETURN_IF_ERROR(CheckUtf8At(key, child, "dict key"));
          if (!seen.insert(key).second) return Invalid(child, "duplicate dict key");
          dict->add_keys(key);
          children->push_back(PlanItem{&tree[i], std::move(child), depth + 1, dict->add_values()});
        }
        return true;
      }
      case Tree::Kind::kList:
      case Tree::Kind::kTuple: {
        children->reserve(tree.size());
        format::Sequence* seq =
            tree.kind() == Tree::Kind::kList ? out->mutable_list() : out->mutable_tuple();
        for (size_t i = 0; i < tree.size(); ++i) {
          children->push_back(PlanItem{&tree[i], path.Child(i), depth + 1, seq->add_items()});
        }
        return true;
      }
      default:
        return false;
    }
  }

  absl::Status Node(const Tree& tree, const KeyPath& path, int depth, format::Node* out) {
    std::vector<PlanItem> children;
    CAIRN_ASSIGN_OR_RETURN(const bool container, Container(tree, path, depth, out, &children));
    if (container) {
      for (const PlanItem& child : children) {
        CAIRN_RETURN_IF_ERROR(Node(*child.tree, child.path, child.depth, child.out));
      }
      return absl::OkStatus();
    }
    switch (tree.kind()) {
      case Tree::Kind::kNone:
        out->mutable_none();
        return absl::OkStatus();
      case Tree::Kind::kArray:
        return ArrayNode(tree.array(), path, out->mutable_array());
      case Tree::Kind::kInt:
        out->set_int_value(tree.int_value());
        return absl::OkStatus();
      case Tree::Kind::kDouble:
        out->set_double_value(tree.double_value());
        return absl::OkStatus();
      case Tree::Kind::kBool:
        out->set_bool_value(tree.bool_value());
        return absl::OkStatus();
      case Tree::Kind::kString:
        CAIRN_RETURN_IF_ERROR(CheckUtf8At(tree.string_value(), path, "string"));
        out->set_string_value(tree.string_value());
        return absl::OkStatus();
      case Tree::Kind::kBytes:
        out->set_bytes_value(tree.string_value());
        return absl::OkStatus();
      default:
        return Invalid(path, absl::StrCat("a ", TreeKindName(tree.kind()),
                                          " describes what to load; it cannot be saved"));
    }
  }

 private:
  absl::Status ArrayNode(const Array& array, const KeyPath& path, format::ArrayLeaf* leaf) {
    if (!IsValidDType(static_cast<int>(array.dtype()))) return Invalid(path, "invalid dtype");
    absl::StatusOr<uint64_t> bytes = ByteSize(array.dtype(), array.shape());
    if (!bytes.ok()) return Invalid(path, bytes.status().message());
    if (*bytes > 0 && array.data() == nullptr) return Invalid(path, "the array has no data");

    Shape origin(array.rank(), 0);
    const Shape& global = array.global_shape();
    if (array.placement()) {
      origin = array.placement()->origin;
      if (global.size() != array.shape().size() || origin.size() != array.shape().size()) {
        return Invalid(path, absl::StrCat("its placement's global shape ", ShapeToString(global),
                                          " and origin ", ShapeToString(origin),
                                          " must have the array's rank ", array.rank()));
      }
      for (size_t d = 0; d < global.size(); ++d) {
        if (origin[d] < 0 || global[d] < 0 || origin[d] > global[d] ||
            array.shape()[d] > global[d] - origin[d]) {
          return Invalid(path, absl::StrCat("the piece ", ShapeToString(array.shape()), " at ",
                                            ShapeToString(origin), " does not fit in ",
                                            ShapeToString(global)));
        }
      }
    }

    int replica_id = 0;
    int num_replicas = 1;
    if (array.placement()) {
      replica_id = array.placement()->replica_id;
      num_replicas = array.placement()->num_replicas;
      if (num_replicas < 1 || num_replicas > kMaxReplicas || replica_id < 0 ||
          replica_id >= num_replicas) {
        return Invalid(path,
                       absl::StrCat("its placement says replica ", replica_id, " of ", num_replicas,
                                    "; replica ids run from 0 to num_replicas - 1"));
      }
    }

    ArrayStorageOptions custom;
    if (options_.storage_options) custom = options_.storage_options(path, array);
    const DType stored = custom.dtype.value_or(array.dtype());
    CAIRN_RETURN_IF_ERROR(CheckStoredDType(path, array, stored));
    const bool compress = custom.compress.value_or(options_.compress);
    const int level = custom.compression_level.value_or(options_.compression_level);
    if (compress && (level < kMinZstdLevel || level > kMaxZstdLevel)) {
      return Invalid(path, absl::StrCat("zstd level ", level, " is outside [", kMinZstdLevel, ", ",
                                        kMaxZstdLevel, "]"));
    }
    const bool shuffle =
        compress && custom.byte_shuffle.value_or(options_.byte_shuffle) && DTypeSize(stored) > 1;
    const format::Compression compression =
        !compress ? format::COMPRESSION_NONE
                  : (shuffle ? format::COMPRESSION_ZSTD_SHUFFLED : format::COMPRESSION_ZSTD);
    if (shuffle) out_->shuffled = true;
    const uint64_t chunk_bytes = custom.chunk_bytes.value_or(options_.chunk_bytes);
    if (chunk_bytes == 0) return Invalid(path, "chunk size must be positive");
    const uint64_t row_bytes = RowElements(array.shape()) * DTypeSize(stored);
    const uint64_t chunk_rows = std::max<uint64_t>(1, row_bytes == 0 ? 1 : chunk_bytes / row_bytes);

    leaf->set_dtype(static_cast<uint32_t>(array.dtype()));
    leaf->set_stored_dtype(static_cast<uint32_t>(stored));
    for (int64_t d : global) leaf->add_global_shape(static_cast<uint64_t>(d));
    leaf->set_chunk_rows(chunk_rows);
    leaf->set_compression(compression);
    leaf->set_compression_level(compress ? level : 0);
    if (num_replicas > 1) {
      const std::string text = path.ToString();
      out_->claims.push_back(ReplicaClaim{text, origin, array.shape(), replica_id, num_replicas});
      // Another replica writes this piece: the leaf is recorded, the piece is not.
      if (ReplicaWriter(text, origin, num_replicas) != replica_id) return absl::OkStatus();
    }
    format::Shard* shard = leaf->add_shards();
    for (int64_t d : origin) shard->add_origin(static_cast<uint64_t>(d));
    for (int64_t d : array.shape()) shard->add_shape(static_cast<uint64_t>(d));
    shard->set_process_index(static_cast<uint32_t>(process_index_));
    out_->pieces.push_back(
        ArrayPiece{path.ToString(), &array, leaf, shard, stored, compression, level, chunk_rows});
    return absl::OkStatus();
  }

  const StoreSaveOptions& options_;
  const int process_index_;
  Planned* out_;
};

// Reads a decimal number ended by `end` from the front of `text`.
bool ConsumeNumber(absl::string_view* text, char end, int64_t* value) {
  const size_t stop = text->find(end);
  if (stop == absl::string_view::npos || !absl::SimpleAtoi(text->substr(0, stop), value)) {
    return false;
  }
  text->remove_prefix(stop + 1);
  return true;
}

bool ConsumeShape(absl::string_view* text, Shape* shape) {
  int64_t rank;
  if (!ConsumeNumber(text, ' ', &rank) || rank < 0 || rank > kMaxClaimRank) return false;
  shape->resize(static_cast<size_t>(rank));
  for (int64_t& d : *shape) {
    if (!ConsumeNumber(text, ' ', &d)) return false;
  }
  return true;
}

}  // namespace

int ReplicaWriter(absl::string_view path, const Shape& origin, int num_replicas) {
  if (num_replicas <= 1) return 0;
  std::string key(path);
  for (int64_t d : origin) absl::StrAppend(&key, "/", d);
  return static_cast<int>(Checksum64(key) % static_cast<uint64_t>(num_replicas));
}

std::string EncodeReplicaClaims(const std::vector<ReplicaClaim>& claims) {
  std::string out;
  for (const ReplicaClaim& claim : claims) {
    absl::StrAppend(&out, claim.path.size(), ":", claim.path, claim.origin.size(), " ");
    for (int64_t d : claim.origin) absl::StrAppend(&out, d, " ");
    absl::StrAppend(&out, claim.shape.size(), " ");
    for (int64_t d : claim.shape) absl::StrAppend(&out, d, " ");
    absl::StrAppend(&out, claim.replica_id, " ", claim.num_replicas, "\n");
  }
  return out;
}

absl::StatusOr<std::vector<ReplicaClaim>> DecodeReplicaClaims(absl::string_view text) {
  std::vector<ReplicaClaim> claims;
  while (!text.empty()) {
    ReplicaClaim claim;
    int64_t size, replica, replicas;
    if (!ConsumeNumber(&text, ':', &size) || size < 0 ||
        static_cast<uint64_t>(size) > text.size()) {
      return absl::InternalError("a process sent unreadable replica records");
    }
    claim.path = std::string(text.substr(0, static_cast<size_t>(size)));
    text.remove_prefix(static_cast<size_t>(size));
    if (!ConsumeShape(&text, &claim.origin) || !ConsumeShape(&text, &claim.shape) ||
        !ConsumeNumber(&text, ' ', &replica) || !ConsumeNumber(&text, '\n', &replicas) ||
        replicas < 1 || replicas > kMaxReplicas || replica < 0 || replica >= replicas) {
      return absl::InternalError("a process sent unreadable replica records");
    }
    claim.replica_id = static_cast<int>(replica);
    claim.num_replicas = static_cast<int>(replicas);
    claims.push_back(std::move(claim));
  }
  return claims;
}

absl::Status CheckReplicaClaims(const std::vector<ReplicaClaim>& claims,
                                const std::vector<int>& processes) {
  struct Piece {
    const ReplicaClaim* first;
    std::vector<int> holder;  // by replica id: the process, or -1
    int count = 0;
  };
  // Pieces in the order first claimed, so that the first problem reported is the same each time.
  absl::flat_hash_map<std::string, size_t> index;
  std::vector<Piece> pieces;
  for (size_t i = 0; i < claims.size(); ++i) {
    const ReplicaClaim& claim = claims[i];
    const std::string key = absl::StrCat(claim.path.size(), ":", claim.path,
                                         ShapeToString(claim.origin), ShapeToString(claim.shape));
    auto [it, inserted] = index.try_emplace(key, pieces.size());
    if (inserted) pieces.push_back(Piece{&claim, std::vector<int>(claim.num_replicas, -1)});
    Piece& piece = pieces[it->second];
    const std::string where =
        absl::StrCat("cannot save ", claim.path, ": the piece ", ShapeToString(claim.shape), " at ",
                     ShapeToString(claim.origin));
    if (claim.num_replicas != piece.first->num_replicas) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, " has ", piece.first->num_replicas, " replicas on process ",
                       processes[piece.first - claims.data()], " but ", claim.num_replicas,
                       " on process ", processes[i], "; every replica must give the same number"));
    }
    int& holder = piece.holder[claim.replica_id];
    if (holder >= 0) {
      return absl::InvalidArgumentError(absl::StrCat(where, " is replica ", claim.replica_id,
                                                     " on both process ", holder, " and process ",
                                                     processes[i]));
    }
    holder = processes[i];
    ++piece.count;
  }
  for (const Piece& piece : pieces) {
    if (piece.count == piece.first->num_replicas) continue;
    std::vector<int> missing;
    for (int r = 0; r < piece.first->num_replicas; ++r) {
      if (piece.holder[r] < 0) missing.push_back(r);
    }
    return absl::InvalidArgumentError(
        absl::StrCat("cannot save ", piece.first->path, ": the piece ",
                     ShapeToString(piece.first->shape), " at ", ShapeToString(piece.first->origin),
                     " has ", piece.first->num_replicas, " replicas, but no process holds replica ",
                     absl::StrJoin(missing, ", "), "; every replica must take part in the save"));
  }
  return absl::OkStatus();
}

namespace {

// Splits the subtree of the container `item` into runs of subtrees of about `budget` leaves, in
// depth-first order, to be planned by different threads. Containers larger than the budget are
// recorded (their keys checked) here, and their children split in turn.
absl::Status SplitForPlanning(Planner& planner, const PlanItem& item, size_t budget,
                              std::vector<std::vector<PlanItem>>* runs, size_t* run_leaves) {
  std::vector<PlanItem> children;
  CAIRN_RETURN_IF_ERROR(
      planner.Container(*item.tree, item.path, item.depth, item.out, &children).status());
  for (PlanItem& child : children) {
    const size_t leaves = CountLeaves(*child.tree);
    if (leaves > budget && IsContainer(*child.tree)) {
      CAIRN_RETURN_IF_ERROR(SplitForPlanning(planner, child, budget, runs, run_leaves));
      continue;
    }
    if (runs->empty() || *run_leaves >= budget) {
      runs->emplace_back();
      *run_leaves = 0;
    }
    runs->back().push_back(std::move(child));
    *run_leaves += leaves;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<SavePlan>> PlanSave(const Tree& tree,
                                                   const StoreSaveOptions& options,
                                                   int process_index, int process_count,
                                                   ThreadPool* pool, int parallelism) {
  auto plan = std::make_unique<SavePlan>();
  format::TreeIndex& index = plan->index;
  // The oldest version that holds what is saved, so that older readers load what they can;
  // raised to the newest by the first array that needs it.
  index.set_format_version(kFirstTreeFormatVersion);
  index.set_writer("cairn " CAIRN_VERSION);
  index.set_process_count(static_cast<uint32_t>(process_count));
  index.set_layout(options.layout == StoreLayout::kPerLeaf ? format::LAYOUT_PER_LEAF
                                                           : format::LAYOUT_AGGREGATED);
  if (!options.custom_metadata.is_null()) {
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(options.custom_metadata, "the custom metadata"));
    // Replacing invalid UTF-8 instead of throwing: nothing throws across cairn's API.
    index.set_custom_metadata_json(
        options.custom_metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }
  // Large trees: the containers near the root are recorded here, and runs of the subtrees below
  // them are planned in parallel (the index's arena takes allocations from any thread). Each
  // run keeps its own pieces, joined in run order: the same depth-first order, so the same
  // layout, as planning on one thread.
  std::vector<std::vector<PlanItem>> runs;
  const size_t leaves = CountLeaves(tree);
  Planned unused;  // containers hold no pieces
  Planner splitter(options, process_index, &unused);
  if (leaves < kParallelPlanLeaves || parallelism < 2 || pool == nullptr || !IsContainer(tree)) {
    runs.push_back({PlanItem{&tree, KeyPath(), 0, index.mutable_root()}});
  } else {
    size_t run_leaves = 0;
    CAIRN_RETURN_IF_ERROR(
        SplitForPlanning(splitter, PlanItem{&tree, KeyPath(), 0, index.mutable_root()},
                         leaves / (4 * static_cast<size_t>(parallelism)) + 1, &runs, &run_leaves));
  }
  std::vector<Planned> planned(runs.size());
  // Every run is planned and the first failure in tree order reported, whichever thread met it
  // first, so that the error a tree gets is the same each time.
  std::vector<absl::Status> outcomes(runs.size());
  const absl::Status ran = ParallelFor(pool, runs.size(), parallelism, [&](size_t r) {
    size_t arrays = 0;
    for (const PlanItem& item : runs[r]) arrays += CountArrays(*item.tree);
    planned[r].pieces.reserve(arrays);
    Planner planner(options, process_index, &planned[r]);
    for (const PlanItem& item : runs[r]) {
      outcomes[r] = planner.Node(*item.tree, item.path, item.depth, item.out);
      if (!outcomes[r].ok()) break;
    }
    return absl::OkStatus();
  });
  CAIRN_RETURN_IF_ERROR(ran);
  for (const absl::Status& outcome : outcomes) CAIRN_RETURN_IF_ERROR(outcome);

  if (planned.size() == 1) {
    plan->pieces = std::move(planned[0].pieces);
    plan->replica_claims = std::move(planned[0].claims);
  } else {
    size_t pieces = 0;
    for (const Planned& run : planned) pieces += run.pieces.size();
    plan->pieces.reserve(pieces);
    for (Planned& run : planned) {
      std::move(run.pieces.begin(), run.pieces.end(), std::back_inserter(plan->pieces));
      std::move(run.claims.begin(), run.claims.end(), std::back_inserter(plan->replica_claims));
    }
  }
  for (const Planned& run : planned) {
    if (run.shuffled) index.set_format_version(kShuffledFormatVersion);
  }
  return plan;
}

}  // namespace cairn
