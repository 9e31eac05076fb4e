// Small shared parts of the benchmarks: timing, medians, deterministic data, scratch dirs.
#ifndef CAIRN_BENCH_BENCH_UTIL_H_
#define CAIRN_BENCH_BENCH_UTIL_H_

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/tree.h"

namespace cairn::bench {

// Ends the benchmark, naming what failed, when `status` is an error.
inline void Check(const absl::Status& status, const char* what) {
  if (!status.ok()) {
    std::fprintf(stderr, "%s failed: %s\n", what, status.ToString().c_str());
    std::exit(1);
  }
}

inline double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

inline double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

// Fills `size` bytes with xorshift output: incompressible, and the same for a given seed.
inline void FillRandom(void* data, size_t size, uint64_t seed) {
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  uint64_t* words = static_cast<uint64_t*>(data);
  for (size_t i = 0; i < size / 8; ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    words[i] = state;
  }
}

// A flat tree of `leaves` float32 arrays of `leaf_bytes` each (w0, w1, ...), random and
// incompressible, borrowed from `sources`, which hold them.
struct BorrowedState {
  std::vector<std::unique_ptr<char[]>> sources;
  Tree tree = Tree::Dict();
};
inline BorrowedState RandomState(size_t leaves, size_t leaf_bytes) {
  BorrowedState state;
  std::vector<std::string> keys;
  std::vector<Tree> values;
  for (size_t i = 0; i < leaves; ++i) {
    state.sources.emplace_back(new char[leaf_bytes]);
    FillRandom(state.sources.back().get(), leaf_bytes, i + 1);
    keys.push_back(absl::StrCat("w", i));
    values.push_back(Tree::FromArray(
        Array::Borrow(DType::kFloat32, {int64_t(leaf_bytes / 4)}, state.sources.back().get())));
  }
  state.tree = Tree::DictFrom(std::move(keys), std::move(values)).value();
  return state;
}

// A scratch directory under $CAIRN_BENCH_DIR (default: the system temp dir), removed at exit.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("CAIRN_BENCH_DIR");
    std::string pattern =
        std::string(base ? base : std::filesystem::temp_directory_path().c_str()) +
        "/cairn-bench-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) {
      std::perror("mkdtemp");
      std::exit(1);
    }
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace cairn::bench

#endif  // CAIRN_BENCH_BENCH_UTIL_H_
