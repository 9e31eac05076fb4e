// Crash consistency: a training loop (async saves, retention keeping three steps, a pytree and a
// JSON checkpointable) is killed with SIGKILL at random moments, again and again on one root,
// each run resuming where the killed one left off. After every kill a new Checkpointer must list
// only steps that load bit for bit, its latest step must be one a killed loop had started and
// never older than the one before, no temporary may survive its start-up cleanup, and a new save
// must work.
//
// The same loop, run on the in-memory filesystem, has its power cut at a random filesystem
// operation: everything not yet synced is dropped. That checks the order of the fsyncs, which a
// SIGKILL (the page cache survives it) cannot.
//
// CAIRN_CRASH_KILLS sets the number of kills and of power cuts (default 100 each);
// CAIRN_CRASH_SEED the random seed.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <random>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using testing::EntryNames;
using testing::IsStateAt;
using testing::OpenCheckpointer;
using testing::StateAt;
using testing::TempDir;

int64_t EnvOr(const char* name, int64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr ? std::strtoll(value, nullptr, 10) : fallback;
}

Checkpointables ItemsAt(int64_t step) {
  Checkpointables items;
  items.emplace("state", StateAt(step));
  items.emplace("meta", nlohmann::json{{"step", step}});
  return items;
}

CheckpointerOptions Options() {
  CheckpointerOptions options;
  options.max_to_keep = 3;
  return options;
}

// Starts the training loop on `root`; its progress (each step it starts) comes on *progress.
pid_t StartChild(const std::string& root, int* progress) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return -1;
  const pid_t child = ::fork();
  if (child == 0) {
    // The progress pipe becomes fd 3, open across exec (dup2 clears close-on-exec on its copy).
    if (fds[1] == 3) {
      ::fcntl(3, F_SETFD, 0);
    } else {
      ::dup2(fds[1], 3);
    }
    ::execl(CAIRN_TRAINING_CHILD, "training_child", root.c_str(), "3", nullptr);
    ::_exit(127);
  }
  ::close(fds[1]);
  *progress = fds[0];
  return child;
}

// Every step number the child reported, read until the pipe closes (the child is dead).
std::set<int64_t> ReadProgress(int fd) {
  std::set<int64_t> steps;
  int64_t step = 0;
  while (::read(fd, &step, sizeof(step)) == static_cast<ssize_t>(sizeof(step))) steps.insert(step);
  ::close(fd);
  return steps;
}

TEST(CrashConsistency, KilledTrainingLoopsLoseNoCommittedStep) {
  const int64_t kills = EnvOr("CAIRN_CRASH_KILLS", 100);
  const int64_t seed = EnvOr("CAIRN_CRASH_SEED", 20261123);
  std::mt19937_64 random(static_cast<uint64_t>(seed));
  // Kill moments spread from before the first save to a few dozen saves in.
  std::uniform_int_distribution<int> delay_us(1'000, 60'000);
  TempDir tmp;
  const std::string root = tmp.Join("run");
  std::set<int64_t> started;
  std::optional<int64_t> latest_before;
  int64_t steps_checked = 0;

  for (int64_t kill = 0; kill < kills; ++kill) {
    const std::string context = absl::StrCat("kill ", kill, " (seed ", seed, ")");
    int progress = -1;
    const pid_t child = StartChild(root, &progress);
    ASSERT_GT(child, 0) << context;
    // The moment of the kill is this test's input, drawn at random; nothing waits on it.
    absl::SleepFor(absl::Microseconds(delay_us(random)));
    ASSERT_EQ(::kill(child, SIGKILL), 0) << context;
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child) << context;
    ASSERT_TRUE(WIFSIGNALED(status))
        << context << ": the loop stopped by itself, exit code " << WEXITSTATUS(status);
    const std::set<int64_t> reported = ReadProgress(progress);
    started.insert(reported.begin(), reported.end());

    auto ckpt = OpenCheckpointer(root, Options());
    ASSERT_NE(ckpt, nullptr) << context;
    // Start-up cleanup removes the dead loop's temporaries, and its retention pass the steps
    // the loop was killed before retiring: only steps remain in the root.
    ASSERT_TRUE(ckpt->WaitUntilFinished().ok()) << context;
    const std::vector<int64_t> steps = ckpt->AllSteps();
    EXPECT_LE(steps.size(), 3u) << context;
    for (int64_t step : steps) {
      absl::StatusOr<Tree> state =
          ckpt->Load(step, Tree::AsSaved(), CheckpointableName::Named("state"));
      ASSERT_TRUE(state.ok()) << context << ": step " << step << ": " << state.status();
      EXPECT_TRUE(IsStateAt(*state, step)) << context << ": step " << step;
      std::map<std::string, LoadRequest> meta;
      meta.emplace("meta", std::nullopt);
      absl::StatusOr<Checkpointables> loaded = ckpt->LoadCheckpointables(step, meta);
      ASSERT_TRUE(loaded.ok()) << context << ": step " << step << ": " << loaded.status();
      EXPECT_EQ(std::get<nlohmann::json>(loaded->at("meta"))["step"], step) << context;
      ++steps_checked;
    }
    if (latest_before) {
      ASSERT_FALSE(steps.empty()) << context << ": every step is gone";
      EXPECT_GE(steps.back(), *latest_before) << context << ": the latest step went back";
    }
    if (!steps.empty()) {
      EXPECT_EQ(started.count(steps.back()), 1u)
          << context << ": step " << steps.back() << " was never started";
    }
    for (const std::string& name : EntryNames(root)) {
      EXPECT_TRUE(NameFormat::Plain()->Parse(name).has_value()) << context << ": " << name;
    }
    const int64_t next = steps.empty() ? 0 : steps.back() + 1;
    ASSERT_TRUE(ckpt->Save(next, ItemsAt(next)).value_or(false)) << context;
    started.insert(next);
    latest_before = next;
    ASSERT_TRUE(ckpt->Close().ok()) << context;
  }
  // Shown with the test's output, for the record of a long run.
  ::testing::Test::RecordProperty("kills", static_cast<int>(kills));
  ::testing::Test::RecordProperty("steps_started", static_cast<int>(started.size()));
  ::testing::Test::RecordProperty("steps_verified", static_cast<int>(steps_checked));
  std::printf("%lld kills survived; %zu steps started, %lld step loads verified bit for bit\n",
              static_cast<long long>(kills), started.size(), static_cast<long long>(steps_checked));
}

// Checks a root after a crash as a restarted trainer would, and saves the next step: every
// listed step loads as saved, and the latest is at least `acknowledged` (a step whose save was
// reported committed). Returns the step saved.
int64_t CheckAfterCrash(Checkpointer& ckpt, std::optional<int64_t> acknowledged,
                        const std::string& context) {
  const std::vector<int64_t> steps = ckpt.AllSteps();
  for (int64_t step : steps) {
    absl::StatusOr<Tree> state =
        ckpt.Load(step, Tree::AsSaved(), CheckpointableName::Named("state"));
    EXPECT_TRUE(state.ok()) << context << ": step " << step << ": " << state.status();
    if (state.ok()) EXPECT_TRUE(IsStateAt(*state, step)) << context << ": step " << step;
  }
  if (acknowledged) {
    EXPECT_FALSE(steps.empty()) << context << ": every step is gone";
    if (!steps.empty()) EXPECT_GE(steps.back(), *acknowledged) << context;
  }
  const int64_t next = steps.empty() ? 0 : steps.back() + 1;
  EXPECT_TRUE(ckpt.Save(next, ItemsAt(next)).value_or(false)) << context;
  return next;
}

TEST(CrashConsistency, PowerLossAtARandomPointLosesNoAcknowledgedStep) {
  const int64_t cuts = EnvOr("CAIRN_CRASH_KILLS", 100);
  const int64_t seed = EnvOr("CAIRN_CRASH_SEED", 20261123);
  std::mt19937_64 random(static_cast<uint64_t>(seed));
  constexpr int64_t kStepsPerRun = 6;
  // About the mutations of kStepsPerRun saves with retention: cuts land anywhere in the run.
  std::uniform_int_distribution<int> cut_at(0, 60 * kStepsPerRun);
  MemoryFilesystem memory;
  std::optional<int64_t> acknowledged;
  for (int64_t cut = 0; cut < cuts; ++cut) {
    const std::string context = absl::StrCat("power cut ", cut, " (seed ", seed, ")");
    {
      FaultInjectionFilesystem faults(&memory);
      CheckpointerOptions options = Options();
      options.filesystem = &faults;
      auto ckpt = OpenCheckpointer("/run", options);
      ASSERT_NE(ckpt, nullptr) << context;
      // From this operation on the machine is dead: nothing more reaches the disk.
      faults.FailAllMutationsFrom(cut_at(random), IoError());
      const int64_t first = ckpt->LatestStep() ? *ckpt->LatestStep() + 1 : 0;
      std::vector<SaveFuture> futures;
      for (int64_t step = first; step < first + kStepsPerRun; ++step) {
        absl::StatusOr<SaveFuture> future = ckpt->SaveAsync(step, ItemsAt(step));
        if (!future.ok()) break;  // an earlier save failed: the loop would stop here
        futures.push_back(*future);
      }
      for (const SaveFuture& future : futures) {
        if (future.Wait().ok()) acknowledged = std::max(acknowledged.value_or(0), future.step());
      }
      ckpt->Close().IgnoreError();
    }
    memory.SimulatePowerLoss();
    CheckpointerOptions options = Options();
    options.filesystem = &memory;
    auto ckpt = OpenCheckpointer("/run", options);
    ASSERT_NE(ckpt, nullptr) << context;
    ASSERT_TRUE(ckpt->WaitUntilFinished().ok()) << context;  // start-up cleanup and retention
    acknowledged = CheckAfterCrash(*ckpt, acknowledged, context);
    ASSERT_TRUE(ckpt->Close().ok()) << context;
    if (::testing::Test::HasFailure()) return;
  }
  std::printf("%lld power cuts survived; the run reached step %lld\n", static_cast<long long>(cuts),
              static_cast<long long>(acknowledged.value_or(-1)));
}

}  // namespace
}  // namespace cairn
