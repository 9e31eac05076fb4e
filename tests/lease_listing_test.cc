// Listing a step's leases: who holds each one, and whether it is still live.
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;

class LeaseListingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    step_ = tmp_.Join("1");
    ASSERT_TRUE(Save(step_, Tree::Int(1)).ok());
  }
  TempDir tmp_;
  std::string step_;
};

TEST_F(LeaseListingTest, AnUnleasedStepHasNone) {
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(step_);
  ASSERT_TRUE(leases.ok()) << leases.status();
  EXPECT_TRUE(leases->empty());
}

TEST_F(LeaseListingTest, NamesTheHolderOfALiveLease) {
  const absl::Time before = absl::Now();
  absl::StatusOr<StepLease> lease = AcquireLease(step_);
  ASSERT_TRUE(lease.ok()) << lease.status();
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(step_);
  ASSERT_TRUE(leases.ok()) << leases.status();
  ASSERT_EQ(leases->size(), 1u);
  const LeaseInfo& info = (*leases)[0];
  EXPECT_TRUE(info.live);
  EXPECT_EQ(info.host, HostName());
  EXPECT_EQ(info.pid, static_cast<int64_t>(::getpid()));
  ASSERT_TRUE(info.acquired.has_value());
  EXPECT_GE(*info.acquired, before - absl::Seconds(1));
  ASSERT_TRUE(info.expires.has_value());
  EXPECT_GT(*info.expires, *info.acquired);
}

TEST_F(LeaseListingTest, AnExpiredLeaseIsListedAsStale) {
  LeaseOptions options;
  options.ttl = -absl::Hours(1);
  absl::StatusOr<StepLease> lease = AcquireLease(step_, options);
  ASSERT_TRUE(lease.ok()) << lease.status();
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(step_);
  ASSERT_TRUE(leases.ok()) << leases.status();
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_FALSE((*leases)[0].live);
}

TEST_F(LeaseListingTest, AnUnparseableLeaseIsLiveWithNoHolder) {
  ASSERT_TRUE(Filesystem::Default()->CreateDir(JoinPath(step_, kLockedDirName)).ok());
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(),
                                JoinPath(step_, std::string(kLockedDirName) + "/lease.garbage"),
                                "not a record", /*sync=*/false)
                  .ok());
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(step_);
  ASSERT_TRUE(leases.ok()) << leases.status();
  ASSERT_EQ(leases->size(), 1u);
  EXPECT_TRUE((*leases)[0].live);
  EXPECT_FALSE((*leases)[0].host.has_value());
}

TEST_F(LeaseListingTest, ReleasedLeasesAreGone) {
  {
    absl::StatusOr<StepLease> lease = AcquireLease(step_);
    ASSERT_TRUE(lease.ok()) << lease.status();
  }
  absl::StatusOr<std::vector<LeaseInfo>> leases = ListLeases(step_);
  ASSERT_TRUE(leases.ok()) << leases.status();
  EXPECT_TRUE(leases->empty());
}

}  // namespace
}  // namespace cairn
