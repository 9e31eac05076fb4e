// Fuzzes _CHECKPOINT_METADATA parsing: ReadCheckpointMetadata must either fail with DataLoss
// naming the file, or give metadata whose ToJson() survives FromJson and a write and read back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/strings/match.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"

namespace cairn::fuzz {
namespace {

void CheckMetadata(const std::string& text) {
  MemoryFilesystem fs;
  if (!fs.CreateDir("/ckpt").ok() || !fs.CreateDir("/copy").ok() ||
      !WriteStringToFile(fs, JoinPath("/ckpt", kCheckpointMetadataFileName), text, false).ok()) {
    __builtin_trap();
  }
  absl::StatusOr<CheckpointMetadata> metadata = ReadCheckpointMetadata(fs, "/ckpt");
  if (!metadata.ok()) {
    if (metadata.status().code() != absl::StatusCode::kDataLoss ||
        !absl::StrContains(metadata.status().message(), kCheckpointMetadataFileName)) {
      __builtin_trap();
    }
    return;
  }
  const nlohmann::json json = metadata->ToJson();

  // In memory: the JSON it gives is metadata again, and the same JSON.
  absl::StatusOr<CheckpointMetadata> reparsed = CheckpointMetadata::FromJson(json);
  if (!reparsed.ok() || reparsed->ToJson() != json) __builtin_trap();

  // On disk: what a rewrite of it stores reads back as the same JSON.
  if (!WriteCheckpointMetadata(fs, "/copy", *metadata, false).ok()) __builtin_trap();
  absl::StatusOr<CheckpointMetadata> reread = ReadCheckpointMetadata(fs, "/copy");
  if (!reread.ok() || reread->ToJson() != json) __builtin_trap();
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::fuzz::CheckMetadata(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
