// A full disk does not wedge a run: retention, Delete and leases need no data blocks, a save
// that fails for space leaves nothing behind, and saves work again once space is freed. Once
// through the Filesystem seam (a disk with a byte budget), once on a real small tmpfs.
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/steps/lease.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::TempDir;

// About 1.5 MiB of incompressible bytes: two steps fit in 4 MiB, three do not.
Tree BigState(int64_t step) {
  Tree state = Tree::Dict();
  state.Set("w", Tree::FromArray(testing::RandomBytes(DType::kFloat32, {384, 1024},
                                                      static_cast<uint64_t>(step))));
  return state;
}

// Names under `root` on `fs` that are not steps: temporaries, leftovers.
std::vector<std::string> NonSteps(Filesystem& fs, const std::string& root) {
  std::vector<std::string> names;
  const std::vector<std::string> listed = fs.ListDir(root).value();
  for (const std::string& name : listed) {
    if (name.find(".cairn-") != std::string::npos) names.push_back(name);
  }
  return names;
}

// A run with max_to_keep=1 on a small disk. `fill()` leaves (next to) no space free; it is
// called right after step 2 commits and once more later. `make_room()` frees about one step's
// worth, as an operator would. Retention, leases and Delete work on the full disk, a save that
// fails for space leaves no temporary, and saves work again once space is freed.
void RunOnAFullDisk(Filesystem* fs, const std::string& root, const std::function<void()>& fill,
                    const std::function<void()>& make_room) {
  CheckpointerOptions options;
  options.filesystem = fs;
  options.max_to_keep = 1;
  options.on_save_finished = [&](const SaveReport& report) {
    if (report.step == 2 && report.status.ok()) fill();
  };
  std::unique_ptr<Checkpointer> ckpt = testing::OpenCheckpointer(root, options);
  ASSERT_NE(ckpt, nullptr);
  ASSERT_TRUE(*ckpt->Save(1, BigState(1)));
  ASSERT_TRUE(*ckpt->Save(2, BigState(2)));
  // Retention retired step 1 on the disk step 2 filled.
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2));
  EXPECT_FALSE(*PathExists(*fs, ckpt->StepDir(1)));

  fill();
  // A reader leases the step on the full disk, and Delete respects the lease.
  LeaseOptions lease_options;
  lease_options.filesystem = fs;
  absl::StatusOr<StepLease> lease = AcquireLease(ckpt->StepDir(2), lease_options);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_EQ(ckpt->Delete(2).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(lease->Release().ok());

  // A save that does not fit fails for space and leaves no temporary behind.
  absl::StatusOr<bool> saved = ckpt->Save(3, BigState(3));
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kResourceExhausted) << saved.status();
  EXPECT_THAT(NonSteps(*fs, root), IsEmpty());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2));

  // Delete works on the full disk and frees one step's worth, so the next save fits.
  absl::Status deleted = ckpt->Delete(2);
  ASSERT_TRUE(deleted.ok()) << deleted;
  ASSERT_TRUE(*ckpt->Save(4, BigState(4)));
  // With room for a second step the run goes on: each save fills the disk again, and its
  // retention pass frees the step before it.
  make_room();
  for (int64_t step = 5; step <= 7; ++step) {
    absl::StatusOr<bool> next = ckpt->Save(step, BigState(step));
    ASSERT_TRUE(next.ok()) << "step " << step << ": " << next.status();
    ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
    EXPECT_THAT(ckpt->AllSteps(), ElementsAre(step));
  }
  absl::StatusOr<Tree> loaded = ckpt->Load(7);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(testing::TreesEqual(*loaded, BigState(7)));
  EXPECT_THAT(NonSteps(*fs, root), IsEmpty());
  EXPECT_TRUE(ckpt->Close().ok());
}

TEST(FullDiskTest, DeleteAndLeasesNeedNoSpace) {
  MemoryFilesystem memory;
  CheckpointerOptions options;
  options.filesystem = &memory;
  std::unique_ptr<Checkpointer> ckpt = testing::OpenCheckpointer("/run", options);
  ASSERT_TRUE(*ckpt->Save(1, BigState(1)));
  ASSERT_TRUE(*ckpt->Save(2, BigState(2)));
  FaultInjectionFilesystem faults(&memory);
  faults.LimitFreeSpace(0);
  options.filesystem = &faults;
  ckpt = testing::OpenCheckpointer("/run", options);
  LeaseOptions lease_options;
  lease_options.filesystem = &faults;
  absl::StatusOr<StepLease> lease = AcquireLease(ckpt->StepDir(2), lease_options);
  ASSERT_TRUE(lease.ok()) << lease.status();
  EXPECT_TRUE(*IsLocked(ckpt->StepDir(2), &faults));
  absl::Status deleted = ckpt->Delete(1);
  ASSERT_TRUE(deleted.ok()) << deleted;
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2));
  EXPECT_FALSE(*PathExists(memory, "/run/1"));
}

TEST(FullDiskTest, ARunRecoversOnADiskWithAByteBudget) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem faults(&memory);
  // "Full" leaves 64 bytes (less than any record of the old JSON form), as a disk's last part-used
  // block would: steps differ by a few bytes of metadata, and the step after a Delete must fit
  // where the deleted one was. (DeleteAndLeasesNeedNoSpace shows that no byte at all is needed.)
  RunOnAFullDisk(
      &faults, "/run", [&] { faults.LimitFreeSpace(64); }, [&] { faults.LimitFreeSpace(2 << 20); });
}

// A real filesystem: a tmpfs of 4 MiB, when this process may mount one (as root).
class TmpfsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "mounting a tmpfs needs root";
    mount_point_ = tmp_.Join("mnt");
    std::filesystem::create_directory(mount_point_);
    if (::mount("tmpfs", mount_point_.c_str(), "tmpfs", 0, "size=4m") != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs at " << mount_point_ << ": " << std::strerror(errno);
    }
    mounted_ = true;
  }
  void TearDown() override {
    if (mounted_) EXPECT_EQ(::umount(mount_point_.c_str()), 0) << std::strerror(errno);
  }
  // Writes `name` until the tmpfs is full.
  void Fill(const std::string& name) {
    std::ofstream out(JoinPath(mount_point_, name), std::ios::binary | std::ios::app);
    const std::string block(4096, 'x');
    while (out.write(block.data(), block.size()) && out.flush()) {
    }
  }

  TempDir tmp_;
  std::string mount_point_;
  bool mounted_ = false;
};

TEST_F(TmpfsTest, ARunRecoversOnAFullTmpfs) {
  int fills = 0;
  RunOnAFullDisk(
      Filesystem::Default(), JoinPath(mount_point_, "run"),
      [&] { Fill(absl::StrCat("filler", fills++)); },
      [&] { std::filesystem::remove(JoinPath(mount_point_, "filler1")); });
}

}  // namespace
}  // namespace cairn
