// A checkpoint: a directory of named checkpointables plus _CHECKPOINT_METADATA, committed
// atomically. Saving, loading (all, some, or one pytree with Orbax's name resolution) and
// reading metadata.
#ifndef CAIRN_STEPS_CHECKPOINT_H_
#define CAIRN_STEPS_CHECKPOINT_H_

#include <map>
#include <optional>
#include <string>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/steps/checkpointable.h"
#include "cairn/steps/checkpointable_handler.h"
#include "cairn/storage/pytree_store.h"

namespace cairn {

// How a checkpoint becomes visible.
enum class CommitMode {
  // Written into a temporary sibling directory, synced, then renamed into place (POSIX
  // filesystems, where rename is atomic). The default.
  kRename,
  // Written in place; a commit marker file written last says it is complete (FUSE mounts of
  // object stores, where rename is a copy). Readers ignore directories without the marker.
  kCommitFile,
};

// The marker of a committed checkpoint. Written in both modes, so that readers set to
// kCommitFile also accept checkpoints committed by rename.
inline constexpr char kCommitMarkerFileName[] = "commit_success.txt";
// The name under which Save stores its tree.
inline constexpr char kDefaultPyTreeName[] = "pytree";
// The empty file that marks a checkpoint in Orbax v1's layout; an Orbax-format save writes it.
inline constexpr char kOrbaxV1MarkerFileName[] = "orbax.checkpoint";

// What a successful save measured.
struct CheckpointSaveStats {
  uint64_t bytes_written = 0;      // every byte written to files: data, indexes, metadata
  absl::Duration write_duration;   // writing and syncing the checkpointables
  absl::Duration commit_duration;  // metadata, commit marker and the commit itself
  absl::Time commit_time;          // the commit timestamp recorded in _CHECKPOINT_METADATA
};

struct CheckpointOptions {
  CommitMode commit_mode = CommitMode::kRename;
  // Replace an existing checkpoint at the same path. Without it, saving there is an error.
  bool overwrite = false;
  // Stored in _CHECKPOINT_METADATA.
  nlohmann::json custom_metadata = nlohmann::json::object();
  nlohmann::json metrics = nlohmann::json::object();
  // Recorded as given, plus "write_duration_secs" and "bytes_written" measured by the save.
  nlohmann::json performance_metrics = nlohmann::json::object();
  // Options for pytree checkpointables (their filesystem field is ignored: `filesystem` wins).
  StoreSaveOptions store_save;
  StoreLoadOptions store_load;
  Filesystem* filesystem = nullptr;           // default: Filesystem::Default()
  const HandlerRegistry* registry = nullptr;  // default: HandlerRegistry::Global()
  // When set, a successful save fills it in.
  CheckpointSaveStats* stats = nullptr;
  // The processes saving this checkpoint together (docs/MPI.md); null: this process alone.
  // Every process calls SaveCheckpointables with its own pieces of each pytree (placed arrays),
  // and every process returns the same outcome. Pytrees are written by all of them, each its
  // own data; other checkpointables (JSON, stateful objects) by the primary alone, from its
  // values. The primary prepares the directory, writes the metadata and the marker, and commits
  // once every process's data is durable.
  Coordinator* coordinator = nullptr;
};

// Which pytree Load and Metadata read.
struct CheckpointableName {
  // Orbax's resolution: "pytree" if present, else the alphabetically first subdirectory
  // holding a pytree, else the tree lying directly in the directory.
  static CheckpointableName Auto() { return CheckpointableName(); }
  // Exactly this subdirectory.
  static CheckpointableName Named(std::string name) { return CheckpointableName(std::move(name)); }
  // The flat layout: the tree lies directly in the directory.
  static CheckpointableName None() {
    CheckpointableName n;
    n.flat = true;
    return n;
  }
  std::optional<std::string> name;
  bool flat = false;

 private:
  CheckpointableName() = default;
  explicit CheckpointableName(std::string n) : name(std::move(n)) {}
};

// InvalidArgument naming the checkpointable and the key path (or JSON pointer) when an item holds
// what could not be read back: a tree's dict key or string, or a JSON key or string, that is not
// well-formed UTF-8; JSON nested too deep. SaveCheckpointables checks it before writing anything.
absl::Status CheckSavable(const Checkpointables& items);

// Saves `items` as one checkpoint at `dir`, atomically (with options.coordinator: collective).
absl::Status SaveCheckpointables(const std::string& dir, const Checkpointables& items,
                                 const CheckpointOptions& options = CheckpointOptions());
// Saves `tree` as the checkpointable "pytree".
absl::Status Save(const std::string& dir, const Tree& tree,
                  const CheckpointOptions& options = CheckpointOptions());

// Loads the named checkpointables (all of them when `requests` is empty); only those are read.
// Loading all of them leaves stateful objects unrestored (there is nothing to restore into): each
// is returned as an UnrestoredObject naming its type; request it with an object to restore it.
absl::StatusOr<Checkpointables> LoadCheckpointables(
    const std::string& dir, const std::map<std::string, LoadRequest>& requests = {},
    const CheckpointOptions& options = CheckpointOptions());
// Loads one pytree, resolved by `name`.
absl::StatusOr<Tree> Load(const std::string& dir, const Tree& abstract = Tree::AsSaved(),
                          const CheckpointableName& name = CheckpointableName::Auto(),
                          const CheckpointOptions& options = CheckpointOptions());

// The checkpoint's _CHECKPOINT_METADATA.
absl::StatusOr<CheckpointMetadata> CheckpointMetadataOf(
    const std::string& dir, const CheckpointOptions& options = CheckpointOptions());
// Each checkpointable's handler and, for pytrees, its tree metadata.
struct CheckpointableInfo {
  std::string handler;
  std::optional<StoreMetadata> pytree;
};
absl::StatusOr<std::map<std::string, CheckpointableInfo>> CheckpointablesMetadata(
    const std::string& dir, const CheckpointOptions& options = CheckpointOptions());
// The metadata of one pytree, resolved as Load resolves it.
absl::StatusOr<StoreMetadata> Metadata(const std::string& dir,
                                       const CheckpointableName& name = CheckpointableName::Auto(),
                                       const CheckpointOptions& options = CheckpointOptions());

// Whether `dir` is a committed checkpoint under `mode`.
absl::StatusOr<bool> IsCommittedCheckpoint(const std::string& dir, CommitMode mode,
                                           Filesystem* filesystem = nullptr);

// Checks a checkpointable name: non-empty, no '/', no NUL, not '.', '..' or a reserved name
// (_CHECKPOINT_METADATA, commit_success.txt, LOCKED).
absl::Status ValidateCheckpointableName(absl::string_view name);

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINT_H_
