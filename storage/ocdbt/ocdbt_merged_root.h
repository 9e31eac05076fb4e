// Orbax's multi-process layout of an OCDBT database: each process writes a database of its own
// in `<root>/ocdbt.process_<N>/` (an OcdbtWriter on that directory), then one process writes the
// root database in `<root>`, whose B+tree holds every process's keys and points into the process
// databases' data files for their out-of-line values. Readers open `<root>` alone.
#ifndef CAIRN_STORAGE_OCDBT_OCDBT_MERGED_ROOT_H_
#define CAIRN_STORAGE_OCDBT_OCDBT_MERGED_ROOT_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cairn/storage/ocdbt/ocdbt_writer.h"

namespace cairn {

// Writes the root database in `root` over the finished databases in `root`/`process_subdirs[i]`
// (relative paths, such as "ocdbt.process_0"). Their key ranges may interleave: the root's
// leaves are the process leaves merged, inline values copied and out-of-line ones referenced
// under the base path "<subdir>/", as Orbax writes them. The process databases are not changed.
// InvalidArgument for a subdir that is not a plain relative path or a key in two processes
// (naming both); NotFound naming a process manifest that is missing; DataLoss naming a damaged
// one. The root's manifest is written last, as by OcdbtWriter::Finish.
absl::Status WriteMergedOcdbtRoot(const std::string& root,
                                  const std::vector<std::string>& process_subdirs,
                                  const OcdbtWriterOptions& options = {});

}  // namespace cairn

#endif  // CAIRN_STORAGE_OCDBT_OCDBT_MERGED_ROOT_H_
