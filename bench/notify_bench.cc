// Latency from commit to yield: one process commits 200 steps (cairn::Save, renamed into place)
// while a forked process follows the root with CheckpointsIterator in every-step mode. Run once
// woken by inotify and once polling every second (Orbax's default seconds_to_sleep), the
// baseline. The commit instant is stamped just before the rename that publishes the step (by a
// Filesystem wrapper), so the figure is the follower's wake-up, listing and lease; store fsyncs
// are off so that the writer keeps its pace.
//
// Usage: notify_bench [steps]
// Last line: notify_latency_p50_ms=<ms> notify_latency_p99_ms=<ms> poll_latency_p50_ms=<ms>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "bench/bench_util.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/forwarding_filesystem.h"

namespace {

constexpr int kDefaultSteps = 200;
// The writer's pace: the follower is idle when a step lands, as an evaluator between steps is.
constexpr absl::Duration kPace = absl::Milliseconds(15);

struct Shared {
  int64_t commit_nanos[1024];
  int64_t yield_nanos[1024];
};

// The POSIX filesystem, stamping the time just before each rename into `*stamp_target`.
class RenameStampingFilesystem : public cairn::ForwardingFilesystem {
 public:
  RenameStampingFilesystem() : ForwardingFilesystem(cairn::Filesystem::Default()) {}

  int64_t* stamp_target = nullptr;

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (stamp_target != nullptr) *stamp_target = absl::ToUnixNanos(absl::Now());
    return ForwardingFilesystem::Rename(from, to);
  }
};

double Percentile(std::vector<double> values, double fraction) {
  std::sort(values.begin(), values.end());
  const size_t rank = static_cast<size_t>(std::ceil(fraction * values.size()));
  return values[std::min(values.size() - 1, rank == 0 ? 0 : rank - 1)];
}

cairn::Tree State(int64_t step) {
  cairn::Array params = cairn::Array::Allocate(cairn::DType::kFloat32, {256, 256}).value();
  cairn::bench::FillRandom(params.mutable_data(), params.byte_size(), step);
  cairn::Tree tree = cairn::Tree::Dict();
  tree.Set("params", cairn::Tree::FromArray(std::move(params)));
  tree.Set("step", cairn::Tree::Int(step));
  return tree;
}

// The follower: yields every step, stamps when it got each, releases it. Exits 0 when all came.
[[noreturn]] void Follow(const std::string& root, int steps, bool notify, Shared* shared,
                         int ready_fd) {
  cairn::CheckpointsIteratorOptions options;
  options.mode = cairn::FollowMode::kEveryStep;
  options.watch_mode = notify ? cairn::WatchMode::kAuto : cairn::WatchMode::kPoll;
  options.poll_interval = absl::Seconds(1);
  options.timeout = absl::Seconds(30);
  absl::StatusOr<cairn::CheckpointsIterator> it = cairn::CheckpointsIterator::Create(root, options);
  if (!it.ok()) {
    std::fprintf(stderr, "follower: %s\n", it.status().ToString().c_str());
    _exit(1);
  }
  if (notify && !it->notification_status().ok()) {
    std::fprintf(stderr, "follower: not notified: %s\n",
                 it->notification_status().ToString().c_str());
  }
  const char ready = 1;
  if (write(ready_fd, &ready, 1) != 1) _exit(1);
  close(ready_fd);
  for (int got = 0; got < steps;) {
    absl::StatusOr<cairn::LeasedStep> step = it->Next();
    const int64_t now = absl::ToUnixNanos(absl::Now());
    if (!step.ok() || !step->found()) {
      std::fprintf(stderr, "follower: %s\n",
                   step.ok() ? "timed out" : step.status().ToString().c_str());
      _exit(1);
    }
    if (step->step() >= 0 && step->step() < steps) shared->yield_nanos[step->step()] = now;
    got = static_cast<int>(step->step()) + 1;
  }
  _exit(0);
}

// Milliseconds from each step's commit to its yield; empty on failure.
std::vector<double> Run(int steps, bool notify) {
  cairn::bench::ScratchDir scratch;
  const std::string root = scratch.path() + "/run";
  auto* shared = static_cast<Shared*>(
      mmap(nullptr, sizeof(Shared), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0));
  if (shared == MAP_FAILED) return {};
  std::fill(std::begin(shared->yield_nanos), std::end(shared->yield_nanos), -1);
  int ready[2];
  if (pipe(ready) != 0) return {};
  const pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    Follow(root, steps, notify, shared, ready[1]);
  }
  close(ready[1]);
  char byte = 0;
  const bool follower_ready = read(ready[0], &byte, 1) == 1;
  close(ready[0]);

  RenameStampingFilesystem stamping;
  cairn::CheckpointOptions save;
  save.store_save.sync = false;
  save.filesystem = &stamping;
  bool saved = follower_ready;
  for (int step = 0; saved && step < steps; ++step) {
    const cairn::Tree state = State(step);
    stamping.stamp_target = &shared->commit_nanos[step];
    const absl::Status status =
        cairn::Save(cairn::StepPath(root, step, *cairn::NameFormat::Plain()), state, save);
    if (!status.ok()) {
      std::fprintf(stderr, "save %d: %s\n", step, status.ToString().c_str());
      saved = false;
    }
    absl::SleepFor(kPace);
  }
  int wait_status = 0;
  waitpid(child, &wait_status, 0);
  std::vector<double> latencies;
  if (saved && WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0) {
    for (int step = 0; step < steps; ++step) {
      if (shared->yield_nanos[step] < 0) continue;
      latencies.push_back((shared->yield_nanos[step] - shared->commit_nanos[step]) / 1e6);
    }
  }
  munmap(shared, sizeof(Shared));
  return latencies;
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::clamp(std::atoi(argv[1]), 10, 1024) : kDefaultSteps;
  std::printf("commit-to-yield latency, %d steps of a 256 KiB state, one step every %s\n", steps,
              absl::FormatDuration(kPace).c_str());
  const std::vector<double> notified = Run(steps, /*notify=*/true);
  if (notified.empty()) {
    std::fprintf(stderr, "the notified run failed\n");
    return 1;
  }
  std::printf("inotify: %zu steps yielded, p50 %.3f ms, p99 %.3f ms, max %.3f ms\n",
              notified.size(), Percentile(notified, 0.5), Percentile(notified, 0.99),
              Percentile(notified, 1.0));
  const std::vector<double> polled = Run(steps, /*notify=*/false);
  if (polled.empty()) {
    std::fprintf(stderr, "the polled run failed\n");
    return 1;
  }
  std::printf("polling every 1 s: %zu steps yielded, p50 %.1f ms, p99 %.1f ms\n", polled.size(),
              Percentile(polled, 0.5), Percentile(polled, 0.99));
  std::printf("notify_latency_p50_ms=%.3f notify_latency_p99_ms=%.3f poll_latency_p50_ms=%.1f\n",
              Percentile(notified, 0.5), Percentile(notified, 0.99), Percentile(polled, 0.5));
  return 0;
}
