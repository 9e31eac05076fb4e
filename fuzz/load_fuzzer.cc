// Fuzzes whole loads: the input is an archive (fuzz/archive.h) of a checkpoint directory's
// files, unpacked into memory and loaded through every public load path. Each must return OK or
// an error: never crash, hang, allocate without bound or touch anything outside the directory.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <variant>

#include "absl/strings/match.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/commit_marker.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "fuzz/archive.h"
#include "fuzz/confined_filesystem.h"
#include "fuzz/index_repair.h"
#include "fuzz/load_budget.h"

namespace cairn::fuzz {
namespace {

constexpr char kDir[] = "/ckpt";

// With CAIRN_FUZZ_VERBOSE set, every load's outcome is printed (to see what an input reaches).
void Report(const char* what, const absl::Status& status) {
  static const bool verbose = std::getenv("CAIRN_FUZZ_VERBOSE") != nullptr;
  if (verbose) std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
}

// Repairs each index's framing and chunk checksums against the data files next to it, so that
// mutated indexes and data reach the loader instead of stopping at a checksum.
void RepairIndexes(Archive* archive) {
  std::map<std::string, const std::string*> files;
  for (const ArchiveEntry& entry : archive->entries) files[entry.path] = &entry.data;
  for (ArchiveEntry& entry : archive->entries) {
    if (BaseName(entry.path) != kTreeIndexFileName) continue;
    const std::string parent = ParentPath(entry.path);  // "." for the top directory
    const std::string data_dir =
        parent == "." ? std::string(kTreeDataDirName) : JoinPath(parent, kTreeDataDirName);
    auto lookup = [&](absl::string_view name) -> std::optional<absl::string_view> {
      const auto it = files.find(JoinPath(data_dir, name));
      if (it == files.end()) return std::nullopt;
      return absl::string_view(*it->second);
    };
    std::optional<std::string> repaired = RepairIndexChecksums(entry.data, lookup);
    entry.data = repaired ? *std::move(repaired) : RepairIndexFrame(entry.data);
  }
}

// Rewrites the commit marker's listing for the listed files as they now are, so that mutated
// files reach their readers instead of stopping at the marker's checksums. A marker whose
// listing does not parse is left as it is: its parser is fuzzed too.
void RepairCommitMarker(MemoryFilesystem& fs) {
  absl::StatusOr<std::optional<ListedFiles>> listed = ReadCommitMarker(fs, kDir);
  if (!listed.ok() || !listed->has_value()) return;
  ListedFiles repaired;
  for (const auto& [path, digest] : **listed) {
    absl::StatusOr<std::string> data =
        ReadFileToString(fs, JoinPath(kDir, path), kMaxListedFileBytes);
    if (data.ok()) repaired[path] = FileDigest{data->size(), Checksum64(*data)};
  }
  WriteStringToFile(fs, JoinPath(kDir, kCommitMarkerFileName), FormatCommitMarker(repaired),
                    /*sync=*/false)
      .IgnoreError();
}

// Does with a document what a caller would (copy it, print it): a hostile one must not make
// that overflow the stack.
void Use(const nlohmann::json& json) {
  const nlohmann::json copy = json;
  copy.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void LoadEverything(absl::string_view input) {
  Archive archive = DecodeArchive(input);
  if (!(archive.options & kKeepChecksums)) RepairIndexes(&archive);
  MemoryFilesystem fs;
  if (!fs.CreateDir(kDir).ok()) __builtin_trap();
  UnpackArchive(fs, kDir, archive.entries);
  if (!(archive.options & kKeepChecksums)) RepairCommitMarker(fs);
  ConfinedFilesystem confined(&fs, kDir);

  // The store, on the directory itself.
  StoreLoadOptions store;
  store.filesystem = &confined;
  store.parallelism = 1;
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, store);
  Report("ReadTreeMetadata", metadata.status());
  if (metadata.ok()) {
    Use(metadata->custom_metadata);
    Report("LoadTree", LoadTree(kDir, WithinBudget(metadata->tree), store).status());
  }

  // The checkpoint layer: its metadata, every checkpointable, the pytree by each resolution.
  CheckpointOptions options;
  options.filesystem = &confined;
  options.store_load.parallelism = 1;
  absl::StatusOr<CheckpointMetadata> checkpoint = CheckpointMetadataOf(kDir, options);
  Report("CheckpointMetadataOf", checkpoint.status());
  if (checkpoint.ok()) Use(checkpoint->ToJson());
  absl::StatusOr<std::map<std::string, CheckpointableInfo>> infos =
      CheckpointablesMetadata(kDir, options);
  Report("CheckpointablesMetadata", infos.status());
  std::map<std::string, LoadRequest> requests;
  if (infos.ok()) {
    for (const auto& [name, info] : *infos) {
      if (info.pytree) Use(info.pytree->custom_metadata);
      requests[name] = info.pytree ? LoadRequest(WithinBudget(info.pytree->tree)) : std::nullopt;
    }
  } else if (checkpoint.ok()) {
    // Some pytree is unreadable: the other checkpointables still load.
    for (const auto& [name, handler] : checkpoint->item_handlers) {
      if (handler != kPyTreeHandlerName) requests[name] = std::nullopt;
    }
  }
  if (!requests.empty()) {
    for (CommitMode mode : {CommitMode::kRename, CommitMode::kCommitFile}) {
      options.commit_mode = mode;
      absl::StatusOr<Checkpointables> loaded = LoadCheckpointables(kDir, requests, options);
      Report("LoadCheckpointables", loaded.status());
      if (!loaded.ok()) continue;
      for (const auto& [name, value] : *loaded) {
        if (const auto* json = std::get_if<nlohmann::json>(&value)) Use(*json);
      }
    }
    options.commit_mode = CommitMode::kRename;
  }
  for (const CheckpointableName& name : {CheckpointableName::Auto(), CheckpointableName::None(),
                                         CheckpointableName::Named("state")}) {
    absl::StatusOr<StoreMetadata> tree = Metadata(kDir, name, options);
    Report("Metadata", tree.status());
    if (tree.ok()) Report("Load", Load(kDir, WithinBudget(tree->tree), name, options).status());
  }
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cairn::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::fuzz::LoadEverything(absl::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
