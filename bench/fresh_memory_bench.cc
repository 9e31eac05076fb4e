// What a warm load of ~1 GiB into fresh arrays costs against the machine's limit for the same
// work: mapping fresh memory, advised for huge pages, and copying the bytes into it from memory
// already warm. Also the same copy into fresh memory without the advice (4 KiB first-touch
// faults), as a plain heap allocation gets it. Interleaved, medians of `runs`.
//
// The first load of the process is reported apart: later ones may reuse memory the earlier ones
// freed (the allocator keeps it), which a restarted trainer's first load cannot.
//
// Also a warm load into an ArrayArena kept across the runs (StoreLoadOptions::memory), which
// gets back the memory of the previous run's arrays, against the copy into memory already
// mapped and touched: the limit when no memory is fresh.
//
// And a load into a new ArrayArena each run, with ArrayArenaOptions::huge_pages and without:
// every array in memory the process maps for it, as a restarted trainer's first load gets.
//
// Last line: load_warm_vs_limit=<cairn warm load / (huge-page first touch + copy)>
//            huge_vs_small_pages=<(huge-page first touch + copy) / (4 KiB first touch + copy)>
//            arena_load_vs_copy=<load into the arena / copy into touched memory>
//            fresh_huge_vs_small_load=<load into a new huge-page arena / into a new plain one>
// Usage: fresh_memory_bench [runs=7] [MiB=1024]; CAIRN_BENCH_DIR picks the file system.
#include <sys/mman.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/array_memory.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::bench {
namespace {

constexpr size_t kLeafBytes = size_t{4} << 20;

// Fresh anonymous memory, advised for transparent huge pages or not.
void* MapFresh(size_t bytes, bool huge) {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) std::perror("mmap"), std::exit(1);
  if (huge) ::madvise(memory, bytes, MADV_HUGEPAGE);
  return memory;
}

// Copies every source buffer into fresh memory of its own, mapped with or without the advice.
double CopyIntoFresh(const std::vector<std::unique_ptr<char[]>>& sources, bool huge) {
  std::vector<void*> fresh;
  fresh.reserve(sources.size());
  const double start = NowSeconds();
  for (const auto& source : sources) {
    void* to = MapFresh(kLeafBytes, huge);
    std::memcpy(to, source.get(), kLeafBytes);
    fresh.push_back(to);
  }
  const double elapsed = NowSeconds() - start;
  for (void* p : fresh) ::munmap(p, kLeafBytes);
  return elapsed;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
  const size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  const size_t leaves = (mib << 20) / kLeafBytes;
  ScratchDir scratch;
  const BorrowedState state = RandomState(leaves, kLeafBytes);
  const std::vector<std::unique_ptr<char[]>>& sources = state.sources;
  const std::string dir = scratch.path() + "/tree";
  Check(SaveTree(dir, state.tree), "save");
  // The first load of the process: its arrays meet memory the process never touched, as a
  // restarted trainer's do. The checkpoint was just written, so it is in the page cache.
  double start = NowSeconds();
  Check(LoadTree(dir).status(), "first load");
  const double first_load = NowSeconds() - start;
  std::printf("%zu float32 leaves of 4 MiB (%zu MiB), %d runs, in %s\n", leaves, leaves * 4, runs,
              scratch.path().c_str());

  ArrayArena arena;
  StoreLoadOptions arena_options;
  arena_options.memory = &arena;
  Check(LoadTree(dir, Tree::AsSaved(), arena_options).status(), "load into the arena");
  std::vector<char*> touched;
  for (size_t i = 0; i < sources.size(); ++i) {
    touched.push_back(static_cast<char*>(MapFresh(kLeafBytes, false)));
    std::memset(touched.back(), 0, kLeafBytes);
  }

  std::vector<double> huge, small, load, arena_load, copy, fresh_huge_load, fresh_small_load;
  for (int run = 0; run < runs; ++run) {
    for (int k = 0; k < 7; ++k) {
      switch ((k + run) % 7) {
        case 5:
        case 6: {
          ArrayArenaOptions fresh_options;
          fresh_options.huge_pages = (k + run) % 7 == 5;
          ArrayArena fresh_arena(fresh_options);
          StoreLoadOptions options;
          options.memory = &fresh_arena;
          start = NowSeconds();
          absl::StatusOr<Tree> loaded = LoadTree(dir, Tree::AsSaved(), options);
          (fresh_options.huge_pages ? fresh_huge_load : fresh_small_load)
              .push_back(NowSeconds() - start);
          Check(loaded.status(), "load into a new arena");
          break;
        }
        case 3: {
          start = NowSeconds();
          absl::StatusOr<Tree> loaded = LoadTree(dir, Tree::AsSaved(), arena_options);
          arena_load.push_back(NowSeconds() - start);
          Check(loaded.status(), "load into the arena");
          break;
        }
        case 4:
          start = NowSeconds();
          for (size_t i = 0; i < sources.size(); ++i) {
            std::memcpy(touched[i], sources[i].get(), kLeafBytes);
          }
          copy.push_back(NowSeconds() - start);
          break;
        case 0:
          huge.push_back(CopyIntoFresh(sources, true));
          break;
        case 1:
          small.push_back(CopyIntoFresh(sources, false));
          break;
        default: {
          start = NowSeconds();
          absl::StatusOr<Tree> loaded = LoadTree(dir);
          load.push_back(NowSeconds() - start);
          Check(loaded.status(), "load");
        }
      }
    }
  }
  std::printf("fresh memory + copy, huge pages  %.3f s\n", Median(huge));
  std::printf("fresh memory + copy, 4 KiB pages %.3f s\n", Median(small));
  std::printf("cairn first load of the process  %.3f s\n", first_load);
  std::printf("cairn warm load                  %.3f s\n", Median(load));
  std::printf("copy into touched memory          %.3f s\n", Median(copy));
  std::printf("cairn warm load into an arena    %.3f s\n", Median(arena_load));
  std::printf("load into a new arena, huge pages %.3f s (%.3f to %.3f)\n", Median(fresh_huge_load),
              *std::min_element(fresh_huge_load.begin(), fresh_huge_load.end()),
              *std::max_element(fresh_huge_load.begin(), fresh_huge_load.end()));
  std::printf("load into a new arena, 4 KiB     %.3f s (%.3f to %.3f)\n", Median(fresh_small_load),
              *std::min_element(fresh_small_load.begin(), fresh_small_load.end()),
              *std::max_element(fresh_small_load.begin(), fresh_small_load.end()));
  std::printf(
      "load_warm_vs_limit=%.3f huge_vs_small_pages=%.3f arena_load_vs_copy=%.3f "
      "fresh_huge_vs_small_load=%.3f\n",
      Median(load) / Median(huge), Median(huge) / Median(small), Median(arena_load) / Median(copy),
      Median(fresh_huge_load) / Median(fresh_small_load));
  for (char* p : touched) ::munmap(p, kLeafBytes);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
