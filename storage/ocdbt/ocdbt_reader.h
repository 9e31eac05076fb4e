// A read-only reader of one OCDBT database (TensorStore's key-value store, which Orbax writes
// its arrays into): open a database directory, read a key's value, list keys by prefix. Each
// lookup reads the manifest once (at Open) and then only the B+tree nodes on its path. All I/O
// goes through the Filesystem seam, below the database directory. docs/OCDBT.md describes what
// is read and how it is encoded.
#ifndef CAIRN_STORAGE_OCDBT_OCDBT_READER_H_
#define CAIRN_STORAGE_OCDBT_OCDBT_READER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

struct OcdbtReaderOptions {
  Filesystem* filesystem = nullptr;  // Filesystem::Default() when null
  // The generation to read; 0 reads the latest, which is what a database's readers normally see.
  uint64_t generation = 0;
  // Decoded B+tree nodes kept for later lookups; past this many encoded bytes the cache starts
  // over.
  size_t node_cache_bytes = size_t{64} << 20;
};

// Thread-safe: lookups may run concurrently.
class OcdbtReader {
 public:
  // Reads `dir`/manifest.ocdbt (and, for a numbered manifest, the newest `manifest.<16 hex>`).
  // NotFound naming the file when there is no manifest; DataLoss naming it when it is damaged.
  static absl::StatusOr<std::unique_ptr<OcdbtReader>> Open(const std::string& dir,
                                                           const OcdbtReaderOptions& options = {});
  ~OcdbtReader();
  OcdbtReader(const OcdbtReader&) = delete;
  OcdbtReader& operator=(const OcdbtReader&) = delete;

  const OcdbtConfig& config() const;
  // The database directory, resolved (for messages).
  const std::string& dir() const;
  // The generation this reader reads.
  const OcdbtVersion& version() const;

  // The value stored under `key`; NotFound naming the key when there is none. DataLoss naming
  // the file for a missing, damaged or truncated node or data file.
  absl::StatusOr<std::string> Read(absl::string_view key) const;
  // The length of `key`'s value, without reading it; NotFound as Read.
  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const;
  // Bytes [offset, offset + length) of `key`'s value, reading only those bytes of a value stored
  // out of line (a zarr shard's index without the shard). NotFound as Read; OutOfRange naming the
  // key when the range reaches past the value's end.
  absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset,
                                        uint64_t length) const;
  // The same range written to `out` (`length` bytes), read from the data file straight into it.
  absl::Status ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                             char* out) const;
  // Every key that starts with `prefix`, sorted; visits only the subtrees that can hold one.
  absl::StatusOr<std::vector<std::string>> ListKeys(absl::string_view prefix = "") const;
  // Every generation the database records, oldest first, read through the version tree.
  absl::StatusOr<std::vector<OcdbtVersion>> ListVersions() const;

 private:
  struct State;
  explicit OcdbtReader(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_OCDBT_OCDBT_READER_H_
