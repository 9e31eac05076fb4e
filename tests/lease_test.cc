// Step leases: held while a reader reads, several at once, released on destruction, stale when
// the holder is gone or the lease expired, and removable all at once.
#include "cairn/steps/lease.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_deletion.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;

class LeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    step_ = tmp_.Join("1");
    ASSERT_TRUE(Save(step_, Tree::Int(1)).ok());
  }
  TempDir tmp_;
  std::string step_;
};

TEST_F(LeaseTest, HeldWhileAliveAndReleasedOnDestruction) {
  EXPECT_FALSE(*IsLocked(step_));
  {
    absl::StatusOr<StepLease> lease = AcquireLease(step_);
    ASSERT_TRUE(lease.ok()) << lease.status();
    EXPECT_TRUE(*IsLocked(step_));
  }
  EXPECT_FALSE(*IsLocked(step_));
  EXPECT_FALSE(std::filesystem::exists(step_ + "/LOCKED"));
}

TEST_F(LeaseTest, SeveralReadersEachReleaseTheirOwn) {
  absl::StatusOr<StepLease> a = AcquireLease(step_);
  absl::StatusOr<StepLease> b = AcquireLease(step_);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a->Release().ok());
  EXPECT_TRUE(*IsLocked(step_));
  ASSERT_TRUE(b->Release().ok());
  EXPECT_FALSE(*IsLocked(step_));
}

TEST_F(LeaseTest, ExpiredLeaseIsStale) {
  LeaseOptions options;
  options.ttl = absl::Seconds(-1);
  absl::StatusOr<StepLease> lease = AcquireLease(step_, options);
  ASSERT_TRUE(lease.ok());
  EXPECT_FALSE(*IsLocked(step_));
}

TEST_F(LeaseTest, LeaseOfALiveForkedChildHoldsTheStep) {
  // The parent leases first, so that anything it remembers of itself is in place before fork.
  ASSERT_TRUE(AcquireLease(step_).ok());
  const std::string other = tmp_.Join("2");
  ASSERT_TRUE(Save(other, Tree::Int(2)).ok());
  int ready[2], done[2];
  ASSERT_EQ(::pipe(ready), 0);
  ASSERT_EQ(::pipe(done), 0);
  const pid_t child = fork();
  if (child == 0) {
    absl::StatusOr<StepLease> lease = AcquireLease(other);
    const char ok = lease.ok() ? 'y' : 'n';
    if (::write(ready[1], &ok, 1) != 1) _exit(2);
    char ignored;
    (void)::read(done[0], &ignored, 1);  // hold the lease until the parent has looked
    _exit(0);
  }
  char ok = 0;
  ASSERT_EQ(::read(ready[0], &ok, 1), 1);
  ASSERT_EQ(ok, 'y');
  const absl::StatusOr<bool> locked = IsLocked(other);
  ASSERT_EQ(::write(done[1], "x", 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  for (int fd : {ready[0], ready[1], done[0], done[1]}) ::close(fd);
  ASSERT_TRUE(locked.ok()) << locked.status();
  EXPECT_TRUE(*locked) << "the live child's lease was taken for a dead process's";
}

TEST_F(LeaseTest, LeaseOfADeadProcessIsStale) {
  const pid_t child = fork();
  if (child == 0) {
    // _exit skips destructors: the process dies holding the lease, whose file stays.
    absl::StatusOr<StepLease> lease = AcquireLease(step_);
    _exit(lease.ok() ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_EQ(WEXITSTATUS(status), 0);
  EXPECT_FALSE(std::filesystem::is_empty(step_ + "/LOCKED"));
  EXPECT_FALSE(*IsLocked(step_));
}

TEST_F(LeaseTest, CorruptLeaseFileKeepsTheStepUntilItIsOld) {
  std::filesystem::create_directories(step_ + "/LOCKED");
  ASSERT_TRUE(
      WriteStringToFile(*Filesystem::Default(), step_ + "/LOCKED/junk.lease", "{{{", false).ok());
  EXPECT_TRUE(*IsLocked(step_));
  EXPECT_FALSE(*IsLocked(step_, nullptr, absl::ZeroDuration() - absl::Seconds(1)));
}

TEST_F(LeaseTest, LeasingAMissingStepIsNotFound) {
  EXPECT_EQ(AcquireLease(tmp_.Join("2")).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(LeaseTest, UnlockExistingCheckpointsRemovesEveryLease) {
  ASSERT_TRUE(Save(tmp_.Join("2"), Tree::Int(2)).ok());
  absl::StatusOr<StepLease> a = AcquireLease(step_);
  absl::StatusOr<StepLease> b = AcquireLease(tmp_.Join("2"));
  ASSERT_TRUE(UnlockExistingCheckpoints(tmp_.path()).ok());
  EXPECT_FALSE(*IsLocked(step_));
  EXPECT_FALSE(*IsLocked(tmp_.Join("2")));
  EXPECT_TRUE(a->Release().ok());  // releasing an already removed lease is fine
}

TEST_F(LeaseTest, SymlinkedLockedDirectoryIsRefusedAndNothingIsWrittenThere) {
  const std::string elsewhere = tmp_.Join("elsewhere");
  std::filesystem::create_directory(elsewhere);
  std::filesystem::create_directory_symlink(elsewhere, step_ + "/LOCKED");
  absl::StatusOr<StepLease> lease = AcquireLease(step_);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(lease.status().message().find("symlink"), absl::string_view::npos);
  EXPECT_EQ(IsLocked(step_).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(std::filesystem::is_empty(elsewhere));
  EXPECT_TRUE(std::filesystem::is_symlink(step_ + "/LOCKED"));
}

// Holds the first call of one operation on one path until released, so that a test can put one
// party's steps between another's.
class HoldingFilesystem final : public ForwardingFilesystem {
 public:
  enum class Op { kRename, kListDir };
  HoldingFilesystem(Filesystem* inner, Op op, std::string path)
      : ForwardingFilesystem(inner), op_(op), path_(std::move(path)) {}

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (op_ == Op::kRename && from == path_) Hold();
    return ForwardingFilesystem::Rename(from, to);
  }
  absl::StatusOr<std::vector<std::string>> ListDir(const std::string& path) override {
    if (op_ == Op::kListDir && path == path_) Hold();
    return ForwardingFilesystem::ListDir(path);
  }
  bool AwaitHeld() { return held_.WaitForNotificationWithTimeout(absl::Seconds(30)); }
  void Release() { release_.Notify(); }

 private:
  void Hold() {
    if (held_.HasBeenNotified()) return;
    held_.Notify();
    release_.WaitForNotificationWithTimeout(absl::Seconds(30));
  }
  const Op op_;
  const std::string path_;
  absl::Notification held_;
  absl::Notification release_;
};

// A retention pass that declares its intent and checks for leases just before a reader writes
// its lease, then moves the step aside before the reader looks for intents: the reader finds no
// intent (the step is gone), and must report the step gone rather than hold a lease on nothing.
TEST_F(LeaseTest, DeletionBetweenALeasesOwnChecksIsNotMissed) {
  HoldingFilesystem deleter_fs(Filesystem::Default(), HoldingFilesystem::Op::kRename, step_);
  HoldingFilesystem reader_fs(Filesystem::Default(), HoldingFilesystem::Op::kListDir, step_);
  absl::StatusOr<StepDeletion> deleted = absl::UnknownError("not run");
  std::thread deleter([&] {
    StepDeletionOptions options;
    options.filesystem = &deleter_fs;
    deleted = DeleteStepUnlessLeased(step_, options);
  });
  ASSERT_TRUE(deleter_fs.AwaitHeld());  // intent declared, no lease seen, about to move aside
  absl::StatusOr<StepLease> lease = absl::UnknownError("not run");
  std::thread reader([&] {
    LeaseOptions options;
    options.filesystem = &reader_fs;
    lease = AcquireLease(step_, options);
  });
  ASSERT_TRUE(reader_fs.AwaitHeld());  // lease written and seen, about to look for intents
  deleter_fs.Release();
  deleter.join();
  reader_fs.Release();
  reader.join();
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(*deleted, StepDeletion::kDeleted);
  EXPECT_EQ(lease.status().code(), absl::StatusCode::kNotFound) << lease.status();
}

}  // namespace
}  // namespace cairn
