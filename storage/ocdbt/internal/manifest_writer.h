// The last step of writing a database: its manifest, naming one generation. It is written under
// a temporary name and renamed into place, so that a reader finds either no manifest or a
// complete one, and with `sync` it is durable before the rename and the rename after it.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_WRITER_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "cairn/storage/ocdbt/internal/btree_writer.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"
#include "cairn/utils/filesystem.h"

namespace cairn::ocdbt_internal {

inline constexpr char kManifestFileName[] = "manifest.ocdbt";

// Writes `dir`/manifest.ocdbt (single kind) with `tree` as generation 1, committed at
// `commit_time_nanos`. Errors name the file.
absl::Status WriteManifest(Filesystem& fs, const std::string& dir, const OcdbtConfig& config,
                           const WrittenTree& tree, uint64_t commit_time_nanos, bool sync);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_WRITER_H_
