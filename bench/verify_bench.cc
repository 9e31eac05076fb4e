// What `cairn verify` costs against reading the same files: a ~1 GiB checkpoint is verified
// through the library call the command makes (VerifyCheckpoint) and read sequentially with
// read(2), both warm (page cache), interleaved, medians of 5. Prints the throughput ratio
// verify_vs_read (verify's bytes/s over read's; the goal is >= 0.9).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "bench/bench_util.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/checkpoint_verification.h"

namespace cairn::bench {
namespace {

constexpr int kArrays = 16;
constexpr int64_t kElements = int64_t{16} << 20;  // float32: 64 MiB each, 1 GiB in all
constexpr int kRounds = 5;

// Reads every file below `dir` sequentially; returns the bytes read.
uint64_t ReadAll(const std::string& dir, std::vector<char>& buffer) {
  uint64_t total = 0;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    const int fd = ::open(entry.path().c_str(), O_RDONLY);
    if (fd < 0) {
      std::perror("open");
      std::exit(1);
    }
    ssize_t n;
    while ((n = ::read(fd, buffer.data(), buffer.size())) > 0) total += static_cast<uint64_t>(n);
    ::close(fd);
  }
  return total;
}

int Main() {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/1";
  {
    Tree tree = Tree::Dict();
    for (int i = 0; i < kArrays; ++i) {
      Array array = Array::Allocate(DType::kFloat32, {kElements}).value();
      FillRandom(array.mutable_data(), array.byte_size(), static_cast<uint64_t>(i));
      tree.Set("layer" + std::to_string(i), Tree::FromArray(std::move(array)));
    }
    const absl::Status saved = Save(dir, tree);
    if (!saved.ok()) {
      std::fprintf(stderr, "save: %s\n", std::string(saved.message()).c_str());
      return 1;
    }
  }
  std::vector<char> buffer(size_t{8} << 20);
  std::vector<double> verify_rates, read_rates;
  // Round -1 warms the cache and both paths; the order alternates so that neither always
  // follows the other.
  for (int round = -1; round < kRounds; ++round) {
    double verify_seconds = 0, read_seconds = 0;
    uint64_t verify_bytes = 0, read_bytes = 0;
    for (int turn = 0; turn < 2; ++turn) {
      const bool verify_turn = (turn == 0) == (round % 2 == 0);
      const double start = NowSeconds();
      if (verify_turn) {
        const absl::StatusOr<VerificationReport> report = VerifyCheckpoint(dir);
        verify_seconds = NowSeconds() - start;
        if (!report.ok() || !report->intact()) {
          std::fprintf(stderr, "verify failed\n");
          return 1;
        }
        verify_bytes = report->bytes_read;
      } else {
        read_bytes = ReadAll(dir, buffer);
        read_seconds = NowSeconds() - start;
      }
    }
    if (round < 0) continue;
    verify_rates.push_back(static_cast<double>(verify_bytes) / verify_seconds);
    read_rates.push_back(static_cast<double>(read_bytes) / read_seconds);
    std::printf("round %d: verify %.0f MiB/s, read %.0f MiB/s\n", round,
                verify_rates.back() / (1 << 20), read_rates.back() / (1 << 20));
  }
  const double verify = Median(verify_rates);
  const double read = Median(read_rates);
  std::printf(
      "verify_median=%.0f MiB/s read_median=%.0f MiB/s (warm cache, 2 shared cores: noisy)\n",
      verify / (1 << 20), read / (1 << 20));
  std::printf("verify_vs_read=%.3f (verify throughput / read throughput; goal >= 0.9)\n",
              verify / read);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main() { return cairn::bench::Main(); }
