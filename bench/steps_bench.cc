// Lists a root holding 10,000 committed steps (plus temporaries and unrelated entries) and
// prints the median time, last: list_10k_steps_ms=<ms>. For scale it also prints the time of a
// bare readdir of the same directory, the floor any listing pays, and the commit-file listing,
// which checks each step's marker. Both listings Stat each step once: rename mode looks for its
// _CHECKPOINT_METADATA, since a directory without one (or a marker) is not a step.
#include <dirent.h>

#include <cstdio>
#include <filesystem>
#include <functional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/bench_util.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem_util.h"

namespace cairn::bench {
namespace {

double TimeMillis(int runs, const std::function<void()>& fn) {
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    const double start = NowSeconds();
    fn();
    times.push_back((NowSeconds() - start) * 1000);
  }
  return Median(times);
}

int Main() {
  ScratchDir scratch;
  const std::string root = scratch.path() + "/root";
  std::filesystem::create_directories(root);
  auto format = NameFormat::Prefixed("step");
  for (int step = 0; step < 10000; ++step) {
    const std::string dir = StepPath(root, step, *format);
    std::filesystem::create_directory(dir);
    // What a listing looks at of a step: its metadata (rename mode) and its marker.
    for (const char* name : {kCheckpointMetadataFileName, kCommitMarkerFileName}) {
      if (!WriteStringToFile(*Filesystem::Default(), JoinPath(dir, name), "", false).ok()) return 1;
    }
  }
  for (int i = 0; i < 100; ++i) {
    std::filesystem::create_directory(root + "/step_" + std::to_string(20000 + i) +
                                      ".cairn-tmp.1.2.host");
  }
  StepListingOptions options;
  options.name_format = format;
  size_t found = 0;
  const double readdir_ms = TimeMillis(15, [&] {
    DIR* dir = opendir(root.c_str());
    while (readdir(dir) != nullptr) ++found;
    closedir(dir);
  });
  const double rename_ms = TimeMillis(15, [&] { found = ListSteps(root, options)->size(); });
  if (found != 10000) {
    std::fprintf(stderr, "listed %zu steps, expected 10000\n", found);
    return 1;
  }
  options.commit_mode = CommitMode::kCommitFile;
  const double commit_file_ms = TimeMillis(15, [&] { found = ListSteps(root, options)->size(); });
  std::printf("readdir alone: %.2f ms; commit-file mode listing: %.2f ms\n", readdir_ms,
              commit_file_ms);
  std::printf("list_10k_steps_ms=%.2f\n", rename_ms);
  return 0;
}

}  // namespace
}  // namespace cairn::bench

int main() { return cairn::bench::Main(); }
