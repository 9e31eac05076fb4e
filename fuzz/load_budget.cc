#include "fuzz/load_budget.h"

#include "cairn/storage/shape.h"

namespace cairn::fuzz {
namespace {

void Limit(Tree* tree, uint64_t* spent) {
  if (tree->is_container()) {
    for (Tree& child : tree->mutable_children()) Limit(&child, spent);
    return;
  }
  if (tree->kind() != Tree::Kind::kArraySpec) return;
  const ArraySpec& spec = tree->spec();
  const absl::StatusOr<uint64_t> bytes =
      spec.dtype && spec.shape ? ByteSize(*spec.dtype, *spec.shape) : absl::StatusOr<uint64_t>(0);
  if (!bytes.ok() || *bytes > kLoadBudgetBytes - *spent) {
    *tree = Tree::Placeholder();
    return;
  }
  *spent += *bytes;
}

}  // namespace

Tree WithinBudget(const Tree& metadata) {
  Tree abstract = metadata;
  uint64_t spent = 0;
  Limit(&abstract, &spent);
  return abstract;
}

}  // namespace cairn::fuzz
