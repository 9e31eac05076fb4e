#include "cairn/storage/tree_selection.h"

#include <utility>

namespace cairn {
namespace {

Tree Select(const Tree& node, KeyPath& path,
            const std::function<bool(const KeyPath&, const Tree&)>& keep) {
  switch (node.kind()) {
    case Tree::Kind::kNone:
      return Tree::None();
    case Tree::Kind::kDict: {
      Tree out = Tree::Dict();
      for (size_t i = 0; i < node.size(); ++i) {
        path.Push(node.keys()[i]);
        out.Set(node.keys()[i], Select(node[i], path, keep));
        path.Pop();
      }
      return out;
    }
    case Tree::Kind::kList:
    case Tree::Kind::kTuple: {
      Tree out = node.kind() == Tree::Kind::kList ? Tree::List() : Tree::Tuple();
      for (size_t i = 0; i < node.size(); ++i) {
        path.Push(i);
        out.Append(Select(node[i], path, keep));
        path.Pop();
      }
      return out;
    }
    default:
      return keep(path, node) ? Tree(node) : Tree::Placeholder();
  }
}

}  // namespace

Tree SelectLeaves(const Tree& tree,
                  const std::function<bool(const KeyPath&, const Tree& leaf)>& keep) {
  KeyPath path;
  return Select(tree, path, keep);
}

}  // namespace cairn
