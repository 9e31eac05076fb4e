// An evaluator following a training run: it waits for each step the trainer commits, loads the
// step's pytree while holding its lease (so the trainer's retention cannot delete it mid-read),
// and prints one line per step with the L2 norm and a checksum of its arrays.
//
// Usage: evaluate_run <root> [--mode every|newest] [--until-step N] [--timeout-secs S]
//                     [--prefix P] [--commit-file] [--poll-secs S] [--min-interval-secs S]
//
//   --mode every       every committed step, in order (default); newest: only the latest
//   --until-step N     stop after evaluating a step >= N
//   --timeout-secs S   stop when no new step came for S seconds (default 60)
//   --prefix P         step directories are named P_<step> (default: plain numbers)
//   --commit-file      the trainer commits with a marker file instead of a rename
//   --poll-secs S      look again at least this often without a notification (default 1)
//   --min-interval-secs S   at least this long between two evaluations (default 0)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/time/clock.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/checksum.h"

namespace {

struct Args {
  std::string root;
  cairn::FollowMode mode = cairn::FollowMode::kEveryStep;
  std::optional<int64_t> until_step;
  double timeout_secs = 60;
  double poll_secs = 1;
  double min_interval_secs = 0;
  std::string prefix;
  bool commit_file = false;
};

int Usage(const char* program) {
  std::fprintf(stderr,
               "usage: %s <root> [--mode every|newest] [--until-step N] [--timeout-secs S]\n"
               "       [--prefix P] [--commit-file] [--poll-secs S] [--min-interval-secs S]\n",
               program);
  return 2;
}

std::optional<Args> Parse(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    auto number = [&](double* out) {
      if (value == nullptr || !absl::SimpleAtod(value, out) || !(*out >= 0)) return false;
      ++i;
      return true;
    };
    if (flag == "--mode" && value != nullptr) {
      if (std::strcmp(value, "every") == 0) {
        args.mode = cairn::FollowMode::kEveryStep;
      } else if (std::strcmp(value, "newest") == 0) {
        args.mode = cairn::FollowMode::kNewest;
      } else {
        return std::nullopt;
      }
      ++i;
    } else if (flag == "--until-step") {
      int64_t step = 0;
      if (value == nullptr || !absl::SimpleAtoi(value, &step)) return std::nullopt;
      args.until_step = step;
      ++i;
    } else if (flag == "--timeout-secs") {
      if (!number(&args.timeout_secs)) return std::nullopt;
    } else if (flag == "--poll-secs") {
      if (!number(&args.poll_secs) || args.poll_secs <= 0) return std::nullopt;
    } else if (flag == "--min-interval-secs") {
      if (!number(&args.min_interval_secs)) return std::nullopt;
    } else if (flag == "--prefix" && value != nullptr) {
      args.prefix = value;
      ++i;
    } else if (flag == "--commit-file") {
      args.commit_file = true;
    } else if (!flag.empty() && flag[0] != '-' && args.root.empty()) {
      args.root = flag;
    } else {
      return std::nullopt;
    }
  }
  if (args.root.empty()) return std::nullopt;
  return args;
}

// What an evaluation reports: the number of arrays and elements, the L2 norm of the floating
// point ones, and a checksum of every array's bytes (identical steps give identical sums).
struct Summary {
  int arrays = 0;
  uint64_t elements = 0;
  double sum_of_squares = 0;
  uint64_t checksum = 0;
};

Summary Summarize(const cairn::Tree& tree) {
  Summary summary;
  tree.ForEachLeaf([&](const cairn::KeyPath&, const cairn::Tree& leaf) {
    if (leaf.kind() != cairn::Tree::Kind::kArray) return;
    const cairn::Array& array = leaf.array();
    ++summary.arrays;
    summary.elements += array.num_elements();
    if (array.dtype() == cairn::DType::kFloat32) {
      for (float v : array.values<float>()) summary.sum_of_squares += double{v} * v;
    } else if (array.dtype() == cairn::DType::kFloat64) {
      for (double v : array.values<double>()) summary.sum_of_squares += v * v;
    }
    // Order-dependent combination, so that swapped arrays change the sum.
    summary.checksum =
        summary.checksum * 0x100000001B3ull ^ cairn::Checksum64(array.data(), array.byte_size());
  });
  return summary;
}

}  // namespace

int main(int argc, char** argv) {
  const std::optional<Args> args = Parse(argc, argv);
  if (!args) return Usage(argv[0]);

  cairn::CheckpointsIteratorOptions options;
  options.mode = args->mode;
  options.name_format =
      args->prefix.empty() ? cairn::NameFormat::Plain() : cairn::NameFormat::Prefixed(args->prefix);
  options.commit_mode =
      args->commit_file ? cairn::CommitMode::kCommitFile : cairn::CommitMode::kRename;
  options.poll_interval = absl::Seconds(args->poll_secs);
  options.min_interval = absl::Seconds(args->min_interval_secs);
  options.timeout = absl::Seconds(args->timeout_secs);
  absl::StatusOr<cairn::CheckpointsIterator> it =
      cairn::CheckpointsIterator::Create(args->root, options);
  if (!it.ok()) {
    std::fprintf(stderr, "evaluate_run: %s\n", it.status().ToString().c_str());
    return 1;
  }
  const absl::Status notified = it->notification_status();
  std::printf("following %s (%s), woken by %s\n", args->root.c_str(),
              args->mode == cairn::FollowMode::kEveryStep ? "every step" : "newest step",
              notified.ok() ? "inotify" : std::string(notified.message()).c_str());
  std::fflush(stdout);

  int evaluated = 0;
  for (;;) {
    absl::StatusOr<cairn::LeasedStep> step = it->Next();
    if (!step.ok()) {
      std::fprintf(stderr, "evaluate_run: %s\n", step.status().ToString().c_str());
      return 1;
    }
    if (!step->found()) {
      std::printf("no new step for %g s: stopping after %d evaluations\n", args->timeout_secs,
                  evaluated);
      return 0;
    }
    // The lease is held until `step` goes out of scope: the trainer's retention keeps the
    // directory while it is read.
    const absl::Time start = absl::Now();
    absl::StatusOr<cairn::Tree> tree =
        cairn::Load(step->path(), cairn::Tree::AsSaved(), cairn::CheckpointableName::Auto());
    if (!tree.ok()) {
      std::fprintf(stderr, "evaluate_run: step %lld: %s\n", static_cast<long long>(step->step()),
                   tree.status().ToString().c_str());
      return 1;
    }
    const Summary summary = Summarize(*tree);
    std::printf("step %lld: %d arrays, %llu elements, l2 norm %.6g, checksum %016llx (%.1f ms)\n",
                static_cast<long long>(step->step()), summary.arrays,
                static_cast<unsigned long long>(summary.elements),
                std::sqrt(summary.sum_of_squares),
                static_cast<unsigned long long>(summary.checksum),
                absl::ToDoubleMilliseconds(absl::Now() - start));
    std::fflush(stdout);
    ++evaluated;
    if (args->until_step && step->step() >= *args->until_step) {
      std::printf("reached step %lld: stopping after %d evaluations\n",
                  static_cast<long long>(*args->until_step), evaluated);
      return 0;
    }
  }
}
