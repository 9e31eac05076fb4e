// Exporting one pytree of a checkpoint to a safetensors file, and importing a safetensors file
// as a checkpoint (docs/SAFETENSORS.md has the naming, dtype and memory rules).
#ifndef CAIRN_STEPS_SAFETENSORS_H_
#define CAIRN_STEPS_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// What a successful export measured.
struct SafetensorsExportStats {
  uint64_t tensors = 0;
  uint64_t data_bytes = 0;    // bytes of the data buffer
  uint64_t file_bytes = 0;    // bytes of the whole file
  uint64_t loads = 0;         // loads from the checkpoint (each of a batch of arrays)
  uint64_t buffer_bytes = 0;  // the one buffer arrays were loaded into: the export's peak
};

struct SafetensorsExportOptions {
  // Which pytree, resolved as Load resolves it (a checkpoint, a named checkpointable, or a tree
  // directory with CheckpointableName::None(); Auto() finds all three).
  CheckpointableName name = CheckpointableName::Auto();
  // Copy the checkpoint's custom metadata into __metadata__: strings as they are, other values
  // as their JSON text. A tree directory has none.
  bool include_checkpoint_metadata = true;
  // Added to __metadata__, replacing the checkpoint's entries of the same key.
  std::map<std::string, std::string> metadata;
  // Replace a file at the output path (atomically). Without it that is AlreadyExists.
  bool overwrite = false;
  // fsync the file and its directory before returning.
  bool sync = true;
  // Arrays are loaded a batch at a time, into one reused buffer of at most this many bytes
  // (or one array, when an array is larger): the export's memory, whatever the checkpoint's
  // size.
  uint64_t batch_bytes = uint64_t{64} << 20;
  Filesystem* filesystem = nullptr;  // reads and writes; default: Filesystem::Default()
  SafetensorsExportStats* stats = nullptr;
};

// Writes the pytree found at `dir` to the safetensors file `out_path`, which appears only
// complete (written under a temporary name, synced, renamed). Arrays become tensors of their
// dtype and shape; int, float and bool scalars become 0-d I64, F64 and BOOL tensors; None and
// empty containers are left out (they hold no data). InvalidArgument naming the key path for a
// string or bytes leaf, a dtype safetensors lacks (complex128), a key that cannot be spelled
// (empty, or a name "__metadata__") and two leaves whose names collide.
absl::Status ExportSafetensors(
    const std::string& dir, const std::string& out_path,
    const SafetensorsExportOptions& options = SafetensorsExportOptions());

// The tensor name of the leaf at `path`: dict keys as they are, list and tuple indices in
// decimal, joined by '.' (`params.layers.0.kernel`). InvalidArgument for the root, an empty key,
// and "__metadata__".
absl::StatusOr<std::string> SafetensorsTensorName(const KeyPath& path);

struct SafetensorsImportOptions {
  // The checkpointable the tree is saved as.
  std::string checkpointable = kDefaultPyTreeName;
  // Split tensor names at '.' into nested dicts ("a.b.c" becomes {"a": {"b": {"c": ...}}});
  // every level is a dict, digits included. Off, the tree is one flat dict keyed by the names.
  // With it, a name with an empty part ("a..b", ".a") or a name that is also a prefix of another
  // ("a" and "a.b") is InvalidArgument: import such a file with nest off.
  bool nest = true;
  // Map the file into memory (a local file only) so that the save reads tensors from the page
  // cache; off, or on another filesystem, every tensor is read into memory first.
  bool map = true;
  // Stored as given, plus the file's __metadata__ as an object of strings in custom_metadata.
  CheckpointOptions checkpoint;
};

// Saves the safetensors file at `in_path` as a checkpoint at `checkpoint_dir` (atomically,
// through SaveCheckpointables), after checking every rule of the format: DataLoss naming the
// tensor and the rule for a file that breaks one, InvalidArgument for a dtype cairn has no
// type for or names that do not nest.
absl::Status ImportSafetensors(
    const std::string& in_path, const std::string& checkpoint_dir,
    const SafetensorsImportOptions& options = SafetensorsImportOptions());

}  // namespace cairn

#endif  // CAIRN_STEPS_SAFETENSORS_H_
