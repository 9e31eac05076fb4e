#include "cairn/steps/checkpoint_metadata.h"

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// A metadata document larger than this is not one cairn wrote.
constexpr uint64_t kMaxMetadataBytes = uint64_t{64} << 20;

std::optional<absl::Time> FromNanos(const std::optional<int64_t>& nanos) {
  if (!nanos) return std::nullopt;
  return absl::FromUnixNanos(*nanos);
}

}  // namespace

std::optional<absl::Time> CheckpointMetadata::init_time() const {
  return FromNanos(init_timestamp_nsecs);
}

std::optional<absl::Time> CheckpointMetadata::commit_time() const {
  return FromNanos(commit_timestamp_nsecs);
}

nlohmann::json CheckpointMetadata::ToJson() const {
  nlohmann::json json = unknown_fields.is_object() ? unknown_fields : nlohmann::json::object();
  if (direct_item_handler) {
    json["item_handlers"] = *direct_item_handler;
  } else {
    json["item_handlers"] = item_handlers;
  }
  json["metrics"] = metrics;
  json["performance_metrics"] = performance_metrics;
  json["custom_metadata"] = custom_metadata;
  if (init_timestamp_nsecs) json["init_timestamp_nsecs"] = *init_timestamp_nsecs;
  if (commit_timestamp_nsecs) json["commit_timestamp_nsecs"] = *commit_timestamp_nsecs;
  return json;
}

absl::StatusOr<CheckpointMetadata> CheckpointMetadata::FromJson(const nlohmann::json& json) {
  if (!json.is_object()) return absl::InvalidArgumentError("checkpoint metadata is not an object");
  CheckpointMetadata metadata;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const std::string& key = it.key();
    const nlohmann::json& value = it.value();
    auto wrong = [&](absl::string_view expected) {
      return absl::InvalidArgumentError(
          absl::StrCat("field '", key, "' should be ", expected, ", not ", value.type_name()));
    };
    if (key == "init_timestamp_nsecs" || key == "commit_timestamp_nsecs") {
      if (value.is_null()) continue;
      if (!value.is_number_integer()) return wrong("an integer");
      (key == "init_timestamp_nsecs" ? metadata.init_timestamp_nsecs
                                     : metadata.commit_timestamp_nsecs) = value.get<int64_t>();
    } else if (key == "item_handlers") {
      if (value.is_null()) continue;
      if (value.is_string()) {
        metadata.direct_item_handler = value.get<std::string>();
        continue;
      }
      if (!value.is_object()) return wrong("an object or a string");
      for (auto handler = value.begin(); handler != value.end(); ++handler) {
        // Each name becomes a path below the checkpoint: one like ".." would leave it.
        absl::Status name = ValidateCheckpointableName(handler.key());
        if (!name.ok()) {
          return absl::InvalidArgumentError(absl::StrCat("item_handlers: ", name.message()));
        }
        // Orbax records null for items it could not name; keep the entry, empty.
        if (!handler.value().is_string() && !handler.value().is_null()) {
          return wrong("an object of strings");
        }
        metadata.item_handlers[handler.key()] =
            handler.value().is_string() ? handler.value().get<std::string>() : "";
      }
    } else if (key == "metrics") {
      metadata.metrics = value.is_null() ? nlohmann::json::object() : value;
    } else if (key == "performance_metrics") {
      metadata.performance_metrics = value.is_null() ? nlohmann::json::object() : value;
    } else if (key == "custom_metadata") {
      metadata.custom_metadata = value.is_null() ? nlohmann::json::object() : value;
    } else {
      metadata.unknown_fields[key] = value;
    }
  }
  return metadata;
}

absl::StatusOr<CheckpointMetadata> ReadCheckpointMetadata(Filesystem& fs, const std::string& dir) {
  const std::string path = JoinPath(dir, kCheckpointMetadataFileName);
  CAIRN_ASSIGN_OR_RETURN(const std::string text, ReadFileToString(fs, path, kMaxMetadataBytes));
  CAIRN_ASSIGN_OR_RETURN(const nlohmann::json json, ParseJsonFromDisk(text, path));
  absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadata::FromJson(json);
  if (!metadata.ok())
    return absl::DataLossError(absl::StrCat(path, ": ", metadata.status().message()));
  return metadata;
}

absl::Status WriteCheckpointMetadata(Filesystem& fs, const std::string& dir,
                                     const CheckpointMetadata& metadata, bool sync) {
  // Invalid UTF-8 in user strings is replaced rather than thrown: nothing throws across the API.
  const std::string text =
      metadata.ToJson().dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
  return WriteStringToFile(fs, JoinPath(dir, kCheckpointMetadataFileName), text, sync);
}

}  // namespace cairn
