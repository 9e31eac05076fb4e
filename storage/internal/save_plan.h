// The options a save resolved for one array piece, and the pieces of a whole tree, gathered
// while the tree is turned into its index.
#ifndef CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_
#define CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/shape.h"
#include "cairn/utils/large_block_allocator.h"
#include "google/protobuf/arena.h"

namespace cairn {

class ThreadPool;

// One array (or the piece of a global array this process holds) to be written.
struct ArrayPiece {
  std::string path;         // key path, for messages
  const Array* array;       // the caller's array, read in place
  format::ArrayLeaf* leaf;  // its record in the index being built
  format::Shard* shard;     // the shard record whose chunks this piece fills
  DType stored_dtype;
  format::Compression compression;
  int level;
  uint64_t chunk_rows;
};

// A piece that several processes hold (ShardPlacement::num_replicas > 1), as one of its holders
// reports it to the primary, which checks that every replica of every piece took part.
struct ReplicaClaim {
  std::string path;
  Shape origin;
  Shape shape;
  int replica_id;
  int num_replicas;
};

// InvalidArgument naming `path` when `array` cannot be stored as `stored`: a cast the dtypes do
// not allow, or an element the stored dtype cannot hold (a save never saturates silently).
absl::Status CheckStoredDType(const KeyPath& path, const Array& array, DType stored);

// Which replica of a piece held by `num_replicas` processes writes it: a stable hash of the key
// path and the origin, the same in every process, so that the replicas share the writes.
int ReplicaWriter(absl::string_view path, const Shape& origin, int num_replicas);

// The claims as text for the gather to the primary, and back; a malformed text is Internal.
std::string EncodeReplicaClaims(const std::vector<ReplicaClaim>& claims);
absl::StatusOr<std::vector<ReplicaClaim>> DecodeReplicaClaims(absl::string_view text);

// InvalidArgument naming the key path and origin of the first replicated piece whose replicas
// (claims gathered from every process, `processes[i]` the sender of `claims[i]`) disagree on
// their number, repeat an id, or are not all present.
absl::Status CheckReplicaClaims(const std::vector<ReplicaClaim>& claims,
                                const std::vector<int>& processes);

struct SavePlan {
  // Owns the index's messages: built in a few blocks and freed at once, where a tree of 100,000
  // leaves would otherwise cost several hundred thousand allocations each way.
  google::protobuf::Arena arena{IndexArenaOptions()};
  format::TreeIndex& index = *google::protobuf::Arena::CreateMessage<format::TreeIndex>(&arena);
  LargeVector<ArrayPiece> pieces;  // the pieces this process writes
  std::vector<ReplicaClaim> replica_claims;
};

// Validates `tree` and builds the index (without chunk records) and the list of array pieces,
// in depth-first order. A replicated piece that another replica writes is validated but neither
// listed nor given a shard record. Every problem is InvalidArgument naming the key path. Large
// trees are planned on up to `parallelism` threads of `pool` (null: on the caller's alone).
absl::StatusOr<std::unique_ptr<SavePlan>> PlanSave(const Tree& tree,
                                                   const StoreSaveOptions& options,
                                                   int process_index, int process_count,
                                                   ThreadPool* pool = nullptr, int parallelism = 1);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_
