// _CHECKPOINT_METADATA: the JSON document at the top of every checkpoint, with its timestamps,
// the handler of each checkpointable, metrics and the user's custom metadata. Unknown fields
// are kept as read, so that files written by newer versions (or by Orbax) survive a rewrite.
#ifndef CAIRN_STEPS_CHECKPOINT_METADATA_H_
#define CAIRN_STEPS_CHECKPOINT_METADATA_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem.h"
#include "nlohmann/json.hpp"

namespace cairn {

inline constexpr char kCheckpointMetadataFileName[] = "_CHECKPOINT_METADATA";

struct CheckpointMetadata {
  std::optional<int64_t> init_timestamp_nsecs;
  std::optional<int64_t> commit_timestamp_nsecs;
  // Checkpointable name to the name of the handler that wrote it ("item_handlers").
  std::map<std::string, std::string> item_handlers;
  // The handler of a checkpoint whose one item lies directly in its directory: Orbax's
  // StandardCheckpointer records "item_handlers" as this string instead of an object.
  std::optional<std::string> direct_item_handler;
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json performance_metrics = nlohmann::json::object();
  nlohmann::json custom_metadata = nlohmann::json::object();
  // Every other top-level field, as read.
  nlohmann::json unknown_fields = nlohmann::json::object();

  std::optional<absl::Time> init_time() const;
  std::optional<absl::Time> commit_time() const;

  nlohmann::json ToJson() const;
  // InvalidArgument when a known field has the wrong type; unknown fields are kept.
  static absl::StatusOr<CheckpointMetadata> FromJson(const nlohmann::json& json);
};

// Reads `<dir>/_CHECKPOINT_METADATA`. NotFound when absent; DataLoss naming the file when it is
// not JSON or a known field has the wrong type.
absl::StatusOr<CheckpointMetadata> ReadCheckpointMetadata(Filesystem& fs, const std::string& dir);
absl::Status WriteCheckpointMetadata(Filesystem& fs, const std::string& dir,
                                     const CheckpointMetadata& metadata, bool sync);

}  // namespace cairn

#endif  // CAIRN_STEPS_CHECKPOINT_METADATA_H_
