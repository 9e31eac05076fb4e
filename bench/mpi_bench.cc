// What MPI coordination costs a multi-process save and a resharded load, on one machine, against
// the single-process save and load of the same bytes in the same run.
//
// 1. A global state of ~256 MiB: float32 matrices of 4 MiB (1024 x 1024) and a replicated bias
//    (1024,) for each. Saved durably by rank 0 alone with a plain SaveTree, then by the first 1,
//    2 and 4 ranks over MPI, each rank holding a row block of every matrix and a replica of every
//    bias (written once, by one replica). A multi-rank save's time is the slowest rank's, from a
//    barrier before it to its return.
// 2. The 4-rank checkpoint loaded by 2 ranks, each reading its half of the rows of every matrix
//    and every bias, against rank 0 loading the whole tree alone.
// 3. The time one collective takes on all ranks (Barrier, and Broadcast and Gather of 64 bytes).
//
// Last line: mpi_save_4_vs_1=<ratio> mpi_reshard_load_vs_single=<ratio> mpi_barrier_us=<us>
// Usage: mpirun -np 4 mpi_bench [MiB=256] [reps=3]
#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/mpi/mpi_coordinator.h"

namespace cairn::bench {
namespace {

constexpr int64_t kSide = 1024;

struct State {
  std::vector<std::unique_ptr<float[]>> matrices;
  std::vector<std::unique_ptr<float[]>> biases;
  size_t bytes = 0;
};

State MakeState(size_t mib) {
  State state;
  while (state.bytes < mib << 20) {
    const uint64_t seed = state.matrices.size();
    state.matrices.emplace_back(new float[kSide * kSide]);
    FillRandom(state.matrices.back().get(), kSide * kSide * sizeof(float), 2 * seed + 1);
    state.biases.emplace_back(new float[kSide]);
    FillRandom(state.biases.back().get(), kSide * sizeof(float), 2 * seed + 2);
    state.bytes += (kSide * kSide + kSide) * sizeof(float);
  }
  return state;
}

// Rank `rank` of `ranks`'s pieces: rows [begin, end) of every matrix, a replica of every bias.
// With one rank, the plain arrays without placements.
Tree PiecesOf(const State& state, int rank, int ranks) {
  Tree tree = Tree::Dict();
  const int64_t begin = kSide * rank / ranks;
  const int64_t end = kSide * (rank + 1) / ranks;
  for (size_t i = 0; i < state.matrices.size(); ++i) {
    Tree& layer = tree.Set(absl::StrCat("layer_", i), Tree::Dict());
    Array w = Array::Borrow(DType::kFloat32, {end - begin, kSide},
                            state.matrices[i].get() + begin * kSide);
    Array b = Array::Borrow(DType::kFloat32, {kSide}, state.biases[i].get());
    if (ranks > 1) {
      w.set_placement(ShardPlacement{{kSide, kSide}, {begin, 0}});
      b.set_placement(ShardPlacement{{kSide}, {0}, rank, ranks});
    }
    layer.Set("w", Tree::FromArray(std::move(w)));
    layer.Set("b", Tree::FromArray(std::move(b)));
  }
  return tree;
}

// What rank `rank` of `ranks` loads: its rows of every matrix and every bias.
Tree RegionOf(const State& state, int rank, int ranks) {
  Tree tree = Tree::Dict();
  const int64_t begin = kSide * rank / ranks;
  const int64_t end = kSide * (rank + 1) / ranks;
  for (size_t i = 0; i < state.matrices.size(); ++i) {
    Tree& layer = tree.Set(absl::StrCat("layer_", i), Tree::Dict());
    ArraySpec rows;
    rows.origin = Shape{begin, 0};
    rows.shape = Shape{end - begin, kSide};
    layer.Set("w", Tree::Spec(rows));
    layer.Set("b", Tree::AsSaved());
  }
  return tree;
}

void Check(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  MPI_Abort(MPI_COMM_WORLD, 1);
}

// The slowest of the ranks' `seconds`, on the primary of `coordinator`.
double Slowest(Coordinator& coordinator, double seconds) {
  absl::StatusOr<std::vector<std::string>> all =
      coordinator.Gather("bench.time", std::to_string(seconds));
  Check(all.status(), "gathering times");
  double slowest = seconds;
  for (const std::string& s : *all) slowest = std::max(slowest, std::atof(s.c_str()));
  return slowest;
}

// Runs `body` on the first `ranks` ranks (a sub-communicator of them) and returns the slowest
// one's time, on world rank 0; the other ranks wait.
// The ranks that wait do so in the world coordinator's barrier, which naps between polls: in
// MPI_Barrier they would spin, taking the cores from the ranks being timed.
template <typename Body>
double TimeOnRanks(Coordinator& world, int ranks, Body body) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm sub = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank < ranks ? 0 : MPI_UNDEFINED, rank, &sub);
  double slowest = 0;
  if (sub != MPI_COMM_NULL) {
    absl::StatusOr<std::unique_ptr<MpiCoordinator>> group = MpiCoordinator::Create(sub);
    Check(group.status(), "creating a coordinator");
    Check((*group)->Barrier("bench.start"), "barrier");
    const double start = NowSeconds();
    body(**group);
    slowest = Slowest(**group, NowSeconds() - start);
    group->reset();
    MPI_Comm_free(&sub);
  }
  Check(world.Barrier("bench.done"), "barrier");
  return slowest;
}

int Main(int argc, char** argv) {
  const size_t mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 3;
  int rank = 0;
  int size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const State state = MakeState(mib);
  std::unique_ptr<ScratchDir> scratch;
  std::string root;
  if (rank == 0) {
    scratch = std::make_unique<ScratchDir>();
    root = scratch->path();
  }
  absl::StatusOr<std::unique_ptr<MpiCoordinator>> world = MpiCoordinator::Create(MPI_COMM_WORLD);
  Check(world.status(), "creating a coordinator");
  absl::StatusOr<std::string> shared = (*world)->Broadcast("bench.root", root);
  Check(shared.status(), "broadcast");
  root = *shared;
  if (rank == 0) {
    std::printf("global state: %.0f MiB in %zu matrices and biases; %d ranks\n",
                state.bytes / 1048576.0, state.matrices.size(), size);
  }

  std::vector<int> counts;
  for (int n : {1, 2, 4}) {
    if (n <= size) counts.push_back(n);
  }
  // Configuration 0 is the plain single-process save on rank 0 alone; c > 0 the MPI save on
  // counts[c - 1] ranks. Each round runs them all, starting with a different one, so that none
  // always follows the same; checkpoints are removed only at the end, outside the timings.
  std::vector<std::vector<double>> times(counts.size() + 1);
  std::string last_multi;  // the latest save on the most ranks, for the loads below
  for (int rep = 0; rep < reps; ++rep) {
    for (size_t k = 0; k < times.size(); ++k) {
      const size_t c = (k + static_cast<size_t>(rep)) % times.size();
      const std::string dir = absl::StrCat(root, "/save", rep, "_", c);
      if (c == 0) {
        times[c].push_back(TimeOnRanks(**world, 1, [&](MpiCoordinator&) {
          Check(SaveTree(dir, PiecesOf(state, 0, 1)), "single-process save");
        }));
        continue;
      }
      const int n = counts[c - 1];
      times[c].push_back(TimeOnRanks(**world, n, [&](MpiCoordinator& group) {
        StoreSaveOptions options;
        options.coordinator = &group;
        Check(SaveTree(dir, PiecesOf(state, group.process_index(), n), options), "MPI save");
      }));
      if (c == counts.size()) last_multi = dir;
    }
  }

  // Loads of the last checkpoint saved (by the most ranks) on 2 ranks, and on rank 0 alone.
  std::vector<double> load_single;
  std::vector<double> load_two;
  for (int rep = 0; rep < reps && size >= 2; ++rep) {
    load_single.push_back(TimeOnRanks(**world, 1, [&](MpiCoordinator&) {
      Check(LoadTree(last_multi).status(), "single-process load");
    }));
    load_two.push_back(TimeOnRanks(**world, 2, [&](MpiCoordinator& group) {
      Check(LoadTree(last_multi, RegionOf(state, group.process_index(), 2)).status(),
            "resharded load");
    }));
  }

  // Collectives on every rank, averaged over many.
  constexpr int kRounds = 2000;
  const std::string payload(64, 'x');
  double per[3] = {0, 0, 0};
  for (int kind = 0; kind < 3; ++kind) {
    Check((*world)->Barrier("bench.collectives"), "barrier");
    const double start = NowSeconds();
    for (int i = 0; i < kRounds; ++i) {
      if (kind == 0) Check((*world)->Barrier("bench.barrier"), "barrier");
      if (kind == 1) Check((*world)->Broadcast("bench.broadcast", payload).status(), "broadcast");
      if (kind == 2) Check((*world)->Gather("bench.gather", payload).status(), "gather");
    }
    per[kind] = Slowest(**world, NowSeconds() - start) / kRounds * 1e6;
  }

  if (rank == 0) {
    const double base = Median(times[0]);
    std::printf("single-process save: %.3f s (%.0f MiB/s)\n", base, state.bytes / 1048576.0 / base);
    double save_4_vs_1 = 0;
    const double best = *std::min_element(times[0].begin(), times[0].end());
    for (size_t c = 1; c < times.size(); ++c) {
      const double t = Median(times[c]);
      const double t_best = *std::min_element(times[c].begin(), times[c].end());
      std::printf(
          "MPI save on %d ranks: %.3f s (%.0f MiB/s), %.3fx the single-process save "
          "(best of each: %.3fx)\n",
          counts[c - 1], t, state.bytes / 1048576.0 / t, t / base, t_best / best);
      if (counts[c - 1] == 4) save_4_vs_1 = t / base;
    }
    double reshard = 0;
    if (!load_two.empty()) {
      reshard = Median(load_two) / Median(load_single);
      std::printf("load of the %d-rank checkpoint: %.3f s on rank 0 alone, %.3f s on 2 ranks\n",
                  counts.back(), Median(load_single), Median(load_two));
    }
    std::printf("collectives on %d ranks: Barrier %.1f us, Broadcast %.1f us, Gather %.1f us\n",
                size, per[0], per[1], per[2]);
    std::printf("mpi_save_4_vs_1=%.3f mpi_reshard_load_vs_single=%.3f mpi_barrier_us=%.1f\n",
                save_4_vs_1, reshard, per[0]);
  }
  world->reset();
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) {
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
  const int result = cairn::bench::Main(argc, argv);
  MPI_Finalize();
  return result;
}
