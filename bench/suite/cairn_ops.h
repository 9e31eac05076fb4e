// The suite's cairn side, through the Checkpointer a training loop holds: a durable save of one
// step (commit included), a restart's load of it, a load of one array, and SaveAsync's blocking.
#ifndef CAIRN_BENCH_SUITE_CAIRN_OPS_H_
#define CAIRN_BENCH_SUITE_CAIRN_OPS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/suite/training_state.h"

namespace cairn::bench {

// Each returns the seconds the operation took; loads check what they read afterwards.
// `root` is a fresh run directory; the step saved is 0.
absl::StatusOr<double> CairnSave(const BenchState& state, const std::string& root, bool compress);
// Opens the run read-only and loads the step, as a restarted trainer or an evaluator does;
// `mapped` returns the arrays as views of the data files (map_arrays), every chunk verified.
absl::StatusOr<double> CairnLoad(const BenchState& state, const std::string& root,
                                 bool mapped = false);
// Buffers of the state's shape, allocated and touched once, and the abstract tree that loads
// into them: a loop that reloads into its own arrays, with no fresh memory on either side.
struct LoadDestinations {
  explicit LoadDestinations(const BenchState& state);
  std::vector<std::unique_ptr<char[]>> buffers;
  Tree abstract;
};
absl::StatusOr<double> CairnLoadInto(const BenchState& state, const std::string& root,
                                     const LoadDestinations& into);
absl::StatusOr<double> CairnPartialLoad(const BenchState& state, const std::string& root,
                                        size_t leaf);

struct AsyncBlocking {
  double first = 0;   // the first save also maps its staging memory
  double steady = 0;  // median of the later ones
};
// `saves` SaveAsync calls on one Checkpointer keeping one step, each after the one before has
// committed (a loop that saves every few steps).
absl::StatusOr<AsyncBlocking> CairnAsyncBlocking(const BenchState& state, const std::string& root,
                                                 int saves);

}  // namespace cairn::bench

#endif  // CAIRN_BENCH_SUITE_CAIRN_OPS_H_
