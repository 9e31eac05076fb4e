// The one rule for the text a tree saves: dict keys and string leaves are well-formed UTF-8,
// since the index stores them in protobuf string fields, which refuse anything else on load.
#ifndef CAIRN_STORAGE_INTERNAL_TREE_TEXT_H_
#define CAIRN_STORAGE_INTERNAL_TREE_TEXT_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/key_path.h"

namespace cairn {

// InvalidArgument naming `path` when `text` (the node's `what`: "dict key", "string") is not
// well-formed UTF-8.
absl::Status CheckUtf8At(absl::string_view text, const KeyPath& path, absl::string_view what);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_TREE_TEXT_H_
