// The states the comparison suite saves, built from a seed so that every library in the run
// saves the same bytes, and exported (one raw file and a JSON manifest) for the peers.
#ifndef CAIRN_BENCH_SUITE_TRAINING_STATE_H_
#define CAIRN_BENCH_SUITE_TRAINING_STATE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cairn/storage/tree.h"

namespace cairn::bench {

struct StateLeaf {
  std::string path;  // "params/layer0/q": dict keys joined by '/'
  DType dtype;
  Shape shape;
  const char* data;
  uint64_t bytes;
};

struct BenchState {
  std::string name;
  Tree tree = Tree::Dict();       // borrows the buffers below
  std::vector<StateLeaf> leaves;  // in tree order, which is also the export's order
  std::vector<std::unique_ptr<char[]>> buffers;
  uint64_t bytes = 0;
};

// A transformer-like training state of about 1 GiB: float32 parameters (embedding, attention
// and MLP matrices, biases, norms), an Adam optimizer state mirroring them, and int64 counters
// and a data iterator's position. 264 arrays.
BenchState MakeTrainingState(uint64_t seed);

// About 1 GiB of bfloat16 weights drawn from per-layer normal distributions: the entropy of
// real trained weights (random mantissas, concentrated exponents), for the compressed rows.
BenchState MakeBfloat16Weights(uint64_t seed);

// `leaves` float32 arrays sharing `total_bytes`, 100 to a dict: for how cost grows with size
// and with the number of leaves.
BenchState MakeUniformState(uint64_t total_bytes, int leaves, uint64_t seed);

// Writes <dir>/<name>.bin (the leaves' bytes, back to back, in order) and <dir>/<name>.json
// (each leaf's path, dtype, shape, offset and size).
absl::Status ExportState(const BenchState& state, const std::string& dir);

// The dtype's name as numpy spells it ("float32"), bfloat16 as "bfloat16".
const char* DTypeNumpyName(DType dtype);

}  // namespace cairn::bench

#endif  // CAIRN_BENCH_SUITE_TRAINING_STATE_H_
