// What a tree of 100,000 small leaves costs apart from its bytes: building it with Set (1,000
// dicts of 100 float32[4] arrays), copying it (as an async save's snapshot does), and saving it
// with the pytree store without fsync. Prints each median; last line:
//   build_100k_ms=<ms> copy_100k_ms=<ms> save_100k_ms=<ms>
//
// Usage: tree_bench [runs=7]; CAIRN_BENCH_DIR picks the file system.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/pytree_store.h"

namespace cairn::bench {
namespace {

void Check(const absl::Status& status, const char* what) {
  if (status.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, status.ToString().c_str());
  std::exit(1);
}

Tree Build(const Array& leaf) {
  Tree tree = Tree::Dict();
  for (int group = 0; group < 1000; ++group) {
    Tree& block = tree.Set(absl::StrCat("block", group), Tree::Dict());
    for (int i = 0; i < 100; ++i) block.Set(absl::StrCat("w", i), Tree::FromArray(leaf));
  }
  return tree;
}

int Main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 7;
  ScratchDir scratch;
  const Array leaf = Array::Allocate(DType::kFloat32, {4}).value();
  StoreSaveOptions options;
  options.sync = false;  // the tree's cost, not the disk's
  std::vector<double> build, copy, save;
  for (int run = 0; run < runs; ++run) {
    double start = NowSeconds();
    Tree tree = Build(leaf);
    build.push_back(NowSeconds() - start);
    start = NowSeconds();
    Tree copied = tree;
    copy.push_back(NowSeconds() - start);
    const std::string dir = absl::StrCat(scratch.path(), "/tree", run);
    start = NowSeconds();
    Check(SaveTree(dir, copied, options), "save");
    save.push_back(NowSeconds() - start);
    std::filesystem::remove_all(dir);
  }
  std::printf("build_100k_ms=%.1f copy_100k_ms=%.1f save_100k_ms=%.1f\n", Median(build) * 1000,
              Median(copy) * 1000, Median(save) * 1000);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main(int argc, char** argv) { return cairn::bench::Main(argc, argv); }
