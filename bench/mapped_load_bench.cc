// What a mapped load (StoreLoadOptions::map_arrays) of ~1 GiB costs, every chunk verified,
// against the machine's limit for getting the same bytes into memory: one pread of the data file
// into memory already mapped and touched. Also a load into fresh arrays, for scale. All warm
// (the checkpoint was just written, so it is in the page cache), interleaved, medians of `runs`.
//
// Last line: mmap_load_vs_pread=<mapped load / pread of the data file into touched memory>
//            mmap_load_vs_load=<mapped load / load into fresh arrays>
// Usage: mapped_load_bench [runs=7] [MiB=1024]; CAIRN_BENCH_DIR picks the file system.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::bench {
namespace {

constexpr size_t kLeafBytes = size_t{4} << 20;

// Reads the whole of `path` into `into` (at least its size), as one would with no format at all.
double PreadAll(const std::string& path, char* into, size_t size) {
  const double start = NowSeconds();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::perror("open"), std::exit(1);
  size_t done = 0;
  while (done < size) {
    const ssize_t got = ::pread(fd, into + done, size - done, static_cast<off_t>(done));
    if (got <= 0) std::perror("pread"), std::exit(1);
    done += static_cast<size_t>(got);
  }
  ::close(fd);
  return NowSeconds() - start;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
  const size_t mib = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 1024;
  const size_t leaves = (mib << 20) / kLeafBytes;
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/tree";
  Check(SaveTree(dir, RandomState(leaves, kLeafBytes).tree), "save");
  const std::string data_file = dir + "/" + kTreeDataDirName + "/p0.dat";
  const size_t data_bytes = std::filesystem::file_size(data_file);
  // The limit's destination: allocated and touched once, so no run pays first-touch faults.
  std::unique_ptr<char[]> mapped_memory(new char[data_bytes]);
  std::memset(mapped_memory.get(), 1, data_bytes);

  MapReport report;
  StoreLoadOptions mapped_options;
  mapped_options.map_arrays = true;
  mapped_options.map_report = &report;
  Check(LoadTree(dir, Tree::AsSaved(), mapped_options).status(), "mapped load");
  if (!report.fallbacks.empty() || report.mapped.size() != leaves) {
    std::fprintf(stderr, "only %zu of %zu arrays were mapped\n", report.mapped.size(), leaves);
    return 1;
  }
  std::printf("%zu float32 leaves of 4 MiB (%zu MiB), %d runs, in %s\n", leaves, leaves * 4, runs,
              scratch.path().c_str());

  std::vector<double> pread, mapped, load;
  for (int run = 0; run < runs; ++run) {
    for (int k = 0; k < 3; ++k) {
      switch ((k + run) % 3) {
        case 0:
          pread.push_back(PreadAll(data_file, mapped_memory.get(), data_bytes));
          break;
        case 1: {
          const double start = NowSeconds();
          absl::StatusOr<Tree> loaded = LoadTree(dir, Tree::AsSaved(), mapped_options);
          mapped.push_back(NowSeconds() - start);
          Check(loaded.status(), "mapped load");
          break;
        }
        default: {
          const double start = NowSeconds();
          absl::StatusOr<Tree> loaded = LoadTree(dir);
          load.push_back(NowSeconds() - start);
          Check(loaded.status(), "load");
        }
      }
    }
  }
  std::printf("pread of the data file into touched memory %.4f s\n", Median(pread));
  std::printf("cairn mapped load, verified               %.4f s\n", Median(mapped));
  std::printf("cairn load into fresh arrays              %.4f s\n", Median(load));
  std::printf("mmap_load_vs_pread=%.3f mmap_load_vs_load=%.3f\n", Median(mapped) / Median(pread),
              Median(mapped) / Median(load));
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
