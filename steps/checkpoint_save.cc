// SaveCheckpointables and Save: every checkpointable into a work directory, then the metadata,
// the commit marker, and (in rename mode) the rename that makes it visible.
#include <algorithm>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/steps/internal/save_with_failure.h"
#include "cairn/steps/internal/step_contents.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksumming_filesystem.h"
#include "cairn/utils/counting_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/internal/collective_outcome.h"
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
        registry_(options.registry ? *options.registry : HandlerRegistry::Global()),
        coordinator_(options.coordinator ? *options.coordinator
                                         : *SingleProcessCoordinator::Default()),
        primary_(coordinator_.is_primary()) {}

  // Every process runs the same collectives whatever fails locally, so that a failure on one
  // becomes the same error on all instead of a wait for the one that stopped: prepare (every
  // process's checks gathered; the primary prepares the directory and writes the checkpointables
  // that are not pytrees), the pytrees (each save agreed by the store), then written (every
  // process's outcome gathered; the primary commits) and the verdict.
  absl::Status Write(const Checkpointables& items, const absl::Status& failure = absl::OkStatus()) {
    start_ = absl::Now();
    std::vector<std::shared_ptr<const CheckpointableHandler>> handlers;
    const absl::Status checked = failure.ok() ? CheckLocally(items, &handlers) : failure;
    CAIRN_ASSIGN_OR_RETURN(
        const std::vector<std::string> checks,
        coordinator_.Gather("cairn.checkpoint.check",
                            internal::EncodeOutcome(checked, Signature(items, handlers))));
    absl::Status prepared = checked;
    if (primary_) {
      prepared = internal::FirstFailure(checks, "saving the checkpoint");
      if (prepared.ok()) prepared = SameItemsEverywhere(checks);
      if (prepared.ok()) prepared = Prepare(items, handlers);
    }
    absl::StatusOr<std::string> work =
        internal::ShareOutcome(coordinator_, "cairn.checkpoint.prepare", prepared, work_);
    if (!work.ok()) return Abandon(work.status());
    work_ = *std::move(work);

    // A pytree's save is agreed on by every process, or failed in the coordinator itself: either
    // way no process goes on to the next collective.
    const absl::Status written = WriteTrees(items, handlers);
    if (!written.ok()) return Abandon(written);
    // Every process's data is durable; the primary learns how much each wrote.
    absl::StatusOr<std::vector<std::string>> outcomes = coordinator_.Gather(
        "cairn.checkpoint.written",
        internal::EncodeOutcome(written, absl::StrCat(counting_.bytes_written())));
    if (!outcomes.ok()) return Abandon(outcomes.status());
    absl::Status committed;
    if (primary_) {
      committed = internal::FirstFailure(*outcomes, "saving the checkpoint");
      if (committed.ok()) committed = Commit(items, handlers, *outcomes);
    }
    absl::StatusOr<std::string> verdict =
        internal::ShareOutcome(coordinator_, "cairn.checkpoint.commit", committed,
                               absl::StrCat(absl::ToUnixNanos(stats_.commit_time)));
    // The primary knows its own outcome: a process that did not hear it changes nothing.
    if (primary_ && committed.ok()) verdict = "";
    if (!verdict.ok()) return Abandon(verdict.status());
    if (!primary_) {
      int64_t nanos = 0;
      if (absl::SimpleAtoi(*verdict, &nanos)) stats_.commit_time = absl::FromUnixNanos(nanos);
    }
    if (options_.stats != nullptr) {
      stats_.bytes_written = counting_.bytes_written();
      stats_.commit_duration = absl::Now() - trees_done_;
      *options_.stats = stats_;
    }
    return absl::OkStatus();
  }

 private:
  absl::Status CheckLocally(const Checkpointables& items,
                            std::vector<std::shared_ptr<const CheckpointableHandler>>* handlers) {
    if (BaseName(dir_).empty() || ParseTemporaryName(BaseName(dir_))) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot save a checkpoint at ", dir_, ": not a usable directory name"));
    }
    for (const auto& [name, value] : items) {
      CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(name));
      absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> handler =
          registry_.ForValue(value);
      if (!handler.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("checkpointable '", name, "': ", handler.status().message()));
      }
      handlers->push_back(*std::move(handler));
    }
    CAIRN_RETURN_IF_ERROR(CheckSavable(items));
    // What _CHECKPOINT_METADATA holds must read back, or the whole step would not load.
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(options_.custom_metadata, "the custom metadata"));
    CAIRN_RETURN_IF_ERROR(CheckJsonForSave(options_.metrics, "the metrics"));
    return CheckJsonForSave(options_.performance_metrics, "the performance metrics");
  }

  // The names of the checkpointables and their handlers, which every process must agree on.
  static std::string Signature(
      const Checkpointables& items,
      const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers) {
    std::string signature;
    size_t i = 0;
    for (const auto& [name, value] : items) {
      absl::StrAppend(&signature, i > 0 ? ", " : "", name, " (",
                      i < handlers.size() ? handlers[i]->RecordedName(value) : "?", ")");
      ++i;
    }
    return signature;
  }

  absl::Status SameItemsEverywhere(const std::vector<std::string>& checks) const {
    for (size_t p = 1; p < checks.size(); ++p) {
      if (checks[p] != checks[0]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "the processes saving ", dir_, " disagree on what it holds: process 0 saves ",
            checks[0].substr(1), ", process ", p, " saves ", checks[p].substr(1)));
      }
    }
    return absl::OkStatus();
  }

  // On the primary: refuses what must not be replaced, makes the work directory with one
  // subdirectory per checkpointable, and writes the checkpointables that are not pytrees.
  absl::Status Prepare(const Checkpointables& items,
                       const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers) {
    const bool rename = options_.commit_mode == CommitMode::kRename;
    CAIRN_ASSIGN_OR_RETURN(exists_, Exists());
    // In rename mode nothing is ever written at the step's own name but a whole checkpoint, so
    // a directory there holding no checkpoint (an empty one, say) is no save in progress: it is
    // replaced as an old checkpoint would be, moved aside and deleted once the new one is in.
    // One that holds files is someone's, not a leftover: it is refused, never deleted.
    bool leftover = false;
    if (exists_ && rename) {
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
    if (exists_ && !leftover && !options_.overwrite) {
      return absl::AlreadyExistsError(
          absl::StrCat("a checkpoint already exists at ", dir_, "; pass overwrite to replace it"));
    }
    CAIRN_RETURN_IF_ERROR(CreateDirs(fs_, parent_, options_.store_save.sync));
    const std::string work =
        rename ? JoinPath(parent_, MakeTemporaryName(BaseName(dir_), TemporaryKind::kInProgress))
               : dir_;
    if (!rename && exists_) CAIRN_RETURN_IF_ERROR(Uncommit());
    CAIRN_RETURN_IF_ERROR(fs_.CreateDir(work));
    work_ = work;
    HandlerContext context = Context();
    size_t i = 0;
    for (const auto& [name, value] : items) {
      const std::string item_dir = JoinPath(work_, name);
      CAIRN_RETURN_IF_ERROR(fs_.CreateDir(item_dir));
      if (!std::holds_alternative<Tree>(value)) {
        CAIRN_RETURN_IF_ERROR(Annotate(handlers[i]->Save(item_dir, value, context),
                                       absl::StrCat("saving '", name, "'")));
      }
      ++i;
    }
    return absl::OkStatus();
  }

  HandlerContext Context() {
    HandlerContext context{&fs_, options_.store_save, options_.store_load};
    context.store_save.filesystem = &fs_;
    context.store_save.coordinator = &coordinator_;
    return context;
  }

  // Every process writes its pieces of each pytree; each tree's save is agreed by the store,
  // so all processes stop at the same tree when one fails.
  absl::Status WriteTrees(
      const Checkpointables& items,
      const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers) {
    HandlerContext context = Context();
    size_t i = 0;
    absl::Status status;
    for (const auto& [name, value] : items) {
      if (std::holds_alternative<Tree>(value)) {
        tree_items_.insert(name);
        status = Annotate(handlers[i]->Save(JoinPath(work_, name), value, context),
                          absl::StrCat("saving '", name, "'"));
        if (!status.ok()) break;
      }
      ++i;
    }
    trees_done_ = absl::Now();
    stats_.write_duration = trees_done_ - start_;
    return status;
  }

  // On the primary, once every process's data is durable: the metadata, the marker, and the
  // commit itself. A failure removes the work directory.
  absl::Status Commit(const Checkpointables& items,
                      const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers,
                      const std::vector<std::string>& outcomes) {
    const bool rename = options_.commit_mode == CommitMode::kRename;
    uint64_t others_wrote = 0;
    for (size_t p = 1; p < outcomes.size(); ++p) {
      uint64_t bytes = 0;
      if (absl::SimpleAtoi(absl::string_view(outcomes[p]).substr(1), &bytes)) others_wrote += bytes;
    }
    absl::Status status = Finish(items, handlers, others_wrote);
    if (status.ok()) status = rename ? Publish(exists_) : fs_.SyncDir(parent_);
    if (!status.ok()) Abandon(status).IgnoreError();
    return status;
  }

  absl::Status Finish(const Checkpointables& items,
                      const std::vector<std::shared_ptr<const CheckpointableHandler>>& handlers,
                      uint64_t others_wrote) {
    const bool sync = options_.store_save.sync;
    CheckpointMetadata metadata;
    metadata.init_timestamp_nsecs = absl::ToUnixNanos(start_);
    metadata.custom_metadata = options_.custom_metadata;
    metadata.metrics = options_.metrics;
    metadata.performance_metrics = options_.performance_metrics;
    size_t i = 0;
    for (const auto& [name, value] : items) {
      if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(JoinPath(work_, name)));
      metadata.item_handlers[name] =
          RecordedHandlerName(handlers[i]->RecordedName(value), options_.store_save.format);
      ++i;
    }
    const absl::Time written = absl::Now();
    stats_.commit_time = written;
    if (!metadata.performance_metrics.is_object()) {
      metadata.performance_metrics = nlohmann::json::object();
    }
    metadata.performance_metrics["write_duration_secs"] =
        absl::ToDoubleSeconds(stats_.write_duration);
    metadata.performance_metrics["bytes_written"] = counting_.bytes_written() + others_wrote;
    metadata.commit_timestamp_nsecs = absl::ToUnixNanos(written);
    CAIRN_RETURN_IF_ERROR(WriteCheckpointMetadata(fs_, work_, metadata, sync));
    if (options_.store_save.format == StoreFormat::kOrbax) {
      CAIRN_RETURN_IF_ERROR(
          WriteStringToFile(fs_, JoinPath(work_, kOrbaxV1MarkerFileName), "", sync));
    }
    if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(work_));
    // The marker comes last and alone, after everything it vouches for is durable.
    CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs_, JoinPath(work_, kCommitMarkerFileName),
                                            FormatCommitMarker(FilesToList()), sync));
    if (sync) CAIRN_RETURN_IF_ERROR(fs_.SyncDir(work_));
    return absl::OkStatus();
  }

  // The primary removes what it made of a save that failed; `status` is returned.
  absl::Status Abandon(absl::Status status) {
    if (primary_ && !work_.empty() && !abandoned_) {
      abandoned_ = true;
      DeleteRecursively(fs_, work_).IgnoreError();
    }
    return status;
  }

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

  // What the commit marker vouches for: every file written whole, except the arrays' data,
  // which carries checksums of its own and which loads read in part: cairn's data files, and in
  // Orbax's format the OCDBT databases' d/ files (nodes framed with a CRC-32C, shards with a
  // CRC-32C index and checksummed inner chunks) and per-leaf zarr chunks (c/).
  std::map<std::string, FileDigest> FilesToList() const {
    const bool orbax = options_.store_save.format == StoreFormat::kOrbax;
    std::map<std::string, FileDigest> files = checksumming_.DigestsBelow(work_);
    for (auto it = files.begin(); it != files.end();) {
      const std::vector<absl::string_view> parts = absl::StrSplit(it->first, '/');
      bool data = std::find(parts.begin(), parts.end(), kTreeDataDirName) != parts.end();
      if (orbax && parts.size() > 2 && tree_items_.count(std::string(parts[0])) > 0) {
        data = data || std::find(parts.begin() + 1, parts.end() - 1, "d") != parts.end() - 1 ||
               std::find(parts.begin() + 1, parts.end() - 1, "c") != parts.end() - 1;
      }
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
  Coordinator& coordinator_;
  const bool primary_;
  std::string work_;  // empty until the primary made it (or every process heard where it is)
  bool exists_ = false;
  bool abandoned_ = false;
  std::set<std::string> tree_items_;  // the checkpointables saved as pytrees
  absl::Time start_;
  absl::Time trees_done_;
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
  if (name == kCheckpointMetadataFileName || name == kCommitMarkerFileName || name == "LOCKED" ||
      name == kOrbaxV1MarkerFileName) {
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

namespace internal {

absl::Status JoinSaveWithFailure(const std::string& dir, const absl::Status& failure,
                                 const CheckpointOptions& options) {
  return CheckpointWriter(dir, options).Write({}, failure);
}

}  // namespace internal

absl::Status Save(const std::string& dir, const Tree& tree, const CheckpointOptions& options) {
  Checkpointables items;
  items.emplace(kDefaultPyTreeName, tree);
  return SaveCheckpointables(dir, items, options);
}

}  // namespace cairn
