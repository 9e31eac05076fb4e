// Checking text for well-formed UTF-8, as protobuf's string fields demand it on parse: a saved
// string or key that is not would make the whole step unreadable, so saves refuse it first.
#ifndef CAIRN_UTILS_UTF8_H_
#define CAIRN_UTILS_UTF8_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace cairn {

// The offset of the first byte of `text` that is not part of a well-formed UTF-8 sequence
// (Unicode's definition: no overlong forms, no surrogates, nothing above U+10FFFF), or
// absl::string_view::npos when all of it is well-formed.
size_t FirstInvalidUtf8(absl::string_view text);

// `text` with every byte outside printable ASCII written as \xNN, for error messages.
std::string EscapeForMessage(absl::string_view text);

}  // namespace cairn

#endif  // CAIRN_UTILS_UTF8_H_
