// What writing any database takes before its first key and after its last, shared by
// OcdbtWriter and the merged multi-process root: the directory made ready, then the B+tree,
// the data files closed and the manifest last.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_WRITER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_WRITER_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/storage/ocdbt/internal/btree_writer.h"
#include "cairn/storage/ocdbt/internal/data_file_writer.h"
#include "cairn/storage/ocdbt/ocdbt_writer.h"
#include "cairn/utils/filesystem.h"

namespace cairn::ocdbt_internal {

struct DatabaseDir {
  Filesystem* fs = nullptr;
  std::string dir;  // resolved
};

// Checks `options` (InvalidArgument for a configuration the format cannot hold), creates `dir`
// when missing (durably with options.sync) and refuses one that holds a manifest already
// (AlreadyExists).
absl::StatusOr<DatabaseDir> PrepareDatabaseDir(const std::string& dir,
                                               const OcdbtWriterOptions& options);

// Writes the B+tree of `keys` (sorted, distinct) through `data_files`, closes them and writes
// the manifest; with options.sync everything is durable before the manifest is renamed in.
absl::Status CommitDatabase(Filesystem& fs, const std::string& dir,
                            const OcdbtWriterOptions& options, std::vector<KeyToWrite> keys,
                            DataFileWriter& data_files);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_DATABASE_WRITER_H_
