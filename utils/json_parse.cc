#include "cairn/utils/json_parse.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/utf8.h"

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

namespace {

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

// A JSON pointer token: '~' and '/' escaped as RFC 6901 says.
std::string PointerToken(absl::string_view key) {
  std::string token;
  for (char c : key) {
    if (c == '~') {
      token += "~0";
    } else if (c == '/') {
      token += "~1";
    } else {
      token.push_back(c);
    }
  }
  return token;
}

absl::Status NotUtf8(absl::string_view what, absl::string_view kind, const std::string& pointer,
                     absl::string_view text, size_t offset) {
  return absl::InvalidArgumentError(absl::StrCat(
      what, " holds a ", kind, " that is not valid UTF-8 at ", pointer.empty() ? "/" : pointer,
      " (byte ", offset, " of \"", EscapeForMessage(text), "\"); JSON holds text only: save bytes ",
      "as RawBytes"));
}

// Recursive: depth is already bounded by kMaxJsonDepth. `pointer` is the value's JSON pointer.
absl::Status CheckJsonText(const nlohmann::json& json, absl::string_view what,
                           std::string& pointer) {
  if (json.is_string()) {
    const std::string& text = json.get_ref<const std::string&>();
    const size_t bad = FirstInvalidUtf8(text);
    if (bad != absl::string_view::npos) return NotUtf8(what, "string", pointer, text, bad);
    return absl::OkStatus();
  }
  if (!json.is_structured()) return absl::OkStatus();
  const size_t length = pointer.size();
  size_t index = 0;
  for (auto it = json.begin(); it != json.end(); ++it, ++index) {
    if (json.is_object()) {
      const std::string& key = it.key();
      pointer += "/";
      pointer += PointerToken(key);
      const size_t bad = FirstInvalidUtf8(key);
      if (bad != absl::string_view::npos) return NotUtf8(what, "key", pointer, key, bad);
    } else {
      absl::StrAppend(&pointer, "/", index);
    }
    CAIRN_RETURN_IF_ERROR(CheckJsonText(*it, what, pointer));
    pointer.resize(length);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckJsonForSave(const nlohmann::json& json, absl::string_view what) {
  CAIRN_RETURN_IF_ERROR(CheckJsonDepth(json, what));
  std::string pointer;
  return CheckJsonText(json, what, pointer);
}

}  // namespace cairn
