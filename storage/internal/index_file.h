// Reading and writing the store's index file: a fixed header (magic, version, sizes, checksums)
// followed by the serialised TreeIndex. Everything read is checked before it is trusted.
#ifndef CAIRN_STORAGE_INTERNAL_INDEX_FILE_H_
#define CAIRN_STORAGE_INTERNAL_INDEX_FILE_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/index_arena.h"
#include "cairn/storage/key_path.h"
#include "cairn/utils/filesystem.h"
#include "google/protobuf/arena.h"

namespace cairn {

// The newest format this build writes and reads (docs/FORMAT.md, "Versions").
inline constexpr uint32_t kTreeFormatVersion = 2;
// Version 1 lacks COMPRESSION_ZSTD_SHUFFLED; saves without it are still written as version 1.
inline constexpr uint32_t kFirstTreeFormatVersion = 1;
inline constexpr uint32_t kShuffledFormatVersion = 2;
inline constexpr size_t kIndexHeaderSize = 40;

// Writes the index to `<dir>/_CAIRN_INDEX` through a temporary file and a rename, so that a
// crash leaves either no index or a complete one; with `sync`, file and directory are fsynced.
// The same as StageIndexFile followed by PublishIndexFile.
absl::Status WriteIndexFile(Filesystem& fs, const std::string& dir, const format::TreeIndex& index,
                            bool sync);
// The two halves of WriteIndexFile, for a save that stages the index while its data is still
// being synced and publishes it after: staging writes (and with `sync` fsyncs) the temporary
// file, which no load reads; publishing renames it into place and, with `sync`, fsyncs `dir`.
absl::Status StageIndexFile(Filesystem& fs, const std::string& dir, const format::TreeIndex& index,
                            bool sync);
absl::Status PublishIndexFile(Filesystem& fs, const std::string& dir, bool sync);

// A parsed index and the arena that owns it: one allocation block instead of one per message,
// which makes reading (and freeing) a 10,000-leaf index several times cheaper.
struct ParsedIndex {
  google::protobuf::Arena arena{IndexArenaOptions()};
  format::TreeIndex* index = nullptr;
  // Chunk records in the whole index: a load sizes its list of reads once by it (the capacity
  // a partial load leaves unused is never touched, so it costs no memory).
  uint64_t num_chunks = 0;
};

// Reads, checks (header, checksums, size limit) and parses `<dir>/_CAIRN_INDEX`, then validates
// every field (ValidateTreeIndex). DataLoss for corruption, FailedPrecondition for a newer
// format, NotFound when there is no index.
absl::StatusOr<std::unique_ptr<ParsedIndex>> ReadIndexFile(Filesystem& fs, const std::string& dir,
                                                           uint64_t max_bytes);
// The same, for loads: the file is read and its checksums checked every time, but an index
// whose payload equals, byte for byte, one of the few large ones parsed last is not parsed and
// validated again (the process keeps up to 4 of 64 KiB to 32 MiB, at most 32 MiB of payloads).
absl::StatusOr<std::shared_ptr<const ParsedIndex>> ReadIndexFileCached(Filesystem& fs,
                                                                       const std::string& dir,
                                                                       uint64_t max_bytes);

// Checks every number and name in `index` so that loaders can trust it: dtypes, shapes and
// their byte sizes, chunk counts and extents within their files, file names, dict keys. `file`
// names the index in messages.
absl::Status ValidateTreeIndex(const format::TreeIndex& index, const std::string& file);

// Checks a dict key: non-empty, no '/', no NUL, not "." or "..". `path` is the key's own path,
// rendered only in an error.
absl::Status ValidateDictKey(absl::string_view key, const KeyPath& path);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_INDEX_FILE_H_
