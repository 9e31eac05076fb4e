// Saves and loads a ~1 GiB training-state tree with the pytree store, and in the same run writes
// the same bytes with plain write() + one fsync and reads them back with read(): the limit of
// this machine's disk and page cache. Prints each median, then (last line)
//   save_vs_raw=<cairn save / raw write> load_vs_raw=<cairn load / raw read>
// Also times ReadTreeMetadata on a 10,000-leaf tree: metadata_10k_leaves_ms=<ms>.
//
// Usage: store_bench [runs=5] [MiB=1024]; CAIRN_BENCH_DIR picks the file system.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::bench {
namespace {

struct State {
  Tree tree = Tree::Dict();
  std::vector<std::unique_ptr<float[]>> buffers;
  std::vector<std::pair<const void*, size_t>> pieces;  // for the raw baseline
  uint64_t bytes = 0;
  int leaves = 0;
};

// A transformer-like parameter tree: an embedding, then layers of attention and MLP matrices
// with their biases and norms, until `target_bytes` is reached.
State MakeState(uint64_t target_bytes) {
  State state;
  uint64_t seed = 1;
  auto add = [&](Tree& parent, const std::string& name, Shape shape) {
    uint64_t count = 1;
    for (int64_t d : shape) count *= static_cast<uint64_t>(d);
    state.buffers.emplace_back(new float[count]);
    FillRandom(state.buffers.back().get(), count * 4, seed++);
    parent.Set(name,
               Tree::FromArray(Array::Borrow(DType::kFloat32, shape, state.buffers.back().get())));
    state.pieces.emplace_back(state.buffers.back().get(), count * 4);
    state.bytes += count * 4;
    ++state.leaves;
  };
  Tree& params = state.tree.Set("params", Tree::Dict());
  add(params, "embedding", {8192, 1024});
  for (int layer = 0; state.bytes < target_bytes; ++layer) {
    Tree& l = params.Set(absl::StrCat("layer", layer), Tree::Dict());
    for (const char* name : {"q", "k", "v", "o"}) add(l, name, {1024, 1024});
    add(l, "mlp_in", {1024, 4096});
    add(l, "mlp_out", {4096, 1024});
    add(l, "mlp_in_bias", {4096});
    add(l, "mlp_out_bias", {1024});
    add(l, "norm1", {1024});
    add(l, "norm2", {1024});
  }
  return state;
}

double RawWrite(const State& state, const std::string& path) {
  const double start = NowSeconds();
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) std::perror("open"), std::exit(1);
  for (const auto& [data, size] : state.pieces) {
    const char* p = static_cast<const char*>(data);
    size_t left = size;
    while (left > 0) {
      const ssize_t n = ::write(fd, p, left);
      if (n <= 0) std::perror("write"), std::exit(1);
      p += n;
      left -= static_cast<size_t>(n);
    }
  }
  if (::fsync(fd) != 0) std::perror("fsync"), std::exit(1);
  ::close(fd);
  return NowSeconds() - start;
}

double RawRead(const State& state, const std::string& path) {
  const double start = NowSeconds();
  std::unique_ptr<char[]> buffer(new char[state.bytes]);
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::perror("open"), std::exit(1);
  uint64_t done = 0;
  while (done < state.bytes) {
    const ssize_t n =
        ::read(fd, buffer.get() + done, std::min<uint64_t>(state.bytes - done, 1 << 30));
    if (n <= 0) std::perror("read"), std::exit(1);
    done += static_cast<uint64_t>(n);
  }
  ::close(fd);
  const double elapsed = NowSeconds() - start;
  if (std::memcmp(buffer.get(), state.pieces[0].first, 64) != 0) std::exit(3);
  return elapsed;
}

double MetadataMillis(const std::string& dir) {
  Tree tree = Tree::Dict();
  for (int group = 0; group < 100; ++group) {
    Tree& g = tree.Set(absl::StrCat("block", group), Tree::Dict());
    for (int i = 0; i < 100; ++i) {
      g.Set(absl::StrCat("w", i),
            Tree::FromArray(Array::Allocate(DType::kFloat32, {4, 4}).value()));
    }
  }
  Check(SaveTree(dir, tree), "10k-leaf save");
  std::vector<double> times;
  for (int run = 0; run < 7; ++run) {
    const double start = NowSeconds();
    absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(dir);
    times.push_back(NowSeconds() - start);
    Check(metadata.status(), "metadata");
  }
  return Median(times) * 1000;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const uint64_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  ScratchDir scratch;
  State state = MakeState(mib << 20);
  std::printf("state: %d float32 leaves, %.1f MiB, %d runs, in %s\n", state.leaves,
              state.bytes / 1048576.0, runs, scratch.path().c_str());

  std::vector<double> save, load, raw_write, raw_read;
  for (int run = 0; run < runs; ++run) {
    const std::string raw_path = absl::StrCat(scratch.path(), "/raw", run);
    const std::string dir = absl::StrCat(scratch.path(), "/tree", run);
    // Alternate which goes first so that neither always meets the other's writeback.
    for (int side = 0; side < 2; ++side) {
      if ((side + run) % 2 == 0) {
        raw_write.push_back(RawWrite(state, raw_path));
        raw_read.push_back(RawRead(state, raw_path));
      } else {
        double start = NowSeconds();
        Check(SaveTree(dir, state.tree), "save");
        save.push_back(NowSeconds() - start);
        start = NowSeconds();
        absl::StatusOr<Tree> loaded = LoadTree(dir);
        load.push_back(NowSeconds() - start);
        Check(loaded.status(), "load");
      }
    }
    std::filesystem::remove(raw_path);
    std::filesystem::remove_all(dir);
  }
  const double gib = state.bytes / 1073741824.0;
  std::printf("raw write+fsync  %.3f s  %.2f GiB/s\n", Median(raw_write), gib / Median(raw_write));
  std::printf("cairn save       %.3f s  %.2f GiB/s\n", Median(save), gib / Median(save));
  std::printf("raw read         %.3f s  %.2f GiB/s\n", Median(raw_read), gib / Median(raw_read));
  std::printf("cairn load       %.3f s  %.2f GiB/s\n", Median(load), gib / Median(load));
  std::printf("metadata_10k_leaves_ms=%.2f\n", MetadataMillis(scratch.path() + "/meta"));
  std::printf("save_vs_raw=%.3f load_vs_raw=%.3f\n", Median(save) / Median(raw_write),
              Median(load) / Median(raw_read));
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
