// What loading one array out of a large checkpoint costs against reading its bytes: a tree of
// `leaves` float32 arrays of 4 MiB (~1 GiB) and one of 100,000 arrays of 1 KiB, each loaded
// one array at a time (a partial load naming it), into fresh memory and mapped, against an
// open + pread + close of as many bytes of the same data file into memory already touched.
// Also ReadTreeMetadata of each tree (the index read and decoded, no array bytes), the part of
// the fixed cost that grows with the leaves. All warm (every page mapped once before), interleaved,
// medians of `runs`.
//
// Last line: one_array_vs_pread=<load of one 4 MiB array / pread of 4 MiB>
//            one_array_mapped_vs_pread=<the same, mapped>
//            one_array_100k_vs_pread=<load of one 1 KiB array of 100,000 / pread of 1 KiB>
// Usage: one_array_bench [runs=9] [leaves=250]; CAIRN_BENCH_DIR picks the file system.
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

double PreadOnce(const std::string& path, uint64_t offset, char* into, size_t size) {
  const double start = NowSeconds();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) std::perror("open"), std::exit(1);
  if (::pread(fd, into, size, static_cast<off_t>(offset)) != static_cast<ssize_t>(size)) {
    std::perror("pread"), std::exit(1);
  }
  ::close(fd);
  return NowSeconds() - start;
}

double LoadOne(const std::string& dir, const std::string& key, bool mapped) {
  Tree abstract = Tree::Dict();
  abstract.Set(key, Tree::AsSaved());
  StoreLoadOptions options;
  options.partial = true;
  options.map_arrays = mapped;
  const double start = NowSeconds();
  absl::StatusOr<Tree> loaded = LoadTree(dir, abstract, options);
  const double elapsed = NowSeconds() - start;
  Check(loaded.status(), "load of one array");
  return elapsed;
}

double Metadata(const std::string& dir) {
  const double start = NowSeconds();
  Check(ReadTreeMetadata(dir).status(), "metadata");
  return NowSeconds() - start;
}

// The timings of one tree, over runs, each a different leaf.
struct Case {
  std::string dir;
  size_t leaves;
  size_t bytes;
  std::vector<double> pread, load, mapped, metadata;
};

// The largest data file of the checkpoint: a tree of many leaves is written to one file per
// writer thread, a small one to p0.dat.
std::string LargestDataFile(const std::string& dir, uint64_t* size) {
  std::string largest;
  *size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir + "/" + kTreeDataDirName)) {
    if (entry.file_size() >= *size) {
      *size = entry.file_size();
      largest = entry.path().string();
    }
  }
  return largest;
}

void RunOnce(Case& c, int run, char* touched) {
  const size_t leaf = (static_cast<size_t>(run) * 7919) % c.leaves;
  const std::string key = absl::StrCat("w", leaf);
  uint64_t file_size = 0;
  const std::string data_file = LargestDataFile(c.dir, &file_size);
  // As many bytes of the file as one array holds, about where that array would lie.
  const uint64_t offset = file_size > c.bytes ? leaf * c.bytes % (file_size - c.bytes) : 0;
  for (int k = 0; k < 4; ++k) {
    switch ((k + run) % 4) {
      case 0:
        c.pread.push_back(PreadOnce(data_file, offset, touched, c.bytes));
        break;
      case 1:
        c.load.push_back(LoadOne(c.dir, key, false));
        break;
      case 2:
        c.mapped.push_back(LoadOne(c.dir, key, true));
        break;
      default:
        c.metadata.push_back(Metadata(c.dir));
    }
  }
}

void Print(const Case& c) {
  std::printf(
      "%zu leaves of %zu bytes: pread %.3f ms, load %.3f ms, mapped load %.3f ms, "
      "metadata %.3f ms\n",
      c.leaves, c.bytes, Median(c.pread) * 1e3, Median(c.load) * 1e3, Median(c.mapped) * 1e3,
      Median(c.metadata) * 1e3);
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 9;
  const size_t leaves = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 250;
  ScratchDir scratch;
  Case large{scratch.path() + "/large", leaves, size_t{4} << 20};
  Case many{scratch.path() + "/many", 100000, 1024};
  Check(SaveTree(large.dir, RandomState(large.leaves, large.bytes).tree), "save");
  Check(SaveTree(many.dir, RandomState(many.leaves, many.bytes).tree), "save");
  // The pages of a file just written are slow to map the first time (several times a mapping
  // of pages read before); a whole mapped load first makes every run meet the steady state.
  StoreLoadOptions mapped;
  mapped.map_arrays = true;
  Check(LoadTree(large.dir, Tree::AsSaved(), mapped).status(), "mapped load");
  Check(LoadTree(many.dir, Tree::AsSaved(), mapped).status(), "mapped load");
  std::unique_ptr<char[]> touched(new char[large.bytes]);
  std::memset(touched.get(), 1, large.bytes);
  for (int run = 0; run < runs; ++run) {
    RunOnce(large, run, touched.get());
    RunOnce(many, run, touched.get());
  }
  std::printf("%d runs in %s\n", runs, scratch.path().c_str());
  Print(large);
  Print(many);
  std::printf(
      "one_array_vs_pread=%.3f one_array_mapped_vs_pread=%.3f one_array_100k_vs_pread=%.3f\n",
      Median(large.load) / Median(large.pread), Median(large.mapped) / Median(large.pread),
      Median(many.load) / Median(many.pread));
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
