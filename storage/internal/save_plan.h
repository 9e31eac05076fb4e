// The options a save resolved for one array piece, and the pieces of a whole tree, gathered
// while the tree is turned into its index.
#ifndef CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_
#define CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "google/protobuf/arena.h"

namespace cairn {

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

struct SavePlan {
  // Owns the index's messages: built in a few blocks and freed at once, where a tree of 100,000
  // leaves would otherwise cost several hundred thousand allocations each way.
  google::protobuf::Arena arena{IndexArenaOptions()};
  format::TreeIndex& index = *google::protobuf::Arena::CreateMessage<format::TreeIndex>(&arena);
  std::vector<ArrayPiece> pieces;
};

// Validates `tree` and builds the index (without chunk records) and the list of array pieces.
// Every problem is InvalidArgument naming the key path.
absl::StatusOr<std::unique_ptr<SavePlan>> PlanSave(const Tree& tree,
                                                   const StoreSaveOptions& options,
                                                   int process_index, int process_count);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_SAVE_PLAN_H_
