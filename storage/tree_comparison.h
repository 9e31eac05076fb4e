// Comparing two trees: their structures (keys only in one, nodes whose kind changed) and their
// arrays element by element, for `cairn diff`, which streams two checkpoints a leaf at a time.
#ifndef CAIRN_STORAGE_TREE_COMPARISON_H_
#define CAIRN_STORAGE_TREE_COMPARISON_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/storage/array.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/tree.h"

namespace cairn {

// "dict", "array" (a concrete array or an ArraySpec), "int" (a value or a type-only leaf), ...
std::string NodeKindName(const Tree& node);

struct KindChange {
  KeyPath path;
  std::string kind_a;
  std::string kind_b;
};

// A leaf present, with the same kind, in both trees.
struct CommonLeaf {
  KeyPath path;
  const Tree* a = nullptr;
  const Tree* b = nullptr;
};

struct StructureDifference {
  std::vector<KeyPath> only_in_a;  // the topmost node of each subtree only `a` has
  std::vector<KeyPath> only_in_b;
  std::vector<KindChange> kind_changes;   // not descended into
  std::vector<CommonLeaf> common_leaves;  // pointers into the compared trees
  bool same() const { return only_in_a.empty() && only_in_b.empty() && kind_changes.empty(); }
};

// Walks `a` and `b` together: dict keys are matched by name, list and tuple items by index.
StructureDifference CompareStructure(const Tree& a, const Tree& b);

struct ArrayDifference {
  bool equal = true;             // element for element (NaNs in the same places count as equal)
  uint64_t differing = 0;        // elements that differ
  double max_abs = 0;            // max |a - b| over differing elements, as float64
  double max_rel = 0;            // max |a - b| / |b| (|a - b| / |a| where b is 0)
  uint64_t first_differing = 0;  // flat index of the first differing element
};

// Compares two arrays of the same dtype and shape (InvalidArgument otherwise). Real and integer
// dtypes are compared as float64, complex ones by magnitude of the difference, bools as 0/1.
absl::StatusOr<ArrayDifference> CompareArrays(const Array& a, const Array& b);

}  // namespace cairn

#endif  // CAIRN_STORAGE_TREE_COMPARISON_H_
