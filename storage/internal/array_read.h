// Reading one array (or a region of it) from the chunks the index lists: the plan of chunk reads
// a request needs, and their execution into the result's memory.
#ifndef CAIRN_STORAGE_INTERNAL_ARRAY_READ_H_
#define CAIRN_STORAGE_INTERNAL_ARRAY_READ_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/array.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// Opens the data files of one index on first use and checks their sizes against it.
class DataFiles {
 public:
  DataFiles(Filesystem& fs, std::string data_dir, const format::TreeIndex& index)
      : fs_(fs),
        data_dir_(std::move(data_dir)),
        index_(index),
        files_(index.data_files_size()),
        mappings_(index.data_files_size()),
        checked_(index.data_files_size(), false) {}

  absl::StatusOr<const ReadableFile*> Get(uint32_t file);
  // The first `size` bytes (as the index records them) of data file `file` mapped into memory,
  // mapped once and shared; null when its filesystem cannot map files.
  absl::StatusOr<std::shared_ptr<const FileMapping>> Map(uint32_t file);
  // Opens every data file holding chunks of `leaf` that the region of `shape` at `origin` needs,
  // checking each against its recorded size. Returns how many elements of the region those
  // chunks fill. Called by the thread that plans the load, before the reads run.
  absl::StatusOr<uint64_t> OpenFor(const format::ArrayLeaf& leaf, const Shape& origin,
                                   const Shape& shape);

 private:
  Filesystem& fs_;
  const std::string data_dir_;
  const format::TreeIndex& index_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<ReadableFile>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<const FileMapping>> mappings_ ABSL_GUARDED_BY(mu_);
  bool unmappable_ ABSL_GUARDED_BY(mu_) = false;
  // The files OpenFor has opened, known to the planning thread without the lock: a load of many
  // small arrays would otherwise take it once a chunk.
  std::vector<bool> checked_;
};

// Coordinates of an n-d box, kept inline for arrays of rank up to 4: a load of many small
// arrays plans and executes a read per chunk, and heap vectors there cost more than the reads.
using Dims = absl::InlinedVector<int64_t, 4>;

// Where the chunks of one array land: the destination's memory (the array the load returns, the
// caller's, or for a mapped view the mapped pages, which the read only verifies), its shape, and
// where it starts in the global array. Not owned: the destination lives until the plan runs.
struct ReadTarget {
  char* data;
  DType dtype;
  Dims shape;
  Dims origin;
  std::string path;  // key path, for messages
  // Let a cast saturate values the destination type cannot hold instead of failing the read.
  bool saturate_casts = false;
};

// One chunk read into the region of its target.
struct ChunkRead {
  const format::ArrayLeaf* leaf;
  const format::Shard* shard;
  int chunk;
  uint32_t target;  // in ReadPlan::targets
  // The byte offset in the target where the chunk lands whole and contiguous, so that it is
  // decoded (or read) straight into place; -1 when it must be copied in part.
  int64_t place_offset = -1;
  // The target is a view of the chunk's mapped pages (at place_offset): the read only verifies
  // them.
  bool mapped = false;
};

// The reads of one load, planned array by array and executed together.
struct ReadPlan {
  std::vector<ReadTarget> targets;
  std::vector<ChunkRead> reads;
};

// An empty plan with room for `chunks` reads and as many targets, reusing the memory of a plan
// given back by an earlier load when there is one: a 100,000-leaf plan takes tens of megabytes,
// and faulting them in anew cost a third of such a load on a machine with slow page faults.
ReadPlan TakeReadPlan(uint64_t chunks);
// Keeps the memory of `plan` for the next load, unless another kept plan or its size (over
// 64 MiB) says to free it.
void GiveBackReadPlan(ReadPlan plan);

// Adds to `plan` every chunk read that fills `destination`, which holds the region of the
// global array starting at `origin`. Sets `*fully_covered` when the stored shards cover every
// element of the region exactly once (otherwise the caller zero-fills first).
void PlanArrayReads(const format::ArrayLeaf& leaf, const Array& destination, const Shape& origin,
                    std::string path, bool saturate_casts, ReadPlan* plan, bool* fully_covered);

// The whole of `leaf` as a read-only view of its data file's mapped pages, when its stored bytes
// are the array's (uncompressed, one shard, its chunks one aligned run of one file) and the file
// can be mapped; else why not. Adds to `plan` the verification of every chunk of the view.
absl::StatusOr<std::variant<Array, MapFallback>> MapArrayReads(const format::ArrayLeaf& leaf,
                                                               std::string path, DataFiles& files,
                                                               ReadPlan* plan);

// Splits `reads` into runs to execute together, as [first, last) index ranges in order: a run of
// several is small uncompressed chunks read into place that lie next to each other in one file
// (the save packs small chunks so), read with one call instead of one each.
std::vector<std::pair<size_t, size_t>> GroupChunkReads(const std::vector<ChunkRead>& reads);

// Reads, verifies and places the chunks of one run of `plan` (of GroupChunkReads, or a single
// read): its reads [first, last).
absl::Status ExecuteChunkReads(const ReadPlan& plan, size_t first, size_t last, DataFiles& files);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_ARRAY_READ_H_
