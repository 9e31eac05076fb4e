#include "tests/support/training_state.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "tests/support/trees.h"

namespace cairn::testing {

Tree StateAt(int64_t step) {
  const uint64_t seed = static_cast<uint64_t>(step) * 4 + 1;
  Tree state = Tree::Dict();
  Tree& params = state.Set("params", Tree::Dict());
  params.Set("w1", Tree::FromArray(RandomBytes(DType::kFloat32, {64, 32}, seed)));
  params.Set("w2", Tree::FromArray(RandomBytes(DType::kFloat32, {32, 8}, seed + 1)));
  params.Set("b", Tree::FromArray(RandomBytes(DType::kFloat32, {8}, seed + 2)));
  Tree& opt = state.Set("opt_state", Tree::List());
  opt.Append(Tree::FromArray(RandomBytes(DType::kFloat32, {64, 32}, seed + 3)));
  opt.Append(Tree::Int(step * 10));
  state.Set("step", Tree::Int(step));
  return state;
}

::testing::AssertionResult IsStateAt(const Tree& tree, int64_t step) {
  return TreesEqual(tree, StateAt(step));
}

absl::Status DataIterator::SaveState(Filesystem& fs, const std::string& dir) const {
  return WriteStringToFile(fs, JoinPath(dir, "position"), absl::StrCat(position_), /*sync=*/true);
}

absl::Status DataIterator::RestoreState(Filesystem& fs, const std::string& dir) {
  CAIRN_ASSIGN_OR_RETURN(const std::string text,
                         ReadFileToString(fs, JoinPath(dir, "position"), 64));
  if (!absl::SimpleAtoi(text, &position_)) {
    return absl::DataLossError(absl::StrCat("bad iterator position '", text, "' in ", dir));
  }
  return absl::OkStatus();
}

}  // namespace cairn::testing
