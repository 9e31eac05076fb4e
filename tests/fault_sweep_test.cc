// Every filesystem operation of a save, a load, a retention pass and a lease, failed in turn
// with each error a disk gives (ENOSPC, EIO, EACCES, and a short write on a full disk): the
// operation returns that error, no partial step ever becomes visible, every earlier step still
// loads bit for bit, nothing is left behind once a new Checkpointer has cleaned up, and the same
// operation works again once the fault is gone. The operations are counted in a fault-free run
// and each one is failed in a run of its own, rather than a few picked by hand.
#include <array>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/step_deletion.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using ::testing::Contains;
using testing::DataIterator;
using ::testing::ElementsAreArray;
using testing::IsStateAt;
using ::testing::Not;
using testing::StateAt;

constexpr char kRoot[] = "/run";

// One injected fault: the n-th operation of kind `op` fails with `error`, or, for a short
// write, writes half its bytes and reports a full disk.
struct Fault {
  FaultOp op;
  int n;
  absl::Status error;
  bool short_write = false;

  void Arm(FaultInjectionFilesystem& faults) const {
    if (short_write) {
      faults.ShortWriteNth(n);
    } else {
      faults.FailNth(op, n, error);
    }
  }
  absl::StatusCode code() const {
    return short_write ? absl::StatusCode::kResourceExhausted : error.code();
  }
  std::string Describe() const {
    return absl::StrCat(short_write ? "short write" : error.ToString(), " at ", FaultOpName(op),
                        " #", n);
  }
};

using OpCounts = std::array<int64_t, kNumFaultOps>;

OpCounts CountsOf(const FaultInjectionFilesystem& faults) {
  OpCounts counts;
  for (int op = 0; op < kNumFaultOps; ++op) counts[op] = faults.Count(static_cast<FaultOp>(op));
  return counts;
}

// Every fault a run that made `counts` operations can meet: each operation with each error,
// and each write cut short.
std::vector<Fault> EveryFault(const OpCounts& counts) {
  std::vector<Fault> faults;
  for (int op = 0; op < kNumFaultOps; ++op) {
    for (int n = 0; n < counts[op]; ++n) {
      for (absl::Status error : {NoSpaceError(), IoError(), PermissionError()}) {
        faults.push_back({static_cast<FaultOp>(op), n, error});
      }
      if (static_cast<FaultOp>(op) == FaultOp::kWrite) {
        faults.push_back({FaultOp::kWrite, n, absl::OkStatus(), /*short_write=*/true});
      }
    }
  }
  return faults;
}

// What a step holds in these tests: the training state, a JSON document and a data iterator.
Checkpointables ItemsAt(int64_t step) {
  Checkpointables items;
  items.emplace("state", StateAt(step));
  items.emplace("meta", nlohmann::json{{"step", step}});
  items.emplace("iterator", std::make_shared<DataIterator>(step * 10));
  return items;
}

// Whether `step` loads from `ckpt` as ItemsAt(step), every item bit for bit.
::testing::AssertionResult LoadsAsSaved(const Checkpointer& ckpt, int64_t step) {
  auto iterator = std::make_shared<DataIterator>();
  absl::StatusOr<Checkpointables> loaded = ckpt.LoadCheckpointables(
      step, {{"state", std::nullopt}, {"meta", std::nullopt}, {"iterator", iterator}});
  if (!loaded.ok()) {
    return ::testing::AssertionFailure() << "step " << step << ": " << loaded.status();
  }
  const Tree* state = std::get_if<Tree>(&loaded->at("state"));
  if (state == nullptr || !IsStateAt(*state, step)) {
    return ::testing::AssertionFailure() << "step " << step << ": the state differs";
  }
  const nlohmann::json* meta = std::get_if<nlohmann::json>(&loaded->at("meta"));
  if (meta == nullptr || *meta != nlohmann::json{{"step", step}}) {
    return ::testing::AssertionFailure() << "step " << step << ": the JSON item differs";
  }
  if (iterator->position() != step * 10) {
    return ::testing::AssertionFailure() << "step " << step << ": the iterator position differs";
  }
  return ::testing::AssertionSuccess();
}

// A Checkpointer on `fs` whose start-up work (cleaning up stale temporaries) is done, so that
// what follows is the only thing touching the filesystem.
std::unique_ptr<Checkpointer> OpenSettled(Filesystem* fs, int max_to_keep = 0,
                                          bool read_only = false) {
  CheckpointerOptions options;
  options.filesystem = fs;
  options.read_only = read_only;
  if (max_to_keep > 0) options.max_to_keep = max_to_keep;
  std::unique_ptr<Checkpointer> ckpt = testing::OpenCheckpointer(kRoot, options);
  if (ckpt != nullptr) EXPECT_TRUE(ckpt->WaitUntilFinished().ok());
  return ckpt;
}

// A root holding steps 1 to `last`.
void SaveSteps(MemoryFilesystem& memory, int64_t last) {
  std::unique_ptr<Checkpointer> ckpt = OpenSettled(&memory);
  for (int64_t step = 1; step <= last; ++step) {
    ASSERT_TRUE(ckpt->Save(step, ItemsAt(step)).value_or(false)) << step;
  }
  ASSERT_TRUE(ckpt->Close().ok());
}

// The names in the root: after a new Checkpointer's start-up cleanup, exactly its steps.
std::vector<std::string> RootEntries(MemoryFilesystem& memory) {
  std::vector<std::string> names = memory.ListDir(kRoot).value_or(std::vector<std::string>{});
  std::sort(names.begin(), names.end());
  return names;
}

std::vector<std::string> Names(const std::vector<int64_t>& steps) {
  std::vector<std::string> names;
  for (int64_t step : steps) names.push_back(absl::StrCat(step));
  std::sort(names.begin(), names.end());
  return names;
}

// A failed operation reports the injected error's code, and says where.
void ExpectInjectedError(const absl::Status& status, const Fault& fault,
                         const std::string& context) {
  EXPECT_EQ(status.code(), fault.code()) << context << ": " << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(kRoot)) << context;
}

// Runs `scenario` once without faults to count its operations, then once per fault of
// EveryFault; prints how many faults were injected.
template <typename Setup, typename Scenario>
void Sweep(const std::string& name, Setup setup, Scenario scenario) {
  OpCounts counts;
  {
    MemoryFilesystem memory;
    setup(memory);
    FaultInjectionFilesystem faults(&memory);
    scenario(memory, faults, nullptr);
    counts = CountsOf(faults);
  }
  const std::vector<Fault> all = EveryFault(counts);
  ASSERT_GT(all.size(), 10u) << name << " made too few operations to sweep";
  for (const Fault& fault : all) {
    MemoryFilesystem memory;
    setup(memory);
    FaultInjectionFilesystem faults(&memory);
    scenario(memory, faults, &fault);
    if (::testing::Test::HasFatalFailure()) return;
  }
  std::cout << name << ": " << all.size() << " faults injected" << std::endl;
}

// A Checkpointer saves step 3 (a pytree, a JSON document and a stateful object) onto a root
// holding steps 1 and 2.
TEST(FaultSweep, EveryOperationOfASave) {
  Sweep(
      "save", [](MemoryFilesystem& memory) { SaveSteps(memory, 2); },
      [](MemoryFilesystem& memory, FaultInjectionFilesystem& faults, const Fault* fault) {
        const std::string context = fault ? fault->Describe() : "no fault";
        std::unique_ptr<Checkpointer> ckpt = OpenSettled(&faults);
        faults.ResetCounts();
        if (fault) fault->Arm(faults);
        absl::StatusOr<bool> saved = ckpt->Save(3, ItemsAt(3));
        const absl::Status finished = ckpt->WaitUntilFinished();
        const bool acknowledged = saved.ok() && *saved;
        if (fault == nullptr) ASSERT_TRUE(acknowledged) << saved.status();
        if (!saved.ok()) {
          ExpectInjectedError(saved.status(), *fault, context);
          EXPECT_THAT(ckpt->AllSteps(), Not(Contains(3))) << context;
        }
        EXPECT_TRUE(finished.ok()) << context << ": " << finished;
        ckpt.reset();
        faults.Clear();

        std::unique_ptr<Checkpointer> next = OpenSettled(&memory);
        std::vector<int64_t> expected = {1, 2};
        if (acknowledged) expected.push_back(3);
        EXPECT_THAT(next->AllSteps(), ElementsAreArray(expected)) << context;
        for (int64_t step : next->AllSteps()) EXPECT_TRUE(LoadsAsSaved(*next, step)) << context;
        EXPECT_THAT(RootEntries(memory), ElementsAreArray(Names(expected))) << context;
        ASSERT_TRUE(next->Save(4, ItemsAt(4)).value_or(false)) << context;
        EXPECT_TRUE(LoadsAsSaved(*next, 4)) << context;
      });
}

// A Checkpointer keeping two steps saves step 4 onto a root holding steps 1 to 3: the save, its
// commit and the retention pass that then deletes steps 1 and 2.
TEST(FaultSweep, EveryOperationOfASaveAndItsRetentionPass) {
  Sweep(
      "save and retention", [](MemoryFilesystem& memory) { SaveSteps(memory, 3); },
      [](MemoryFilesystem& memory, FaultInjectionFilesystem& faults, const Fault* fault) {
        const std::string context = fault ? fault->Describe() : "no fault";
        std::unique_ptr<Checkpointer> ckpt = OpenSettled(&faults, /*max_to_keep=*/2);
        faults.ResetCounts();
        if (fault) fault->Arm(faults);
        absl::StatusOr<bool> saved = ckpt->Save(4, ItemsAt(4));
        const absl::Status retention = ckpt->WaitUntilFinished();
        const bool acknowledged = saved.ok() && *saved;
        if (fault == nullptr) {
          ASSERT_TRUE(acknowledged) << saved.status();
          ASSERT_TRUE(retention.ok()) << retention;
          ASSERT_THAT(ckpt->AllSteps(), ElementsAreArray({3, 4}));
        }
        if (!saved.ok()) ExpectInjectedError(saved.status(), *fault, context);
        if (!retention.ok()) ExpectInjectedError(retention, *fault, context);
        ckpt.reset();
        faults.Clear();

        // Whatever the pass got to, the steps it kept load, the newest two are among them, and
        // the next pass finishes the job without leaving anything behind.
        std::unique_ptr<Checkpointer> next = OpenSettled(&memory, /*max_to_keep=*/2);
        const std::vector<int64_t> listed = next->AllSteps();
        EXPECT_THAT(listed, Contains(3)) << context;
        if (acknowledged) EXPECT_THAT(listed, Contains(4)) << context;
        for (int64_t step : listed) EXPECT_TRUE(LoadsAsSaved(*next, step)) << context;
        ASSERT_TRUE(next->Save(5, ItemsAt(5)).value_or(false)) << context;
        ASSERT_TRUE(next->WaitUntilFinished().ok()) << context;
        const std::vector<int64_t> kept =
            acknowledged ? std::vector<int64_t>{4, 5} : std::vector<int64_t>{3, 5};
        EXPECT_THAT(next->AllSteps(), ElementsAreArray(kept)) << context;
        next.reset();
        OpenSettled(&memory, /*max_to_keep=*/2).reset();  // start-up cleanup of leftovers
        EXPECT_THAT(RootEntries(memory), ElementsAreArray(Names(kept))) << context;
      });
}

// A read-only Checkpointer loads step 2 whole, its metadata and its checkpointables'
// descriptions. A load never writes.
TEST(FaultSweep, EveryOperationOfALoad) {
  Sweep(
      "load", [](MemoryFilesystem& memory) { SaveSteps(memory, 2); },
      [](MemoryFilesystem& memory, FaultInjectionFilesystem& faults, const Fault* fault) {
        const std::string context = fault ? fault->Describe() : "no fault";
        std::unique_ptr<Checkpointer> ckpt = OpenSettled(&faults, 0, /*read_only=*/true);
        faults.ResetCounts();
        if (fault) fault->Arm(faults);
        ::testing::AssertionResult loaded = LoadsAsSaved(*ckpt, 2);
        absl::Status metadata = ckpt->Metadata(2).status();
        absl::Status described = ckpt->CheckpointablesMetadata(2).status();
        EXPECT_EQ(faults.MutationCount(), 0) << context;
        if (fault == nullptr) {
          ASSERT_TRUE(loaded);
          ASSERT_TRUE(metadata.ok()) << metadata;
          ASSERT_TRUE(described.ok()) << described;
          return;
        }
        // The load either failed with the injected error, or (the fault hit another call)
        // returned exactly what was saved: never different values.
        if (!loaded) {
          EXPECT_THAT(std::string(loaded.message()),
                      ::testing::HasSubstr(absl::StatusCodeToString(fault->code())))
              << context << ": " << loaded.message();
        }
        if (!metadata.ok()) ExpectInjectedError(metadata, *fault, context);
        if (!described.ok()) ExpectInjectedError(described, *fault, context);
        EXPECT_FALSE(loaded && metadata.ok() && described.ok())
            << context << ": a failed read went unreported";
        faults.Clear();
        EXPECT_TRUE(LoadsAsSaved(*ckpt, 2)) << context;
      });
}

// An evaluator leases step 1 and releases it; then retention deletes the step.
TEST(FaultSweep, EveryOperationOfALease) {
  Sweep(
      "lease", [](MemoryFilesystem& memory) { SaveSteps(memory, 1); },
      [](MemoryFilesystem& memory, FaultInjectionFilesystem& faults, const Fault* fault) {
        const std::string context = fault ? fault->Describe() : "no fault";
        const std::string step_dir = absl::StrCat(kRoot, "/1");
        LeaseOptions lease_options;
        lease_options.filesystem = &faults;
        if (fault) fault->Arm(faults);
        absl::StatusOr<StepLease> lease = AcquireLease(step_dir, lease_options);
        absl::Status released = lease.ok() ? lease->Release() : absl::OkStatus();
        if (fault == nullptr) {
          ASSERT_TRUE(lease.ok()) << lease.status();
          ASSERT_TRUE(released.ok()) << released;
        }
        if (!lease.ok()) ExpectInjectedError(lease.status(), *fault, context);
        if (!released.ok()) ExpectInjectedError(released, *fault, context);
        faults.Clear();

        // A failed acquisition leaves no lease behind; a failed release can be retried.
        if (lease.ok()) EXPECT_TRUE(lease->Release().ok()) << context;
        EXPECT_FALSE(IsLocked(step_dir, &memory).value_or(true)) << context;
        StepDeletionOptions deletion;
        deletion.filesystem = &memory;
        absl::StatusOr<StepDeletion> deleted = DeleteStepUnlessLeased(step_dir, deletion);
        ASSERT_TRUE(deleted.ok()) << context << ": " << deleted.status();
        EXPECT_EQ(*deleted, StepDeletion::kDeleted) << context;
        EXPECT_THAT(RootEntries(memory), ::testing::IsEmpty()) << context;
      });
}

}  // namespace
}  // namespace cairn
