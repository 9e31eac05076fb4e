// Checking a cairn tree directory's data without decoding it: every chunk the index lists is
// read from its data file, in file order, and its stored bytes are checked against the chunk's
// checksum (docs/FORMAT.md). This is as much as a load checks, at the cost of a read.
#ifndef CAIRN_STORAGE_TREE_VERIFICATION_H_
#define CAIRN_STORAGE_TREE_VERIFICATION_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

struct ChunkVerifyOptions {
  Filesystem* filesystem = nullptr;
  uint64_t max_index_bytes = uint64_t{1} << 30;  // as StoreLoadOptions::max_index_bytes
  // Called with the bytes read so far, as chunks are checked.
  std::function<void(uint64_t bytes_read)> progress;
};

struct ChunkDamage {
  std::string file;     // the data file, relative to the tree directory
  std::string problem;  // naming the file, the chunk and its array's key path
};

struct ChunkVerification {
  uint64_t chunks = 0;
  uint64_t bytes_read = 0;
  uint64_t stored_bytes = 0;  // what the index lists: bytes_read once every chunk was readable
  std::vector<ChunkDamage> damage;
};

// Whether `dir` holds cairn's own index (as opposed to an Orbax tree, which has no checksums).
absl::StatusOr<bool> HoldsCairnIndex(const std::string& dir, Filesystem* filesystem = nullptr);

// Checks every chunk of the cairn tree in `dir`. A damaged index is a DataLoss error (nothing
// can be checked without it); damaged, missing or short data files are reported as damage.
absl::StatusOr<ChunkVerification> VerifyTreeChunks(const std::string& dir,
                                                   const ChunkVerifyOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_STORAGE_TREE_VERIFICATION_H_
