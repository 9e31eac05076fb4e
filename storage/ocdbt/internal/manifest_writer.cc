#include "cairn/storage/ocdbt/internal/manifest_writer.h"

#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/internal/encoded_object.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {

absl::Status WriteManifest(Filesystem& fs, const std::string& dir, const OcdbtConfig& config,
                           const WrittenTree& tree, uint64_t commit_time_nanos, bool sync) {
  Manifest manifest;
  manifest.config = config;
  manifest.config.manifest_kind = OcdbtConfig::ManifestKind::kSingle;
  // An empty generation still names a file: the empty one, as TensorStore writes it.
  manifest.files.push_back(tree.root_file);
  GenerationReference version = tree.reference;
  version.version.generation = 1;
  version.version.commit_time_nanos = commit_time_nanos;
  manifest.versions.push_back(version);
  CAIRN_ASSIGN_OR_RETURN(std::string encoded,
                         EncodeEncodedObject(kManifestMagic, EncodeManifestBody(manifest),
                                             config.compression, config.zstd_level));
  const std::string path = JoinPath(dir, kManifestFileName);
  const std::string temporary = absl::StrCat(path, ".tmp");
  absl::Status written = WriteStringToFile(fs, temporary, encoded, sync);
  if (!written.ok()) {
    fs.DeleteFile(temporary).IgnoreError();  // what is left of it names nothing
    return Annotate(written, absl::StrCat("writing OCDBT manifest ", temporary));
  }
  CAIRN_RETURN_IF_ERROR(
      Annotate(fs.Rename(temporary, path), absl::StrCat("renaming the OCDBT manifest to ", path)));
  if (sync) {
    absl::Status synced = fs.SyncDir(dir);
    if (!synced.ok()) {
      // A manifest whose name may not survive a power loss does not claim the database is there.
      fs.DeleteFile(path).IgnoreError();
      return Annotate(synced, absl::StrCat("syncing directory ", dir));
    }
  }
  return absl::OkStatus();
}

}  // namespace cairn::ocdbt_internal
