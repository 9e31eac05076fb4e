#include "cairn/storage/ocdbt/internal/database_writer.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/storage/ocdbt/internal/manifest_writer.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {
namespace {

absl::Status CheckConfig(const OcdbtConfig& config) {
  if (config.version_tree_arity_log2 == 0 ||
      config.version_tree_arity_log2 > kMaxVersionTreeArityLog2) {
    return absl::InvalidArgumentError(absl::StrCat("OCDBT version tree arity log2 ",
                                                   config.version_tree_arity_log2, " outside [1, ",
                                                   kMaxVersionTreeArityLog2, "]"));
  }
  if (config.max_inline_value_bytes > kMaxInlineValueLength) {
    return absl::InvalidArgumentError(
        absl::StrCat("OCDBT max_inline_value_bytes ", config.max_inline_value_bytes,
                     " exceeds the format's limit of ", kMaxInlineValueLength));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<DatabaseDir> PrepareDatabaseDir(const std::string& dir,
                                               const OcdbtWriterOptions& options) {
  CAIRN_RETURN_IF_ERROR(CheckConfig(options.config));
  DatabaseDir target;
  target.fs = options.filesystem != nullptr ? options.filesystem : Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(target.dir, ResolveRoot(*target.fs, dir));
  CAIRN_RETURN_IF_ERROR(CreateDirs(*target.fs, target.dir, options.sync));
  const std::string manifest = JoinPath(target.dir, kManifestFileName);
  CAIRN_ASSIGN_OR_RETURN(bool exists, PathExists(*target.fs, manifest));
  if (exists) {
    return absl::AlreadyExistsError(absl::StrCat("cannot write an OCDBT database over the one in ",
                                                 target.dir, ": ", manifest, " exists"));
  }
  return target;
}

absl::Status CommitDatabase(Filesystem& fs, const std::string& dir,
                            const OcdbtWriterOptions& options, std::vector<KeyToWrite> keys,
                            DataFileWriter& data_files) {
  CAIRN_ASSIGN_OR_RETURN(WrittenTree tree, WriteBtree(std::move(keys), options.config,
                                                      options.target_node_bytes, data_files));
  CAIRN_RETURN_IF_ERROR(data_files.Finish());
  const uint64_t commit_time = options.commit_time_nanos != 0
                                   ? options.commit_time_nanos
                                   : static_cast<uint64_t>(absl::ToUnixNanos(absl::Now()));
  return WriteManifest(fs, dir, options.config, tree, commit_time, options.sync);
}

}  // namespace cairn::ocdbt_internal
