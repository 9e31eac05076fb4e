// Refusing, before a save writes anything, text that would make the saved tree unreadable.
#include "cairn/storage/internal/tree_text.h"

#include "absl/strings/str_cat.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/utf8.h"

namespace cairn {

absl::Status CheckUtf8At(absl::string_view text, const KeyPath& path, absl::string_view what) {
  const size_t bad = FirstInvalidUtf8(text);
  if (bad == absl::string_view::npos) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "cannot save ", path.ToString(), ": its ", what, " \"", EscapeForMessage(text),
      "\" is not valid UTF-8 (at byte ", bad, "); strings and dict keys must be UTF-8, other ",
      "bytes can be saved as Tree::Bytes"));
}

namespace {

absl::Status CheckNode(const Tree& tree, KeyPath& path) {
  switch (tree.kind()) {
    case Tree::Kind::kDict:
      for (size_t i = 0; i < tree.size(); ++i) {
        path.Push(tree.keys()[i]);
        CAIRN_RETURN_IF_ERROR(CheckUtf8At(tree.keys()[i], path, "dict key"));
        CAIRN_RETURN_IF_ERROR(CheckNode(tree[i], path));
        path.Pop();
      }
      return absl::OkStatus();
    case Tree::Kind::kList:
    case Tree::Kind::kTuple:
      for (size_t i = 0; i < tree.size(); ++i) {
        path.Push(i);
        CAIRN_RETURN_IF_ERROR(CheckNode(tree[i], path));
        path.Pop();
      }
      return absl::OkStatus();
    case Tree::Kind::kString:
      return CheckUtf8At(tree.string_value(), path, "string");
    default:
      return absl::OkStatus();
  }
}

}  // namespace

absl::Status CheckTreeText(const Tree& tree) {
  KeyPath path;
  return CheckNode(tree, path);
}

}  // namespace cairn
