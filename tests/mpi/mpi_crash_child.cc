// The ranks of a job that tests/mpi/mpi_crash_test.sh kills and restarts: a rank that dies with
// SIGKILL mid-save (its own data, or the primary's commit), a job killed at random moments of a
// training loop, and the restarted job that checks what it finds. Each rank's state is a pure
// function of the step, so a resumed job checks every value it loads.
//
// Usage (under mpirun):
//   mpi_crash_child save-and-die <root> <victim rank> <data|commit> <results dir>
//     Saves step 1, then step 2, during which the victim raises SIGKILL: when it opens its
//     data file (data) or just before the primary's commit rename (commit). The survivors
//     check that the save failed within the deadline and that only step 1 is visible, and
//     write "PASS" or the failure to <results dir>/rank<r>.
//   mpi_crash_child train <root>
//     Saves every step from the latest one on, until killed.
//   mpi_crash_child resume <root> <results dir>
//     Checks the latest step (each rank its own region; the primary every step whole), saves
//     three more steps, and checks that no temporaries are left; writes as save-and-die.
#include <mpi.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/step_listing.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "cairn/utils/mpi/mpi_coordinator.h"

namespace cairn {
namespace {

constexpr int64_t kRows = 301;
constexpr int64_t kCols = 256;
constexpr absl::Duration kDeadline = absl::Seconds(4);

float W(int64_t step, int64_t r, int64_t c) {
  return static_cast<float>((step * 7919 + r * kCols + c) % 1000003) * 0.5f;
}

Array WRows(int64_t step, int64_t begin, int64_t end) {
  std::vector<float> values;
  values.reserve((end - begin) * kCols);
  for (int64_t r = begin; r < end; ++r) {
    for (int64_t c = 0; c < kCols; ++c) values.push_back(W(step, r, c));
  }
  return Array::FromValues(values, {end - begin, kCols});
}

int64_t Begin(int rank, int ranks) { return kRows * rank / ranks; }

Tree PiecesOf(int64_t step, int rank, int ranks) {
  Array w = WRows(step, Begin(rank, ranks), Begin(rank + 1, ranks));
  w.set_placement(ShardPlacement{{kRows, kCols}, {Begin(rank, ranks), 0}});
  Array scale = WRows(step, 0, 1);
  scale.set_placement(ShardPlacement{{1, kCols}, {0, 0}, rank, ranks});
  Tree tree = Tree::Dict();
  tree.Set("w", Tree::FromArray(std::move(w)));
  tree.Set("scale", Tree::FromArray(std::move(scale)));
  tree.Set("step", Tree::Int(step));
  return tree;
}

// Raises SIGKILL at one moment of step 2's save.
class DyingFilesystem final : public ForwardingFilesystem {
 public:
  DyingFilesystem(Filesystem* inner, std::string where)
      : ForwardingFilesystem(inner), where_(std::move(where)) {}

  absl::StatusOr<std::unique_ptr<WritableFile>> NewWritableFile(const std::string& path) override {
    if (where_ == "data" && absl::StrContains(path, "/2.cairn-tmp.") &&
        absl::StrContains(path, kTreeDataDirName)) {
      raise(SIGKILL);
    }
    return ForwardingFilesystem::NewWritableFile(path);
  }
  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (where_ == "commit" && absl::EndsWith(to, "/2")) raise(SIGKILL);
    return ForwardingFilesystem::Rename(from, to);
  }

 private:
  const std::string where_;
};

struct Job {
  int rank = 0;
  int ranks = 1;
  std::unique_ptr<MpiCoordinator> coordinator;
};

void Report(const std::string& results, int rank, const std::string& verdict) {
  const std::string path = absl::StrCat(results, "/rank", rank);
  if (FILE* f = std::fopen(path.c_str(), "w")) {
    std::fprintf(f, "%s\n", verdict.c_str());
    std::fclose(f);
  }
  std::fprintf(stderr, "rank %d: %s\n", rank, verdict.c_str());
}

CheckpointerOptions OptionsFor(Job& job) {
  CheckpointerOptions options;
  options.coordinator = job.coordinator.get();
  options.max_to_keep = 3;
  return options;
}

// Returns the verdict of a survivor.
std::string SaveAndDie(Job& job, const std::string& root, int victim, const std::string& where) {
  DyingFilesystem dying(Filesystem::Default(), where);
  CheckpointerOptions options = OptionsFor(job);
  if (job.rank == victim) options.filesystem = &dying;
  auto checkpointer = Checkpointer::Create(root, options);
  if (!checkpointer.ok()) return absl::StrCat("FAIL open: ", checkpointer.status().ToString());
  absl::StatusOr<bool> first = (*checkpointer)->Save(1, PiecesOf(1, job.rank, job.ranks));
  if (!first.ok()) return absl::StrCat("FAIL step 1: ", first.status().ToString());
  const absl::Time start = absl::Now();
  absl::StatusOr<bool> second = (*checkpointer)->Save(2, PiecesOf(2, job.rank, job.ranks));
  const absl::Duration took = absl::Now() - start;
  if (second.ok()) return "FAIL step 2 was saved although a rank died";
  if (!absl::IsDeadlineExceeded(second.status())) {
    return absl::StrCat("FAIL step 2 failed otherwise: ", second.status().ToString());
  }
  absl::StatusOr<std::vector<int64_t>> listed = ListSteps(root);
  if (!listed.ok() || *listed != std::vector<int64_t>{1}) {
    return absl::StrCat(
        "FAIL the steps visible are not {1}: ",
        listed.ok() ? absl::StrCat(listed->size(), " steps") : listed.status().ToString());
  }
  return absl::StrCat("PASS step 2 failed after ", absl::FormatDuration(took), ": ",
                      second.status().message().substr(0, 160));
}

int Train(Job& job, const std::string& root) {
  auto checkpointer = Checkpointer::Create(root, OptionsFor(job));
  if (!checkpointer.ok()) {
    std::fprintf(stderr, "rank %d: %s\n", job.rank, checkpointer.status().ToString().c_str());
    return 1;
  }
  for (int64_t step = (*checkpointer)->LatestStep().value_or(0) + 1;; ++step) {
    absl::StatusOr<SaveFuture> future =
        (*checkpointer)->SaveAsync(step, PiecesOf(step, job.rank, job.ranks));
    if (!future.ok()) {
      std::fprintf(stderr, "rank %d: %s\n", job.rank, future.status().ToString().c_str());
      return 1;
    }
  }
}

std::string Resume(Job& job, const std::string& root) {
  auto checkpointer = Checkpointer::Create(root, OptionsFor(job));
  if (!checkpointer.ok()) return absl::StrCat("FAIL open: ", checkpointer.status().ToString());
  const std::optional<int64_t> latest = (*checkpointer)->LatestStep();
  if (!latest) return "FAIL no committed step to resume from";
  const int64_t begin = Begin(job.rank, job.ranks);
  const int64_t end = Begin(job.rank + 1, job.ranks);
  ArraySpec region;
  region.shape = Shape{end - begin, kCols};
  region.origin = Shape{begin, 0};
  Tree abstract = Tree::Dict();
  abstract.Set("w", Tree::Spec(region));
  abstract.Set("scale", Tree::AsSaved());
  abstract.Set("step", Tree::AsSaved());
  absl::StatusOr<Tree> mine = (*checkpointer)->Load(*latest, abstract);
  if (!mine.ok()) return absl::StrCat("FAIL load ", *latest, ": ", mine.status().ToString());
  if (!mine->Find("w")->array().ContentEquals(WRows(*latest, begin, end)) ||
      !mine->Find("scale")->array().ContentEquals(WRows(*latest, 0, 1)) ||
      mine->Find("step")->int_value() != *latest) {
    return absl::StrCat("FAIL step ", *latest, " does not hold its values");
  }
  if (job.rank == 0) {
    // The open's retention pass may retire steps the killed job left beyond max_to_keep.
    absl::Status settled = (*checkpointer)->WaitUntilFinished();
    if (!settled.ok()) return absl::StrCat("FAIL open's background work: ", settled.ToString());
    for (int64_t step : (*checkpointer)->AllSteps()) {
      absl::StatusOr<Tree> whole = (*checkpointer)->Load(step);
      if (!whole.ok()) return absl::StrCat("FAIL load ", step, ": ", whole.status().ToString());
      if (!whole->Find("w")->array().ContentEquals(WRows(step, 0, kRows))) {
        return absl::StrCat("FAIL step ", step, " does not hold its values");
      }
    }
  }
  for (int64_t step = *latest + 1; step <= *latest + 3; ++step) {
    absl::StatusOr<bool> saved = (*checkpointer)->Save(step, PiecesOf(step, job.rank, job.ranks));
    if (!saved.ok()) return absl::StrCat("FAIL save ", step, ": ", saved.status().ToString());
  }
  absl::Status closed = (*checkpointer)->Close();
  if (!closed.ok()) return absl::StrCat("FAIL close: ", closed.ToString());
  if (job.rank == 0) {
    // What the killed job left is recognisably stale. (The open's own cleanup may have run
    // while a killed rank was still being reaped, when its pid still counted as alive.)
    absl::StatusOr<int> cleaned = CleanupStaleTemporaries(root);
    if (!cleaned.ok()) return absl::StrCat("FAIL cleanup: ", cleaned.status().ToString());
    for (const auto& entry : std::filesystem::directory_iterator(root)) {
      const std::string name = entry.path().filename().string();
      int64_t step = 0;
      if (!absl::SimpleAtoi(name, &step)) {
        std::string status;
        std::optional<TemporaryName> temporary = ParseTemporaryName(name);
        if (temporary) {
          FILE* f = std::fopen(absl::StrCat("/proc/", temporary->pid, "/status").c_str(), "r");
          char line[256];
          for (int i = 0; f && i < 3 && std::fgets(line, sizeof line, f); ++i) status += line;
          if (f) std::fclose(f);
        }
        return absl::StrCat("FAIL left behind: ", name, " (me ", getpid(), ", writer: ", status,
                            ")");
      }
    }
  }
  return absl::StrCat("PASS resumed from step ", *latest, " on ", job.ranks, " ranks");
}

}  // namespace
}  // namespace cairn

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  cairn::Job job;
  MPI_Comm_rank(MPI_COMM_WORLD, &job.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &job.ranks);
  cairn::MpiCoordinatorOptions options;
  options.deadline = cairn::kDeadline;
  absl::StatusOr<std::unique_ptr<cairn::MpiCoordinator>> coordinator =
      cairn::MpiCoordinator::Create(MPI_COMM_WORLD, options);
  if (!coordinator.ok() || argc < 3) {
    std::fprintf(stderr, "usage: see the file's header (%s)\n",
                 coordinator.status().ToString().c_str());
    return 2;
  }
  job.coordinator = *std::move(coordinator);
  const std::string mode = argv[1];
  const std::string root = argv[2];
  if (mode == "save-and-die" && argc == 6) {
    const int victim = std::atoi(argv[3]);
    const std::string verdict = cairn::SaveAndDie(job, root, victim, argv[4]);
    cairn::Report(argv[5], job.rank, verdict);
    // A rank died: MPI_Finalize could wait for it forever.
    _exit(0);
  }
  if (mode == "train") return cairn::Train(job, root);
  if (mode == "resume" && argc == 4) {
    const std::string verdict = cairn::Resume(job, root);
    cairn::Report(argv[3], job.rank, verdict);
    job.coordinator.reset();
    MPI_Finalize();
    return verdict.rfind("PASS", 0) == 0 ? 0 : 1;
  }
  std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
  return 2;
}
