#include "cairn/utils/json_parse.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace cairn {

absl::StatusOr<nlohmann::json> ParseJsonFromDisk(absl::string_view text, const std::string& file) {
  bool too_deep = false;
  // The parser itself is iterative; containers nested deeper than the limit are discarded as
  // they are met. A container's start event carries the depth of its parent (0 at the top).
  const nlohmann::json::parser_callback_t limit_depth =
      [&too_deep](int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
        const bool starts = event == nlohmann::json::parse_event_t::object_start ||
                            event == nlohmann::json::parse_event_t::array_start;
        if (!starts || depth < kMaxJsonDepth) return true;
        too_deep = true;
        return false;
      };
  nlohmann::json json =
      nlohmann::json::parse(text.begin(), text.end(), limit_depth, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::DataLossError(absl::StrCat(file, " is not valid JSON"));
  if (too_deep) {
    return absl::DataLossError(
        absl::StrCat(file, " nests JSON values more than ", kMaxJsonDepth, " levels deep"));
  }
  return json;
}

absl::Status CheckJsonDepth(const nlohmann::json& json, absl::string_view what) {
  // Iterative, since the point is a document too deep for recursion.
  std::vector<std::pair<const nlohmann::json*, int>> pending = {{&json, 0}};
  while (!pending.empty()) {
    const auto [value, depth] = pending.back();
    pending.pop_back();
    if (!value->is_structured()) continue;
    if (depth + 1 > kMaxJsonDepth) {
      return absl::InvalidArgumentError(
          absl::StrCat(what, " nests JSON values more than ", kMaxJsonDepth,
                       " levels deep, more than cairn reads back; flatten it"));
    }
    for (const nlohmann::json& child : *value) pending.emplace_back(&child, depth + 1);
  }
  return absl::OkStatus();
}

}  // namespace cairn
