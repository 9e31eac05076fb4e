// Saves one ~1 GiB training-like state in Orbax's format (the OCDBT layout and the per-leaf
// layout) and in cairn's own (both layouts), in the same run, durably (every file synced), and
// prints how much longer the Orbax-format save takes. All uncompressed (cairn's default), then all
// with zstd level 3 (Orbax's default codec) on data whose upper bytes repeat, as trained
// weights' exponents do; compressed, cairn also without byte shuffling.
//
// Each case is the median of `runs` saves, the formats taking turns in an order that alternates;
// every save goes to a fresh directory, removed before the next. Prints one line per case, then
//   orbax_save_vs_cairn=<worst ratio of the uncompressed OCDBT save>
//
// Usage: orbax_save_bench [runs=5] [MiB=1024]; CAIRN_BENCH_DIR picks the file system.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::bench {
namespace {

struct Case {
  std::string name;
  StoreSaveOptions options;
  std::vector<double> seconds;
};

// Leaves of 4 MiB, float32 random (incompressible) or, for the compressed cases, values whose
// upper bytes repeat as trained weights' exponents do.
BorrowedState MakeState(uint64_t bytes, bool compressible) {
  const size_t leaf_bytes = size_t{4} << 20;
  BorrowedState state = RandomState(std::max<size_t>(1, bytes / leaf_bytes), leaf_bytes);
  if (compressible) {
    for (auto& source : state.sources) {
      uint32_t* words = reinterpret_cast<uint32_t*>(source.get());
      for (size_t i = 0; i < leaf_bytes / 4; ++i) words[i] = (words[i] & 0x0000ffffu) | 0x3c000000u;
    }
  }
  return state;
}

double TimeSave(const Tree& tree, const StoreSaveOptions& options, const std::string& dir) {
  const double start = NowSeconds();
  Check(SaveTree(dir, tree, options), "save");
  const double seconds = NowSeconds() - start;
  std::filesystem::remove_all(dir);
  return seconds;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 5;
  const uint64_t mib = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1024;
  ScratchDir scratch;

  double worst = 0;
  for (const bool compressed : {false, true}) {
    const BorrowedState state = MakeState(mib << 20, compressed);
    // cairn's aggregated save is the baseline; each Orbax layout is also set beside cairn's
    // own save in the same layout, and, compressed, beside cairn's zstd without byte shuffling
    // (the codec chain zarr has).
    std::vector<Case> cases(5);
    cases[0].name = "cairn";
    cases[1].name = "orbax ocdbt";
    cases[1].options.format = StoreFormat::kOrbax;
    cases[2].name = "cairn per-leaf";
    cases[2].options.layout = StoreLayout::kPerLeaf;
    cases[3].name = "orbax per-leaf";
    cases[3].options.format = StoreFormat::kOrbax;
    cases[3].options.layout = StoreLayout::kPerLeaf;
    cases[4].name = "cairn unshuffled";
    cases[4].options.byte_shuffle = false;
    if (!compressed) cases.pop_back();
    // One unmeasured save of each warms the page cache's free lists and the thread pool.
    for (Case& c : cases) TimeSave(state.tree, c.options, scratch.path() + "/warm");
    for (int run = 0; run < runs; ++run) {
      for (size_t k = 0; k < cases.size(); ++k) {
        Case& c = cases[run % 2 ? cases.size() - 1 - k : k];
        c.seconds.push_back(
            TimeSave(state.tree, c.options, absl::StrCat(scratch.path(), "/", run, "_", k)));
      }
    }
    const double base = Median(cases[0].seconds);
    for (const Case& c : cases) {
      const double median = Median(c.seconds);
      std::printf("%-16s %-12s %8.3f s  %6.2fx cairn\n", c.name.c_str(),
                  compressed ? "zstd 3" : "uncompressed", median, median / base);
    }
    if (!compressed) worst = Median(cases[1].seconds) / base;
  }
  std::printf("orbax_save_vs_cairn=%.2f\n", worst);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
