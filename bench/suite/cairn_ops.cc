#include "bench/suite/cairn_ops.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "bench/bench_util.h"
#include "cairn/manager/checkpointer.h"

namespace cairn::bench {
namespace {

absl::Status Same(const StateLeaf& leaf, const Tree& loaded) {
  if (loaded.kind() != Tree::Kind::kArray || loaded.array().dtype() != leaf.dtype ||
      loaded.array().shape() != leaf.shape ||
      std::memcmp(loaded.array().data(), leaf.data, leaf.bytes) != 0) {
    return absl::DataLossError(absl::StrCat("cairn loaded ", leaf.path, " wrong"));
  }
  return absl::OkStatus();
}

// `report`, when given, makes the loads mapped (map_arrays) and receives what they mapped.
absl::StatusOr<std::unique_ptr<Checkpointer>> OpenForReading(const std::string& root, bool partial,
                                                             MapReport* report = nullptr) {
  CheckpointerOptions options;
  options.read_only = true;
  options.create_root = false;
  options.store_load.partial = partial;
  options.store_load.map_arrays = report != nullptr;
  options.store_load.map_report = report;
  return Checkpointer::Create(root, options);
}

// Every leaf of `loaded` equals the state's.
absl::Status SameLeaves(const BenchState& state, const Tree& loaded) {
  std::vector<const Tree*> leaves;
  loaded.ForEachLeaf([&](const KeyPath&, const Tree& leaf) { leaves.push_back(&leaf); });
  if (leaves.size() != state.leaves.size()) return absl::DataLossError("cairn lost leaves");
  for (size_t i = 0; i < leaves.size(); ++i) {
    absl::Status same = Same(state.leaves[i], *leaves[i]);
    if (!same.ok()) return same;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<double> CairnSave(const BenchState& state, const std::string& root, bool compress) {
  CheckpointerOptions options;
  options.store_save.compress = compress;
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt = Checkpointer::Create(root, options);
  if (!ckpt.ok()) return ckpt.status();
  const double start = NowSeconds();
  absl::StatusOr<bool> saved = (*ckpt)->Save(0, state.tree);
  const double seconds = NowSeconds() - start;
  if (!saved.ok()) return saved.status();
  if (!*saved) return absl::InternalError("the save policies skipped step 0");
  absl::Status closed = (*ckpt)->Close();
  if (!closed.ok()) return closed;
  return seconds;
}

absl::StatusOr<double> CairnLoad(const BenchState& state, const std::string& root, bool mapped) {
  MapReport report;
  const double start = NowSeconds();
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt =
      OpenForReading(root, false, mapped ? &report : nullptr);
  if (!ckpt.ok()) return ckpt.status();
  absl::StatusOr<Tree> loaded = (*ckpt)->Load(0);
  const double seconds = NowSeconds() - start;
  if (!loaded.ok()) return loaded.status();
  if (mapped && report.mapped.empty()) return absl::InternalError("the mapped load mapped nothing");
  absl::Status same = SameLeaves(state, *loaded);
  if (!same.ok()) return same;
  return seconds;
}

namespace {

// The abstract tree of `node` whose array leaves load into fresh buffers of `buffers`, touched.
Tree WithDestinations(const Tree& node, std::vector<std::unique_ptr<char[]>>* buffers) {
  switch (node.kind()) {
    case Tree::Kind::kDict: {
      std::vector<Tree> values;
      for (const Tree& child : node.children()) values.push_back(WithDestinations(child, buffers));
      return Tree::DictFrom(node.keys(), std::move(values)).value();
    }
    case Tree::Kind::kList:
    case Tree::Kind::kTuple: {
      Tree out = node.kind() == Tree::Kind::kList ? Tree::List() : Tree::Tuple();
      for (const Tree& child : node.children()) out.Append(WithDestinations(child, buffers));
      return out;
    }
    case Tree::Kind::kArray: {
      const Array& array = node.array();
      buffers->push_back(std::make_unique<char[]>(std::max<uint64_t>(array.byte_size(), 1)));
      std::memset(buffers->back().get(), 1, array.byte_size());
      ArraySpec spec;
      spec.destination = Array::BorrowMutable(array.dtype(), array.shape(), buffers->back().get());
      return Tree::Spec(std::move(spec));
    }
    default:
      return Tree::AsSaved();
  }
}

}  // namespace

LoadDestinations::LoadDestinations(const BenchState& state)
    : abstract(WithDestinations(state.tree, &buffers)) {}

absl::StatusOr<double> CairnLoadInto(const BenchState& state, const std::string& root,
                                     const LoadDestinations& into) {
  const double start = NowSeconds();
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt = OpenForReading(root, false);
  if (!ckpt.ok()) return ckpt.status();
  absl::StatusOr<Tree> loaded = (*ckpt)->Load(0, into.abstract);
  const double seconds = NowSeconds() - start;
  if (!loaded.ok()) return loaded.status();
  absl::Status same = SameLeaves(state, *loaded);
  if (!same.ok()) return same;
  return seconds;
}

absl::StatusOr<double> CairnPartialLoad(const BenchState& state, const std::string& root,
                                        size_t leaf) {
  // The abstract tree names the one leaf; every other key of the checkpoint is skipped unread.
  const std::vector<std::string> keys = absl::StrSplit(state.leaves[leaf].path, '/');
  Tree abstract = Tree::Dict();
  Tree* node = &abstract;
  for (size_t i = 0; i + 1 < keys.size(); ++i) node = &node->Set(keys[i], Tree::Dict());
  node->Set(keys.back(), Tree::AsSaved());

  const double start = NowSeconds();
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt = OpenForReading(root, true);
  if (!ckpt.ok()) return ckpt.status();
  absl::StatusOr<Tree> loaded = (*ckpt)->Load(0, abstract);
  const double seconds = NowSeconds() - start;
  if (!loaded.ok()) return loaded.status();
  const Tree* found = &*loaded;
  for (const std::string& key : keys) {
    found = found->kind() == Tree::Kind::kDict ? found->Find(key) : nullptr;
    if (found == nullptr) return absl::DataLossError("the partial load lost its leaf");
  }
  absl::Status same = Same(state.leaves[leaf], *found);
  if (!same.ok()) return same;
  return seconds;
}

absl::StatusOr<AsyncBlocking> CairnAsyncBlocking(const BenchState& state, const std::string& root,
                                                 int saves) {
  CheckpointerOptions options;
  options.max_to_keep = 1;
  absl::StatusOr<std::unique_ptr<Checkpointer>> ckpt = Checkpointer::Create(root, options);
  if (!ckpt.ok()) return ckpt.status();
  AsyncBlocking result;
  std::vector<double> later;
  for (int step = 0; step < saves; ++step) {
    const double start = NowSeconds();
    absl::StatusOr<SaveFuture> future = (*ckpt)->SaveAsync(step, state.tree);
    const double blocked = NowSeconds() - start;
    if (!future.ok()) return future.status();
    absl::Status done = future->Wait();
    if (!done.ok()) return done;
    if (step == 0) {
      result.first = blocked;
    } else {
      later.push_back(blocked);
    }
  }
  result.steady = later.empty() ? result.first : Median(later);
  absl::Status closed = (*ckpt)->Close();
  if (!closed.ok()) return closed;
  return result;
}

}  // namespace cairn::bench
