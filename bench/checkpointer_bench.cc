// What the Checkpointer costs a training loop.
//
// 1. SaveAsync's blocking time on a ~1 GiB state (256 float32 matrices of 4 MiB plus biases),
//    measured as a training loop sees it (the previous save has finished, as when saves are a
//    few steps apart), against a plain memcpy of the same arrays into a buffer of the same size
//    that is already mapped: the one host copy the design allows. The first save is reported
//    apart: it also maps its staging memory.
// 2. Start-up on a root holding 10,000 committed steps.
//
// Last line: startup_10k_steps_ms=<ms> async_block_vs_memcpy=<ratio>
// Usage: checkpointer_bench [saves=6] [MiB=1024]
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem_util.h"

namespace cairn::bench {
namespace {

struct State {
  std::vector<std::unique_ptr<float[]>> buffers;
  std::vector<size_t> sizes;  // bytes
  Tree tree = Tree::Dict();
  size_t bytes = 0;
};

// Transformer-like layers of four 1024x1024 matrices and their biases, up to `mib` MiB.
State MakeState(size_t mib) {
  State state;
  Tree& params = state.tree.Set("params", Tree::Dict());
  auto add = [&](Tree& parent, const std::string& name, Shape shape) {
    size_t n = 1;
    for (int64_t d : shape) n *= static_cast<size_t>(d);
    state.buffers.emplace_back(new float[n]);
    FillRandom(state.buffers.back().get(), n * sizeof(float), state.buffers.size());
    state.sizes.push_back(n * sizeof(float));
    state.bytes += n * sizeof(float);
    parent.Set(name, Tree::FromArray(Array::Borrow(DType::kFloat32, std::move(shape),
                                                   state.buffers.back().get())));
  };
  for (int layer = 0; state.bytes < mib << 20; ++layer) {
    Tree& l = params.Set(absl::StrCat("layer_", layer), Tree::Dict());
    for (const char* m : {"q", "k", "v", "o"}) {
      add(l, m, {1024, 1024});
      add(l, absl::StrCat(m, "_bias"), {1024});
    }
  }
  state.tree.Set("step", Tree::Int(0));
  return state;
}

double MemcpyMedian(const State& state, int runs) {
  // The destination is mapped once beforehand: the baseline is the copy alone.
  std::unique_ptr<char[]> target(new char[state.bytes]);
  std::memset(target.get(), 1, state.bytes);
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    const double start = NowSeconds();
    size_t at = 0;
    for (size_t i = 0; i < state.buffers.size(); ++i) {
      std::memcpy(target.get() + at, state.buffers[i].get(), state.sizes[i]);
      at += state.sizes[i];
    }
    times.push_back(NowSeconds() - start);
  }
  return Median(times);
}

// Median blocking time of SaveAsync after the first save, and the first save's.
bool AsyncBlocking(const State& state, const std::string& root, int saves, double* first,
                   double* steady) {
  CheckpointerOptions options;
  options.max_to_keep = 1;
  auto ckpt = Checkpointer::Create(root, options);
  if (!ckpt.ok()) {
    std::fprintf(stderr, "%s\n", ckpt.status().ToString().c_str());
    return false;
  }
  std::vector<double> times;
  for (int step = 0; step < saves; ++step) {
    const double start = NowSeconds();
    absl::StatusOr<SaveFuture> future = (*ckpt)->SaveAsync(step, state.tree);
    const double blocked = NowSeconds() - start;
    if (!future.ok() || !future->Wait().ok()) {
      std::fprintf(stderr, "save %d failed\n", step);
      return false;
    }
    const SaveReport report = future->report();
    std::printf(
        "  save %d: blocking %.1f ms (copy %.1f ms), write %.0f ms, commit %.0f ms, %.0f MiB/s\n",
        step, blocked * 1e3, absl::ToDoubleMilliseconds(report.copy),
        absl::ToDoubleMilliseconds(report.write), absl::ToDoubleMilliseconds(report.commit),
        report.throughput() / (1 << 20));
    if (step == 0) {
      *first = blocked;
    } else {
      times.push_back(blocked);
    }
  }
  *steady = Median(times);
  return (*ckpt)->Close().ok();
}

// A root of 10,000 committed steps, each with its metadata and commit marker.
bool MakeSteps(const std::string& root) {
  std::filesystem::create_directories(root);
  Filesystem& fs = *Filesystem::Default();
  for (int step = 0; step < 10000; ++step) {
    const std::string dir = StepPath(root, step, *NameFormat::Plain());
    std::filesystem::create_directory(dir);
    CheckpointMetadata metadata;
    metadata.commit_timestamp_nsecs = int64_t{1800000000} * 1000000000 + step;
    metadata.metrics = {{"loss", 1.0 / (step + 1)}};
    if (!WriteCheckpointMetadata(fs, dir, metadata, false).ok() ||
        !WriteStringToFile(fs, JoinPath(dir, kCommitMarkerFileName), "", false).ok()) {
      return false;
    }
  }
  return true;
}

double StartupMedianMs(const std::string& root, int runs) {
  std::vector<double> times;
  for (int run = 0; run < runs; ++run) {
    const double start = NowSeconds();
    auto ckpt = Checkpointer::Create(root);
    times.push_back((NowSeconds() - start) * 1e3);
    if (!ckpt.ok() || (*ckpt)->AllSteps().size() != 10000) {
      std::fprintf(stderr, "start-up did not find the 10,000 steps\n");
      std::exit(1);
    }
  }
  return Median(times);
}

int Main(int argc, char** argv) {
  const int saves = argc > 1 ? std::atoi(argv[1]) : 6;
  const size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  ScratchDir scratch;

  const State state = MakeState(mib);
  std::printf("state: %zu arrays, %.1f MiB\n", state.buffers.size(),
              static_cast<double>(state.bytes) / (1 << 20));
  const double memcpy_s = MemcpyMedian(state, 5);
  double first = 0, steady = 0;
  if (!AsyncBlocking(state, scratch.path() + "/async", saves, &first, &steady)) return 1;
  std::printf(
      "memcpy into mapped memory: %.1f ms; SaveAsync blocking: first %.1f ms, then %.1f ms\n",
      memcpy_s * 1e3, first * 1e3, steady * 1e3);

  const std::string root = scratch.path() + "/steps";
  if (!MakeSteps(root)) return 1;
  const double startup_ms = StartupMedianMs(root, 15);
  std::printf("startup_10k_steps_ms=%.2f async_block_vs_memcpy=%.3f\n", startup_ms,
              steady / memcpy_s);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
