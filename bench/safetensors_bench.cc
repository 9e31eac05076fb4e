// Exports a ~1 GiB checkpoint (64 float32 arrays of 16 MiB) to safetensors and compares it with
// copying a file of the same size (read() and write() through one 64 MiB buffer, then fsync),
// the least any export must do: read the bytes once and write them once. Both run from the page
// cache, alternating, and the medians of 5 runs are compared: export_vs_copy=<ratio>. The same
// pair without any fsync (export_vs_copy_unsynced) isolates the copying from the flush.
// CAIRN_SAFETENSORS_BENCH_MIB sets the size.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/safetensors.h"

namespace cairn::bench {
namespace {

constexpr size_t kArrayBytes = size_t{16} << 20;

bool Copy(const std::string& from, const std::string& to, std::vector<char>& buffer, bool sync) {
  const int in = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
  const int out = ::open(to.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (in < 0 || out < 0) return false;
  bool ok = true;
  for (;;) {
    const ssize_t got = ::read(in, buffer.data(), buffer.size());
    if (got < 0) ok = false;
    if (got <= 0) break;
    for (ssize_t done = 0; done < got;) {
      const ssize_t wrote = ::write(out, buffer.data() + done, got - done);
      if (wrote <= 0) return false;
      done += wrote;
    }
  }
  ok = ok && (!sync || ::fsync(out) == 0);
  ::close(in);
  ::close(out);
  return ok;
}

int Main() {
  const char* mib_env = std::getenv("CAIRN_SAFETENSORS_BENCH_MIB");
  const size_t total_mib = mib_env ? std::strtoull(mib_env, nullptr, 10) : 1024;
  const size_t arrays = std::max<size_t>(1, (total_mib << 20) / kArrayBytes);
  ScratchDir scratch;
  const std::string ckpt = scratch.path() + "/ckpt";
  const std::string raw = scratch.path() + "/raw.bin";

  Tree tree = Tree::Dict();
  Tree& params = tree.Set("params", Tree::Dict());
  {
    std::vector<char> bytes(kArrayBytes);
    const int fd = ::open(raw.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    for (size_t i = 0; i < arrays; ++i) {
      Array array =
          Array::Allocate(DType::kFloat32, {static_cast<int64_t>(kArrayBytes / 4 / 1024), 1024})
              .value();
      FillRandom(array.mutable_data(), kArrayBytes, i + 1);
      if (::write(fd, array.data(), kArrayBytes) != static_cast<ssize_t>(kArrayBytes)) return 1;
      params.Set(absl::StrCat("layer", i), Tree::FromArray(std::move(array)));
    }
    ::fsync(fd);
    ::close(fd);
  }
  absl::Status saved = Save(ckpt, tree);
  if (!saved.ok()) {
    std::fprintf(stderr, "save: %s\n", saved.ToString().c_str());
    return 1;
  }
  tree = Tree();  // the export reads the checkpoint, not this memory

  std::vector<char> buffer(size_t{64} << 20);
  std::vector<double> export_times, copy_times, unsynced_export_times, unsynced_copy_times;
  for (int run = 0; run < 5; ++run) {
    const std::string out = scratch.path() + "/out.safetensors";
    const std::string copy = scratch.path() + "/copy.bin";
    SafetensorsExportStats stats;
    // Synced (as an export runs by default), then without any fsync: the copying alone.
    for (const bool sync : {true, false}) {
      std::filesystem::remove(out);
      std::filesystem::remove(copy);
      double start = NowSeconds();
      SafetensorsExportOptions options;
      options.stats = &stats;
      options.sync = sync;
      absl::Status exported = ExportSafetensors(ckpt, out, options);
      (sync ? export_times : unsynced_export_times).push_back(NowSeconds() - start);
      if (!exported.ok()) {
        std::fprintf(stderr, "export: %s\n", exported.ToString().c_str());
        return 1;
      }
      start = NowSeconds();
      if (!Copy(raw, copy, buffer, sync)) {
        std::perror("copy");
        return 1;
      }
      (sync ? copy_times : unsynced_copy_times).push_back(NowSeconds() - start);
    }
    if (run == 0) {
      std::printf("tensors=%llu data_bytes=%llu loads=%llu buffer_bytes=%llu\n",
                  static_cast<unsigned long long>(stats.tensors),
                  static_cast<unsigned long long>(stats.data_bytes),
                  static_cast<unsigned long long>(stats.loads),
                  static_cast<unsigned long long>(stats.buffer_bytes));
    }
  }
  const double export_s = Median(export_times);
  const double copy_s = Median(copy_times);
  const double gib = static_cast<double>(arrays * kArrayBytes) / (1 << 30);
  std::printf("size_gib=%.2f export_s=%.3f copy_s=%.3f export_gib_per_s=%.2f copy_gib_per_s=%.2f\n",
              gib, export_s, copy_s, gib / export_s, gib / copy_s);
  std::printf("unsynced: export_s=%.3f copy_s=%.3f export_vs_copy_unsynced=%.2f\n",
              Median(unsynced_export_times), Median(unsynced_copy_times),
              Median(unsynced_export_times) / Median(unsynced_copy_times));
  std::printf("export_vs_copy=%.2f\n", export_s / copy_s);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main() { return cairn::bench::Main(); }
