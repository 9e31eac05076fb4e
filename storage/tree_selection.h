// Abstract trees that ask for some leaves of a stored tree and leave the rest unread: a caller
// that walks a large checkpoint (verifying it, comparing two) loads a few arrays at a time.
#ifndef CAIRN_STORAGE_TREE_SELECTION_H_
#define CAIRN_STORAGE_TREE_SELECTION_H_

#include <functional>

#include "cairn/storage/key_path.h"
#include "cairn/storage/tree.h"

namespace cairn {

// `tree` (typically StoreMetadata::tree) with the same structure, where every leaf for which
// `keep` is false becomes a placeholder, which a load never reads. Kept leaves and None stay as
// they are; `keep` is asked of every other leaf, in ForEachLeaf's order.
Tree SelectLeaves(const Tree& tree,
                  const std::function<bool(const KeyPath&, const Tree& leaf)>& keep);

}  // namespace cairn

#endif  // CAIRN_STORAGE_TREE_SELECTION_H_
