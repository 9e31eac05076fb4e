// What the manifest and every OCDBT node carry to name the data files they point into: a table
// of (base path, relative path) pairs, prefix-compressed, with base paths inherited by children.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_TABLE_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_TABLE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/internal/byte_reader.h"

namespace cairn::ocdbt_internal {

// The longest data file path, relative to the database directory, the format allows.
inline constexpr size_t kMaxDataFilePathLength = 65535;

struct DataFileId {
  // The inherited path of the referring node followed by this entry's own base path: what a node
  // read from this file passes on to its children.
  std::string base_path;
  std::string relative_path;

  std::string path() const { return base_path + relative_path; }
};

// A byte range of one data file of the table it was read with.
struct DataReference {
  uint64_t file = 0;  // index into that table
  uint64_t offset = 0;
  uint64_t length = 0;
};

// Reads a table whose paths are all prefixed by `transitive_path` (empty for the manifest).
absl::Status ReadDataFileTable(ByteReader& reader, absl::string_view transitive_path,
                               std::vector<DataFileId>* files);

// Reads `count` references stored as three columns (file ids, offsets, lengths). A reference
// whose offset and length are both 2^64-1 means "none" and is accepted only with `allow_missing`.
absl::Status ReadDataReferences(ByteReader& reader, size_t num_files, size_t count,
                                bool allow_missing, std::vector<DataReference>* refs);

// Appends a table of `files` in this order (sorted ones share the most prefix bytes). Each base
// path is written as given: relative to the inherited path of the file the table will be in.
void AppendDataFileTable(const std::vector<DataFileId>& files, std::string* out);

// Appends `refs` as the three columns ReadDataReferences reads.
void AppendDataReferences(const std::vector<DataReference>& refs, std::string* out);

// The order of a table's entries: by base path, then relative path.
inline bool DataFileIdLess(const DataFileId& a, const DataFileId& b) {
  return a.base_path != b.base_path ? a.base_path < b.base_path : a.relative_path < b.relative_path;
}

inline bool IsMissing(const DataReference& ref) {
  return ref.offset == ~uint64_t{0} && ref.length == ~uint64_t{0};
}

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_DATA_FILE_TABLE_H_
