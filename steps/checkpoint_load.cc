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

// Orbax v1 requires _CHECKPOINT_METADATA in every checkpoint it marks as its own; one without it
// is damaged, not a directory of some other kind.
absl::Status CheckV1Marker(Filesystem& fs, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(const bool marked, PathExists(fs, JoinPath(dir, kOrbaxV1MarkerFileName)));
  if (!marked) return absl::OkStatus();
  CAIRN_ASSIGN_OR_RETURN(const bool has_metadata,
                         PathExists(fs, JoinPath(dir, kCheckpointMetadataFileName)));
  if (has_metadata) return absl::OkStatus();
  return absl::DataLossError(
      absl::StrCat(dir, " is not a valid Orbax checkpoint: it has Orbax v1's marker ",
                   kOrbaxV1MarkerFileName, " but no ", kCheckpointMetadataFileName));
}

// The handler a checkpointable's directory needs, told from its contents, for checkpoints whose
// _CHECKPOINT_METADATA names none: a pytree (cairn's index or Orbax's _METADATA), a JSON document
// (data.json, or Orbax v0's file "metadata") or raw bytes. Empty when nothing fits.
absl::StatusOr<std::string> HandlerFromContents(Filesystem& fs, const std::string& item_dir) {
  CAIRN_ASSIGN_OR_RETURN(const bool tree, HoldsTree(item_dir, &fs));
  if (tree) return std::string(kPyTreeHandlerName);
  for (const char* json : {"data.json", "metadata"}) {
    absl::StatusOr<FileInfo> info = fs.Stat(JoinPath(item_dir, json));
    if (info.ok() && info->is_file()) return std::string(kJsonHandlerName);
    if (!info.ok() && !absl::IsNotFound(info.status())) return info.status();
  }
  CAIRN_ASSIGN_OR_RETURN(const bool bytes, PathExists(fs, JoinPath(item_dir, "data.bin")));
  if (bytes) return std::string(kBytesHandlerName);
  return std::string();
}

// The checkpointables of `dir` and their handlers: as _CHECKPOINT_METADATA records them, or,
// when it records none, as their directories' contents say.
absl::StatusOr<std::map<std::string, std::string>> ItemHandlers(
    Filesystem& fs, const std::string& dir, const CheckpointMetadata& metadata) {
  if (!metadata.item_handlers.empty()) return metadata.item_handlers;
  std::map<std::string, std::string> inferred;
  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirEntries(dir));
  for (const DirEntry& entry : entries) {
    if (entry.type != FileInfo::Type::kDirectory || !ValidateCheckpointableName(entry.name).ok()) {
      continue;
    }
    CAIRN_ASSIGN_OR_RETURN(std::string handler, HandlerFromContents(fs, JoinPath(dir, entry.name)));
    if (!handler.empty()) inferred.emplace(entry.name, std::move(handler));
  }
  return inferred;
}

// A pytree loaded flat from `dir` must not be one checkpointable of a checkpoint above it: that
// load would skip the checkpoint's commit and verification. Says which call fits instead.
absl::Status CheckNotAnItem(Filesystem& fs, const std::string& dir) {
  if (PathExists(fs, JoinPath(dir, kCheckpointMetadataFileName)).value_or(true)) {
    return absl::OkStatus();
  }
  const size_t slash = dir.find_last_of('/');
  if (slash == std::string::npos || slash == 0) return absl::OkStatus();
  const std::string parent = dir.substr(0, slash);
  const std::string item = dir.substr(slash + 1);
  absl::StatusOr<CheckpointMetadata> metadata = ReadCheckpointMetadata(fs, parent);
  if (!metadata.ok() || metadata->item_handlers.count(item) == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      dir, " is the checkpointable '", item, "' of the checkpoint ", parent,
      ", not a checkpoint: load ", parent, " with CheckpointableName::Named(\"", item, "\")"));
}

// Why `dir` is not a checkpoint, phrased as what to do instead.
absl::Status NotACheckpoint(Filesystem& fs, const std::string& dir) {
  CAIRN_RETURN_IF_ERROR(CheckV1Marker(fs, dir));
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
                     kTreeIndexFileName, " or Orbax's _METADATA) in ", dir, hint));
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
          "no pytree metadata file (", kTreeIndexFileName, " or Orbax's _METADATA) in ", sub,
          ": the checkpointable '", *name.name, "' is not a pytree; use LoadCheckpointables"));
    }
    return sub;
  }
  // Auto: "pytree", else the alphabetically first checkpointable recorded as a pytree, else the
  // first subdirectory holding one, else flat.
  const std::string preferred = JoinPath(dir, kDefaultPyTreeName);
  if (HoldsTree(preferred, &fs).value_or(false)) return preferred;
  absl::StatusOr<CheckpointMetadata> metadata = ReadCheckpointMetadata(fs, dir);
  if (!metadata.ok() && !absl::IsNotFound(metadata.status())) return metadata.status();
  if (metadata.ok()) {
    if (metadata->direct_item_handler && IsPyTreeHandlerName(*metadata->direct_item_handler)) {
      CAIRN_ASSIGN_OR_RETURN(const bool flat, HoldsTree(dir, &fs));
      if (!flat) {
        return absl::NotFoundError(absl::StrCat(
            "expecting pytree metadata file: ", dir, " is recorded as a single pytree (by ",
            *metadata->direct_item_handler, ") but holds no pytree metadata file (",
            kTreeIndexFileName, " or Orbax's _METADATA)"));
      }
    }
    for (const auto& [item, handler] : metadata->item_handlers) {
      if (!IsPyTreeHandlerName(handler) || !ValidateCheckpointableName(item).ok()) continue;
      const std::string sub = JoinPath(dir, item);
      absl::StatusOr<FileInfo> info = fs.Stat(sub);
      if (absl::IsNotFound(info.status())) continue;
      CAIRN_RETURN_IF_ERROR(info.status());
      if (info->is_symlink()) {
        return absl::FailedPreconditionError(absl::StrCat(
            sub, " is a symlink, and cairn never follows symlinks inside a checkpoint"));
      }
      CAIRN_ASSIGN_OR_RETURN(const bool holds, HoldsTree(sub, &fs));
      if (holds) return sub;
      return absl::NotFoundError(
          absl::StrCat("expecting pytree metadata file: the checkpointable '", item, "' of ", dir,
                       " is recorded as a pytree, but ", sub, " holds no pytree metadata file (",
                       kTreeIndexFileName, " or Orbax's _METADATA)"));
    }
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
  if (PathExists(fs, JoinPath(dir, "checkpoint")).value_or(false)) {
    hint = absl::StrCat("; ", dir,
                        " holds a msgpack 'checkpoint' file (flax's format, and Orbax's before its "
                        "pytree metadata), which cairn does not read");
  }
  if (std::optional<std::string> child = FirstCheckpointBelow(fs, dir); hint.empty() && child) {
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
  using HandlerNames = std::map<std::string, std::string>;
  CAIRN_ASSIGN_OR_RETURN(const HandlerNames handlers, ItemHandlers(fs, dir, metadata));
  CAIRN_ASSIGN_OR_RETURN(const bool flat, HoldsTree(dir, &fs));
  if (metadata.direct_item_handler || (handlers.empty() && flat)) {
    return absl::FailedPreconditionError(absl::StrCat(
        dir,
        " holds a single pytree, not checkpointables: this is a single pytree, use Load "
        "instead (with CheckpointableName::None() or the default)"));
  }
  std::map<std::string, LoadRequest> wanted = requests;
  if (wanted.empty()) {
    for (const auto& [name, handler] : handlers) {
      // Orbax v1 records a descriptor that need not have a directory of its own.
      if (IsOrbaxDescriptorHandlerName(handler)) {
        CAIRN_ASSIGN_OR_RETURN(const bool exists, PathExists(fs, JoinPath(dir, name)));
        if (!exists) continue;
      }
      wanted.emplace(name, std::nullopt);
    }
  }
  HandlerContext context{&fs, options.store_save, StoreLoadOptionsFor(options)};
  Checkpointables loaded;
  for (const auto& [name, request] : wanted) {
    CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(name));
    const std::string item_dir = JoinPath(dir, name);
    CAIRN_ASSIGN_OR_RETURN(const bool item_exists, PathExists(fs, item_dir));
    std::string recorded;
    if (const auto it = handlers.find(name); it != handlers.end()) {
      recorded = it->second;
    } else if (item_exists) {
      // A directory the metadata does not list (Orbax loads such items by name too).
      CAIRN_ASSIGN_OR_RETURN(recorded, HandlerFromContents(fs, item_dir));
      if (recorded.empty()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "the checkpointable '", name, "' in ", dir,
            " is recorded nowhere and holds nothing cairn can read (no pytree metadata, "
            "data.json or data.bin)"));
      }
    } else {
      std::vector<std::string> have;
      for (const auto& [n, h] : handlers) have.push_back(n);
      return absl::NotFoundError(absl::StrCat("the checkpoint at ", dir,
                                              " has no checkpointable named '", name,
                                              "' (it has: ", absl::StrJoin(have, ", "), ")"));
    }
    CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const CheckpointableHandler> handler,
                           registry.ForRecorded(recorded));
    if (requests.empty() && absl::StartsWith(recorded, kObjectHandlerPrefix)) {
      // Nothing to restore into: the entry names the object instead of failing every other one.
      loaded.emplace(name,
                     std::shared_ptr<StatefulObject>(std::make_shared<UnrestoredObject>(
                         recorded.substr(strlen(kObjectHandlerPrefix)), JoinPath(dir, name))));
      continue;
    }
    if (request) {
      absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> wants =
          registry.ForValue(*request);
      const std::string asked =
          wants.ok() ? (*wants)->RecordedName(*request) : "an unknown handler";
      // Another writer's name for the same kind (Orbax's pytree handler for a tree) is a match;
      // a stateful object must be of the very type that was saved.
      const bool same_kind = wants.ok() && wants->get() == handler.get() &&
                             !absl::StartsWith(recorded, kObjectHandlerPrefix);
      if (asked != recorded && !same_kind) {
        return absl::InvalidArgumentError(absl::StrCat(
            "checkpointable '", name, "' in ", dir, " was written by ", recorded,
            " but the request is for ", asked,
            "; request it with a value of the kind that was saved, or load it as saved"));
      }
    }
    if (!item_exists) {
      return absl::NotFoundError(absl::StrCat("the checkpoint at ", dir, " records the ",
                                              "checkpointable '", name, "' but its directory ",
                                              item_dir, " does not exist"));
    }
    CAIRN_ASSIGN_OR_RETURN(Checkpointable value, handler->Load(item_dir, request, context));
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
  CAIRN_RETURN_IF_ERROR(CheckV1Marker(fs, dir));
  CAIRN_ASSIGN_OR_RETURN(const std::string tree_dir, ResolvePyTree(fs, dir, name));
  if (tree_dir == dir) CAIRN_RETURN_IF_ERROR(CheckNotAnItem(fs, dir));
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
    if (IsPyTreeHandlerName(handler)) {
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
