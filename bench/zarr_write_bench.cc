// Writes ~256 MiB (64 float32 arrays of 4 MiB, random) as zarr v3 arrays in directories, as
// Orbax's per-leaf layout, and compares it with writing each array's bytes to one file through
// the same Filesystem: the least a save of those arrays must do. Without compression the zarr
// write adds only the shard index and zarr.json (zarr_none_vs_raw); with zstd level 3 on every
// hardware thread, the compression (zarr_zstd_vs_raw), and against compressing each array into
// one zstd frame (level 3, one reused buffer) written to one file, the least a compressed save
// must do (zarr_zstd_vs_zstd_file). Page cache, no fsync, alternating, the medians of 5 runs.
// CAIRN_ZARR_BENCH_MIB sets the size.
#include <zstd.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/storage/zarr/key_value_sink.h"
#include "cairn/storage/zarr/zarr_writer.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/thread_pool.h"

namespace cairn::bench {
namespace {

constexpr size_t kArrayBytes = size_t{4} << 20;

int Main() {
  const char* mib_env = std::getenv("CAIRN_ZARR_BENCH_MIB");
  const size_t total_mib = mib_env ? std::strtoull(mib_env, nullptr, 10) : 256;
  const size_t count = std::max<size_t>(1, (total_mib << 20) / kArrayBytes);
  std::vector<std::unique_ptr<char[]>> sources;
  std::vector<Array> arrays;
  for (size_t i = 0; i < count; ++i) {
    sources.emplace_back(new char[kArrayBytes]);
    FillRandom(sources.back().get(), kArrayBytes, i + 1);
    arrays.push_back(Array::Borrow(DType::kFloat32, {int64_t(kArrayBytes / 4 / 1024), 1024},
                                   sources.back().get()));
  }
  ScratchDir scratch;
  Filesystem& fs = *Filesystem::Default();
  const int threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  ThreadPool pool(threads);

  auto raw = [&](const std::string& dir) {
    Check(CreateDirs(fs, dir), "mkdir");
    for (size_t i = 0; i < count; ++i) {
      Check(WriteStringToFile(fs, JoinPath(dir, absl::StrCat("w", i)),
                              absl::string_view(sources[i].get(), kArrayBytes), false),
            "raw write");
    }
  };
  std::vector<char> frame(ZSTD_compressBound(kArrayBytes));
  ZSTD_CCtx* context = ZSTD_createCCtx();
  auto zstd_file = [&](const std::string& dir) {
    Check(CreateDirs(fs, dir), "mkdir");
    for (size_t i = 0; i < count; ++i) {
      const size_t size =
          ZSTD_compressCCtx(context, frame.data(), frame.size(), sources[i].get(), kArrayBytes, 3);
      if (ZSTD_isError(size)) Check(absl::InternalError(ZSTD_getErrorName(size)), "zstd");
      Check(WriteStringToFile(fs, JoinPath(dir, absl::StrCat("w", i)),
                              absl::string_view(frame.data(), size), false),
            "zstd write");
    }
  };
  auto zarr = [&](const std::string& dir, Zarr3Compression compression) {
    DirectoryKeyValueSink sink(fs, dir, /*sync=*/false);
    Zarr3WriteOptions options;
    options.compression = compression;
    options.pool = &pool;
    options.parallelism = threads;
    for (size_t i = 0; i < count; ++i) {
      Check(WriteZarr3Array(sink, absl::StrCat("w", i), arrays[i], options), "zarr write");
    }
  };

  std::vector<double> raw_s, none_s, zstd_s, frame_s;
  for (int run = 0; run < 5; ++run) {
    const std::string base = JoinPath(scratch.path(), absl::StrCat("run", run));
    double t = NowSeconds();
    raw(base + "/raw");
    raw_s.push_back(NowSeconds() - t);
    t = NowSeconds();
    zarr(base + "/none", Zarr3Compression::kNone);
    none_s.push_back(NowSeconds() - t);
    t = NowSeconds();
    zarr(base + "/zstd", Zarr3Compression::kZstd);
    zstd_s.push_back(NowSeconds() - t);
    t = NowSeconds();
    zstd_file(base + "/frames");
    frame_s.push_back(NowSeconds() - t);
    Check(DeleteRecursively(fs, base), "cleanup");
  }
  ZSTD_freeCCtx(context);
  const double mib = static_cast<double>(count * kArrayBytes) / (1 << 20);
  std::printf("arrays=%zu mib=%.0f threads=%d raw_ms=%.1f zarr_none_ms=%.1f zarr_zstd_ms=%.1f\n",
              count, mib, threads, Median(raw_s) * 1e3, Median(none_s) * 1e3, Median(zstd_s) * 1e3);
  std::printf("zarr_none_vs_raw=%.3f zarr_zstd_vs_raw=%.3f zarr_zstd_vs_zstd_file=%.3f\n",
              Median(none_s) / Median(raw_s), Median(zstd_s) / Median(raw_s),
              Median(zstd_s) / Median(frame_s));
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main() { return cairn::bench::Main(); }
