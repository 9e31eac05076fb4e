// Loading checkpoints: checkpointables by name, one pytree with Orbax's resolution rules, and
// metadata. Each misuse of the layouts (a root of steps, a flat pytree, a missing name) gets an
// error that says what was expected and which call fits instead.
#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/steps/internal/step_contents.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/verifying_filesystem.h"

namespace cairn {
namespace {

Filesystem& FsOf(const CheckpointOptions& options) {
  return options.filesystem ? *options.filesystem : *Filesystem::Default();
}

absl::Status RequireDirectory(Filesystem& fs, const std::string& dir) {
  absl::StatusOr<FileInfo> info = fs.Stat(dir);
  if (absl::IsNotFound(info.status())) {
    return absl::NotFoundError(absl::StrCat("no checkpoint at ", dir, ": it does not exist"));
  }
  CAIRN_RETURN_IF_ERROR(info.status());
  if (!info->is_directory()) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir, " is not a checkpoint: it is ", info->is_symlink() ? "a symlink" : "not a directory",
        " (cairn does not follow symlinks)"));
  }
  return absl::OkStatus();
}

// The first subdirectory of `dir` (alphabetically) that is itself a checkpoint, for hints.
std::optional<std::string> FirstCheckpointBelow(Filesystem& fs, const std::string& dir) {
  absl::StatusOr<std::vector<DirEntry>> entries = fs.ListDirEntries(dir);
  if (!entries.ok()) return std::nullopt;
  std::vector<std::string> names;
  for (const DirEntry& entry : *entries) {
    if (entry.type == FileInfo::Type::kDirectory) names.push_back(entry.name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& name : names) {
    if (PathExists(fs, JoinPath(JoinPath(dir, name), kCheckpointMetadataFileName))
            .value_or(false)) {
      return name;
    }
  }
  return std::nullopt;
}

// Why `dir` is not a checkpoint, phrased as what to do instead.
absl::Status NotACheckpoint(Filesystem& fs, const std::string& dir) {
  if (HoldsTree(dir, &fs).value_or(false)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir,
        " holds a single pytree, not checkpointables: this is a single pytree, use Load "
        "instead (with CheckpointableName::None() or the default)"));
  }
  if (std::optional<std::string> child = FirstCheckpointBelow(fs, dir)) {
    return absl::FailedPreconditionError(
        absl::StrCat(dir, " holds checkpoints in subdirectories: try a subdirectory, such as ",
                     JoinPath(dir, *child)));
  }
  return absl::NotFoundError(
      absl::StrCat("no ", kCheckpointMetadataFileName, " in ", dir, ": it is not a checkpoint"));
}

absl::StatusOr<CheckpointMetadata> MetadataOrExplain(Filesystem& fs, const std::string& dir,
                                                     const CheckpointOptions& options) {
  CAIRN_RETURN_IF_ERROR(RequireDirectory(fs, dir));
  absl::StatusOr<CheckpointMetadata> metadata = ReadCheckpointMetadata(fs, dir);
  if (absl::IsNotFound(metadata.status())) return NotACheckpoint(fs, dir);
  CAIRN_RETURN_IF_ERROR(metadata.status());
  if (options.commit_mode == CommitMode::kCommitFile) {
    CAIRN_ASSIGN_OR_RETURN(const bool committed,
                           IsCommittedCheckpoint(dir, CommitMode::kCommitFile, &fs));
    if (!committed) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " is not committed (no ", kCommitMarkerFileName,
                       "): a save is in progress there, or it crashed"));
    }
  }
  return metadata;
}

// Resolves which directory holds the pytree `name` designates, as Orbax documents it.
absl::StatusOr<std::string> ResolvePyTree(Filesystem& fs, const std::string& dir,
                                          const CheckpointableName& name) {
  CAIRN_RETURN_IF_ERROR(RequireDirectory(fs, dir));
  if (name.flat) {
    CAIRN_ASSIGN_OR_RETURN(const bool holds, HoldsTree(dir, &fs));
    if (holds) return dir;
    std::string hint;
    if (PathExists(fs, JoinPath(dir, kCheckpointMetadataFileName)).value_or(false)) {
      hint =
          "; this directory holds checkpointables in subdirectories: name one, or use the "
          "default resolution";
    } else if (std::optional<std::string> child = FirstCheckpointBelow(fs, dir)) {
      hint = absl::StrCat(
          "; this directory holds checkpoints in subdirectories: try a "
          "subdirectory, such as ",
          JoinPath(dir, *child));
    }
    return absl::NotFoundError(
        absl::StrCat("expecting pytree metadata file: no pytree metadata "
                     "file (",
                     kTreeIndexFileName, ") in ", dir, hint));
  }
  if (name.name) {
    CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(*name.name));
    const std::string sub = JoinPath(dir, *name.name);
    CAIRN_ASSIGN_OR_RETURN(const bool exists, PathExists(fs, sub));
    if (!exists) {
      std::string hint;
      if (HoldsTree(dir, &fs).value_or(false)) {
        hint = "; this is a single pytree (flat layout): load it with CheckpointableName::None()";
      } else if (std::optional<std::string> child = FirstCheckpointBelow(fs, dir)) {
        hint = absl::StrCat(
            "; this directory holds checkpoints in subdirectories: try a "
            "subdirectory, such as ",
            JoinPath(dir, *child));
      }
      return absl::NotFoundError(
          absl::StrCat("expecting a subdirectory named '", *name.name, "' in ", dir, hint));
    }
    CAIRN_ASSIGN_OR_RETURN(const bool holds, HoldsTree(sub, &fs));
    if (!holds) {
      return absl::FailedPreconditionError(absl::StrCat(
          "no pytree metadata file (", kTreeIndexFileName, ") in ", sub, ": the checkpointable '",
          *name.name, "' is not a pytree; use LoadCheckpointables"));
    }
    return sub;
  }
  // Auto: "pytree", else the alphabetically first subdirectory holding a pytree, else flat.
  const std::string preferred = JoinPath(dir, kDefaultPyTreeName);
  if (HoldsTree(preferred, &fs).value_or(false)) return preferred;
  // Said plainly rather than searched past: a linked "pytree" is what was meant, and refused.
  if (absl::StatusOr<FileInfo> info = fs.Stat(preferred); info.ok() && info->is_symlink()) {
    return absl::FailedPreconditionError(absl::StrCat(
        preferred, " is a symlink, and cairn never follows symlinks inside a checkpoint"));
  }
  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirEntries(dir));
  std::vector<std::string> names;
  for (const DirEntry& entry : entries) {
    if (entry.type == FileInfo::Type::kDirectory) names.push_back(entry.name);
  }
  std::sort(names.begin(), names.end());
  for (const std::string& child : names) {
    if (HoldsTree(JoinPath(dir, child), &fs).value_or(false)) return JoinPath(dir, child);
  }
  CAIRN_ASSIGN_OR_RETURN(const bool flat, HoldsTree(dir, &fs));
  if (flat) return dir;
  std::string hint;
  if (std::optional<std::string> child = FirstCheckpointBelow(fs, dir)) {
    hint = absl::StrCat(
        "; this directory holds checkpoints in subdirectories: try a "
        "subdirectory, such as ",
        JoinPath(dir, *child));
  }
  return absl::NotFoundError(absl::StrCat("expecting a subdirectory named '", kDefaultPyTreeName,
                                          "' (or any pytree) in ", dir, hint));
}

// `options` with reads of the checkpoint going through a filesystem that verifies every file its
// commit marker lists, and the checkpoint's directory as resolved once (CanonicalPath). Each
// public entry point below reads through both.
class VerifiedOptions {
 public:
  static absl::StatusOr<VerifiedOptions> For(const std::string& named_dir,
                                             const CheckpointOptions& options) {
    Filesystem& fs = FsOf(options);
    CAIRN_ASSIGN_OR_RETURN(std::string dir, ResolveAbove(fs, named_dir));
    CAIRN_ASSIGN_OR_RETURN(std::optional<ListedFiles> listed, ReadCommitMarker(fs, dir));
    VerifiedOptions verified(options, std::move(dir));
    if (listed) {
      verified.fs_ = std::make_unique<VerifyingFilesystem>(&fs, verified.dir_, *std::move(listed),
                                                           kCommitMarkerFileName);
      verified.options_.filesystem = verified.fs_.get();
    }
    return verified;
  }
  const CheckpointOptions& options() const { return options_; }
  Filesystem& fs() const { return FsOf(options_); }
  const std::string& dir() const { return dir_; }

 private:
  VerifiedOptions(const CheckpointOptions& options, std::string dir)
      : options_(options), dir_(std::move(dir)) {}
  std::unique_ptr<Filesystem> fs_;
  CheckpointOptions options_;
  std::string dir_;
};

StoreLoadOptions StoreLoadOptionsFor(const CheckpointOptions& options) {
  StoreLoadOptions store = options.store_load;
  store.filesystem = &FsOf(options);
  return store;
}

}  // namespace

absl::StatusOr<bool> IsCommittedCheckpoint(const std::string& named_dir, CommitMode mode,
                                           Filesystem* filesystem) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  absl::StatusOr<FileInfo> info = fs.Stat(dir);
  if (absl::IsNotFound(info.status())) return false;
  CAIRN_RETURN_IF_ERROR(info.status());
  if (!info->is_directory()) return false;
  if (mode == CommitMode::kRename) return internal::HoldsCheckpoint(fs, dir);
  return PathExists(fs, JoinPath(dir, kCommitMarkerFileName));
}

absl::StatusOr<Checkpointables> LoadCheckpointables(
    const std::string& named_dir, const std::map<std::string, LoadRequest>& requests,
    const CheckpointOptions& unverified) {
  CAIRN_ASSIGN_OR_RETURN(const VerifiedOptions verified,
                         VerifiedOptions::For(named_dir, unverified));
  const std::string& dir = verified.dir();
  const CheckpointOptions& options = verified.options();
  Filesystem& fs = verified.fs();
  const HandlerRegistry& registry =
      options.registry ? *options.registry : HandlerRegistry::Global();
  CAIRN_ASSIGN_OR_RETURN(const CheckpointMetadata metadata, MetadataOrExplain(fs, dir, options));
  std::map<std::string, LoadRequest> wanted = requests;
  if (wanted.empty()) {
    for (const auto& [name, handler] : metadata.item_handlers) wanted.emplace(name, std::nullopt);
  }
  HandlerContext context{&fs, options.store_save, StoreLoadOptionsFor(options)};
  Checkpointables loaded;
  for (const auto& [name, request] : wanted) {
    CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(name));
    const auto recorded = metadata.item_handlers.find(name);
    if (recorded == metadata.item_handlers.end()) {
      std::vector<std::string> have;
      for (const auto& [n, h] : metadata.item_handlers) have.push_back(n);
      return absl::NotFoundError(absl::StrCat("the checkpoint at ", dir,
                                              " has no checkpointable named '", name,
                                              "' (it has: ", absl::StrJoin(have, ", "), ")"));
    }
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const CheckpointableHandler> handler,
                           registry.ForRecorded(recorded->second));
    if (requests.empty() && absl::StartsWith(recorded->second, kObjectHandlerPrefix)) {
      // Nothing to restore into: the entry names the object instead of failing every other one.
      loaded.emplace(
          name, std::shared_ptr<StatefulObject>(std::make_shared<UnrestoredObject>(
                    recorded->second.substr(strlen(kObjectHandlerPrefix)), JoinPath(dir, name))));
      continue;
    }
    if (request) {
      absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> wants =
          registry.ForValue(*request);
      const std::string asked =
          wants.ok() ? (*wants)->RecordedName(*request) : "an unknown handler";
      if (asked != recorded->second) {
        return absl::InvalidArgumentError(absl::StrCat(
            "checkpointable '", name, "' in ", dir, " was written by ", recorded->second,
            " but the request is for ", asked,
            "; request it with a value of the kind that was saved, or load it as saved"));
      }
    }
    CAIRN_ASSIGN_OR_RETURN(Checkpointable value,
                           handler->Load(JoinPath(dir, name), request, context));
    loaded.emplace(name, std::move(value));
  }
  return loaded;
}

absl::StatusOr<Tree> Load(const std::string& named_dir, const Tree& abstract,
                          const CheckpointableName& name, const CheckpointOptions& unverified) {
  CAIRN_ASSIGN_OR_RETURN(const VerifiedOptions verified,
                         VerifiedOptions::For(named_dir, unverified));
  const std::string& dir = verified.dir();
  const CheckpointOptions& options = verified.options();
  Filesystem& fs = verified.fs();
  CAIRN_ASSIGN_OR_RETURN(const std::string tree_dir, ResolvePyTree(fs, dir, name));
  if (tree_dir != dir && options.commit_mode == CommitMode::kCommitFile) {
    CAIRN_ASSIGN_OR_RETURN(const bool committed,
                           IsCommittedCheckpoint(dir, CommitMode::kCommitFile, &fs));
    if (!committed) {
      return absl::FailedPreconditionError(
          absl::StrCat(dir, " is not committed (no ", kCommitMarkerFileName, ")"));
    }
  }
  return LoadTree(tree_dir, abstract, StoreLoadOptionsFor(options));
}

absl::StatusOr<CheckpointMetadata> CheckpointMetadataOf(const std::string& named_dir,
                                                        const CheckpointOptions& options) {
  CAIRN_ASSIGN_OR_RETURN(const VerifiedOptions verified, VerifiedOptions::For(named_dir, options));
  return MetadataOrExplain(verified.fs(), verified.dir(), verified.options());
}

absl::StatusOr<std::map<std::string, CheckpointableInfo>> CheckpointablesMetadata(
    const std::string& named_dir, const CheckpointOptions& unverified) {
  CAIRN_ASSIGN_OR_RETURN(const VerifiedOptions verified,
                         VerifiedOptions::For(named_dir, unverified));
  const std::string& dir = verified.dir();
  const CheckpointOptions& options = verified.options();
  Filesystem& fs = verified.fs();
  CAIRN_ASSIGN_OR_RETURN(const CheckpointMetadata metadata, MetadataOrExplain(fs, dir, options));
  std::map<std::string, CheckpointableInfo> infos;
  for (const auto& [name, handler] : metadata.item_handlers) {
    CheckpointableInfo info{handler, std::nullopt};
    if (handler == kPyTreeHandlerName) {
      CAIRN_ASSIGN_OR_RETURN(info.pytree,
                             ReadTreeMetadata(JoinPath(dir, name), StoreLoadOptionsFor(options)));
    }
    infos.emplace(name, std::move(info));
  }
  return infos;
}

absl::StatusOr<StoreMetadata> Metadata(const std::string& named_dir, const CheckpointableName& name,
                                       const CheckpointOptions& unverified) {
  CAIRN_ASSIGN_OR_RETURN(const VerifiedOptions verified,
                         VerifiedOptions::For(named_dir, unverified));
  const std::string& dir = verified.dir();
  CAIRN_ASSIGN_OR_RETURN(const std::string tree_dir, ResolvePyTree(verified.fs(), dir, name));
  return ReadTreeMetadata(tree_dir, StoreLoadOptionsFor(verified.options()));
}

}  // namespace cairn
