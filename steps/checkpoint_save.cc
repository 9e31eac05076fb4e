// SaveCheckpointables and Save: every checkpointable into a work directory, then the metadata,
// the commit marker, and (in rename mode) the rename that makes it visible.
#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/steps/internal/step_contents.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksumming_filesystem.h"
#include "cairn/utils/counting_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

class CheckpointWriter {
 public:
  CheckpointWriter(const std::string& dir, const CheckpointOptions& options)
      : dir_(dir),
        parent_(ParentPath(dir)),
        options_(options),
        checksumming_(options.filesystem ? options.filesystem : Filesystem::Default()),
        counting_(&checksumming_),
        fs_(counting_),
        registry_(options.registry ? *options.registry : HandlerRegistry::Global()) {}

  absl::Status Write(const Checkpointables& items) {
    if (BaseName(dir_).empty() || ParseTemporaryName(BaseName(dir_))) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save a checkpoint at ", dir_, ": not a usable directory name"));
    }
    std::vector<std::shared_ptr<const CheckpointableHandler>> handlers;
    for (const auto& [name, value] : items) {
      CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(name));
      absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> handler =
          registry_.ForValue(value);
      if (!handler.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("checkpointable '", name, "': ", handler.status().message()));
      }
      handlers.push_back(*std::move(handler));
    }
    CAIRN_RETURN_IF_ERROR(CheckSavable(items));
    // What _CHECKPOINT_METADATA holds must read back, or the whole step would not load.
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(options_.custom_metadata, "the custom metadata"));
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(options_.metrics, "the metrics"));
    CAIRN_RETURN_IF_ERROR(
        CheckJsonForSave(options_.performance_metrics, "the performance metrics"));
    const bool rename = options_.commit_mode == CommitMode::kRename;
    CAIRN_ASSIGN_OR_RETURN(const bool exists, Exists());
    // In rename mode nothing is ever written at the step's own name but a whole checkpoint, so
    // a directory there holding no checkpoint (an empty one, say) is no save in progress: it is
    // replaced as an old checkpoint would be, moved aside and deleted once the new one is in.
    // One that holds files is someone's, not a leftover: it is refused, never deleted.
    bool leftover = false;
    if (exists && rename) {
      CAIRN_ASSIGN_OR_RETURN(const bool holds, internal::HoldsCheckpoint(fs_, dir_));
      if (!holds) {
        CAIRN_ASSIGN_OR_RETURN(const std::vector<std::string> entries, fs_.ListDir(dir_));
        if (!entries.empty()) {
          return absl::FailedPreconditionError(
              absl::StrCat(dir_,
                           " has a step's name and holds files but no checkpoint; cairn will not "
                           "replace it: move it away to save this step"));
        }
        leftover = true;
      }
    }
    if (exists && !leftover && !options_.overwrite) {
      return absl::AlreadyExistsError(
          absl::StrCat("a checkpoint already exists at ", dir_, "; pass overwrite to replace it"));
    }
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs_, parent_, options_.store_save.sync));

    work_ = rename
                ? JoinPath(parent_, MakeTemporaryName(BaseName(dir_), TemporaryKind::kInProgress))
                : dir_;
    if (!rename && exists) CAIRN_RETURN_IF_ERROR(Uncommit());
    const absl::Time start = absl::Now();
    absl::Status status = Fill(items, handlers);
    if (status.ok()) status = rename ? Publish(exists) : fs_.SyncDir(parent_);
    if (!status.ok()) {
      DeleteRecursively(fs_, work_).IgnoreError();
      return status;
    }
    if (options_.stats != nullptr) {
      stats_.bytes_written = counting_.bytes_written();
      stats_.commit_duration = absl::Now() - start - stats_.write_duration;
      *options_.stats = stats_;
    }
    return absl::OkStatus();
  }

 private:
  absl::StatusOr<bool> Exists() {
    absl::StatusOr<FileInfo> info = fs_.Stat(dir_);
    if (absl::IsNotFound(info.status())) return false;
    CAIRN_RETURN_IF_ERROR(info.status());
    if (!info->is_directory()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot save a checkpoint at ", dir_, ": it exists and is not a directory (",
                       info->is_symlink() ? "a symlink" : "a file", "); nothing was changed"));
    }
    return true;
  }

  // Commit-file mode replacing a checkpoint in place: withdraw the marker first, durably, so
  // that no reader takes the half-replaced directory for a checkpoint.
  absl::Status Uncommit() {
    absl::Status status = fs_.DeleteFile(JoinPath(dir_, kCommitMarkerFileName));
    if (!status.ok() && !absl::IsNotFound(status)) return status;
    CAIRN_RETURN_IF_ERROR(fs_.SyncDir(dir_));
    return DeleteRecursively(fs_, dir_);
  }

  absl::Status Fill(const Checkpointables& items,
                    const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers) {
    const bool sync = options_.store_save.sync;
    const absl::Time start = absl::Now();
    CheckpointMetadata metadata;
    metadata.init_timestamp_nsecs = absl::ToUnixNanos(start);
    metadata.custom_metadata = options_.custom_metadata;
    metadata.metrics = options_.metrics;
    metadata.performance_metrics = options_.performance_metrics;
    CAIRN_RETURN_IF_ERROR(fs_.CreateDir(work_));
    HandlerContext context{&fs_, options_.store_save, options_.store_load};
    context.store_save.filesystem = &fs_;
    size_t i = 0;
    for (const auto& [name, value] : items) {
      const std::string item_dir = JoinPath(work_, name);
      CAIRN_RETURN_IF_ERROR(fs_.CreateDir(item_dir));
      CAIRN_RETURN_IF_ERROR(Annotate(handlers[i]->Save(item_dir, value, context),
                                     absl::StrCat("saving '", name, "'")));
      if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(item_dir));
      metadata.item_handlers[name] = handlers[i]->RecordedName(value);
      ++i;
    }
    const absl::Time written = absl::Now();
    stats_.write_duration = written - start;
    stats_.commit_time = written;
    if (!metadata.performance_metrics.is_object()) {
      metadata.performance_metrics = nlohmann::json::object();
    }
    metadata.performance_metrics["write_duration_secs"] =
        absl::ToDoubleSeconds(stats_.write_duration);
    metadata.performance_metrics["bytes_written"] = counting_.bytes_written();
    metadata.commit_timestamp_nsecs = absl::ToUnixNanos(written);
    CAIRN_RETURN_IF_ERROR(WriteCheckpointMetadata(fs_, work_, metadata, sync));
    if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(work_));
    // The marker comes last and alone, after everything it vouches for is durable.
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs_, JoinPath(work_, kCommitMarkerFileName),
                                            FormatCommitMarker(FilesToList()), sync));
    if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(work_));
    return absl::OkStatus();
  }

  // What the commit marker vouches for: every file written whole, except the pytree store's
  // data files, whose chunks carry checksums of their own and which loads read in part.
  std::map<std::string, FileDigest> FilesToList() const {
    std::map<std::string, FileDigest> files = checksumming_.DigestsBelow(work_);
    for (auto it = files.begin(); it != files.end();) {
      const std::vector<absl::string_view> parts = absl::StrSplit(it->first, '/');
      const bool data = std::find(parts.begin(), parts.end(), kTreeDataDirName) != parts.end();
      it = data || it->second.size > kMaxListedFileBytes ? files.erase(it) : std::next(it);
    }
    return files;
  }

  // Rename mode: the complete work directory takes the checkpoint's name in one rename. An
  // overwritten checkpoint is moved aside first and deleted only after the new one is durable,
  // so the name is without a complete checkpoint only between two renames. A failure at any
  // point puts the old state back: a save that failed leaves no trace.
  absl::Status Publish(bool replacing) {
    std::string old;
    if (replacing) {
      old = JoinPath(parent_, MakeTemporaryName(BaseName(dir_), TemporaryKind::kReplaced));
      CAIRN_RETURN_IF_ERROR(fs_.Rename(dir_, old));
    }
    absl::Status status = fs_.Rename(work_, dir_);
    if (!status.ok()) {
      if (replacing) Restore(old).IgnoreError();
      return status;
    }
    status = fs_.SyncDir(parent_);
    if (!status.ok()) {
      // Visible but not known to be durable: withdraw it rather than acknowledge it.
      if (fs_.Rename(dir_, work_).ok() && replacing) Restore(old).IgnoreError();
      return status;
    }
    // A failure here leaves a recognisable leftover for CleanupStaleTemporaries, not an error.
    if (replacing) DeleteRecursively(fs_, old).IgnoreError();
    return absl::OkStatus();
  }

  // Puts the checkpoint moved aside to `old` back under its name.
  absl::Status Restore(const std::string& old) {
    CAIRN_RETURN_IF_ERROR(fs_.Rename(old, dir_));
    return fs_.SyncDir(parent_);
  }

  const std::string dir_;
  const std::string parent_;
  const CheckpointOptions& options_;
  ChecksummingFilesystem checksumming_;
  CountingFilesystem counting_;
  Filesystem& fs_;
  const HandlerRegistry& registry_;
  std::string work_;
  CheckpointSaveStats stats_;
};

}  // namespace

absl::Status CheckSavable(const Checkpointables& items) {
  for (const auto& [name, value] : items) {
    const std::string what = absl::StrCat("checkpointable '", name, "'");
    if (const auto* tree = std::get_if<Tree>(&value)) {
      CAIRN_RETURN_IF_ERROR(Annotate(CheckTreeText(*tree), what));
    } else if (const auto* json = std::get_if<nlohmann::json>(&value)) {
      CAIRN_RETURN_IF_ERROR(CheckJsonForSave(*json, absl::StrCat("the JSON document of ", what)));
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateCheckpointableName(absl::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find('/') != absl::string_view::npos ||
      name.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "checkpointable name '", name,
        "' is not allowed: it must be non-empty, contain neither '/' nor NUL, and not be '.' or "
        "'..'"));
  }
  if (name == kCheckpointMetadataFileName || name == kCommitMarkerFileName || name == "LOCKED") {
    return absl::InvalidArgumentError(
        absl::StrCat("checkpointable name '", name, "' is reserved by cairn"));
  }
  return absl::OkStatus();
}

absl::Status SaveCheckpointables(const std::string& named_dir, const Checkpointables& items,
                                 const CheckpointOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  return CheckpointWriter(dir, options).Write(items);
}

absl::Status Save(const std::string& dir, const Tree& tree, const CheckpointOptions& options) {
  Checkpointables items;
  items.emplace(kDefaultPyTreeName, tree);
  return SaveCheckpointables(dir, items, options);
}

}  // namespace cairn
