// Parsing JSON documents read from disk. nlohmann::json copies, compares and prints nested
// values recursively, so a hostile document nested a million levels deep would overflow the
// stack of whoever uses it: documents nested deeper than kMaxJsonDepth are refused, and so that
// nothing is saved that could not be read back, they are refused when saved too, as is text that
// is not UTF-8.
#ifndef CAIRN_UTILS_JSON_PARSE_H_
#define CAIRN_UTILS_JSON_PARSE_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"

namespace cairn {

inline constexpr int kMaxJsonDepth = 512;

// The document in `text`. DataLoss naming `file` when it is not JSON or nests arrays and objects
// more than kMaxJsonDepth levels deep.
absl::StatusOr<nlohmann::json> ParseJsonFromDisk(absl::string_view text, const std::string& file);

// InvalidArgument naming `what` when `json` would not read back: it nests arrays and objects more
// than kMaxJsonDepth levels deep, or a key or string in it is not well-formed UTF-8 (the error
// gives its JSON pointer; written out, it would be replaced or refused). A save checks what it is
// given before writing it.
absl::Status CheckJsonForSave(const nlohmann::json& json, absl::string_view what);

}  // namespace cairn

#endif  // CAIRN_UTILS_JSON_PARSE_H_
