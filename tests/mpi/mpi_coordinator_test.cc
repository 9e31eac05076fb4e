// MpiCoordinator's collectives on the ranks of the job: round trips, large messages, a rank that
// does not arrive, collectives out of step, and the unusable state after a failure.
#include "cairn/utils/mpi/mpi_coordinator.h"

#include <mpi.h>

#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/mpi/mpi_test_support.h"

namespace cairn {
namespace {

using ::testing::HasSubstr;

using testing::WorldRank;
using testing::WorldSize;

std::unique_ptr<MpiCoordinator> MakeCoordinator(absl::Duration deadline = absl::Seconds(60),
                                                int max_message_bytes = 1 << 30) {
  return testing::MakeCoordinator(MPI_COMM_WORLD, deadline, max_message_bytes);
}

// A string of `size` bytes that depends on `seed` at every position.
std::string Pattern(size_t size, int seed) {
  std::string out(size, '\0');
  uint64_t x = 0x9e3779b97f4a7c15ull * static_cast<uint64_t>(seed + 1);
  for (size_t i = 0; i < size; ++i) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[i] = static_cast<char>(x);
  }
  return out;
}

TEST(MpiCoordinator, RanksAndPrimary) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator();
  ASSERT_NE(coordinator, nullptr);
  EXPECT_EQ(coordinator->process_index(), WorldRank());
  EXPECT_EQ(coordinator->process_count(), WorldSize());
  EXPECT_EQ(coordinator->is_primary(), WorldRank() == 0);
  int result = MPI_UNEQUAL;
  MPI_Comm_compare(coordinator->comm(), MPI_COMM_WORLD, &result);
  EXPECT_EQ(result, MPI_CONGRUENT);  // a duplicate, not the world itself
}

TEST(MpiCoordinator, CollectivesRoundTrip) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator();
  ASSERT_NE(coordinator, nullptr);
  const int rank = WorldRank();
  for (int round = 0; round < 50; ++round) {
    const std::string name = absl::StrCat("round.", round);
    EXPECT_TRUE(coordinator->Barrier(name).ok());
    absl::StatusOr<std::string> broadcast =
        coordinator->Broadcast(name, absl::StrCat("from ", rank, " in ", round));
    ASSERT_TRUE(broadcast.ok()) << broadcast.status();
    EXPECT_EQ(*broadcast, absl::StrCat("from 0 in ", round));
    absl::StatusOr<std::vector<std::string>> gathered =
        coordinator->Gather(name, absl::StrCat("rank ", rank, " round ", round));
    ASSERT_TRUE(gathered.ok()) << gathered.status();
    if (rank == 0) {
      ASSERT_EQ(gathered->size(), static_cast<size_t>(WorldSize()));
      for (int p = 0; p < WorldSize(); ++p) {
        EXPECT_EQ((*gathered)[p], absl::StrCat("rank ", p, " round ", round));
      }
    } else {
      EXPECT_TRUE(gathered->empty());
    }
  }
  // Empty values travel too.
  absl::StatusOr<std::string> empty = coordinator->Broadcast("empty", "");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
}

TEST(MpiCoordinator, LargeStringsTravelInPieces) {
  // Pieces of 1 MiB: messages of several MiB exercise the same path as those past 2 GiB.
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator(absl::Seconds(60), 1 << 20);
  ASSERT_NE(coordinator, nullptr);
  const int rank = WorldRank();
  const size_t mine = (size_t{3} << 20) + 4097 * static_cast<size_t>(rank);
  absl::StatusOr<std::vector<std::string>> gathered =
      coordinator->Gather("large", Pattern(mine, rank));
  ASSERT_TRUE(gathered.ok()) << gathered.status();
  if (rank == 0) {
    ASSERT_EQ(gathered->size(), static_cast<size_t>(WorldSize()));
    for (int p = 0; p < WorldSize(); ++p) {
      EXPECT_TRUE((*gathered)[p] == Pattern((size_t{3} << 20) + 4097 * p, p)) << "rank " << p;
    }
  }
  const std::string big = Pattern((size_t{5} << 20) + 3, 99);
  absl::StatusOr<std::string> broadcast =
      coordinator->Broadcast("large", rank == 0 ? big : std::string("ignored"));
  ASSERT_TRUE(broadcast.ok()) << broadcast.status();
  EXPECT_TRUE(*broadcast == big);
  // Exactly one piece, and one byte past it.
  for (size_t size : {size_t{1} << 20, (size_t{1} << 20) + 1}) {
    absl::StatusOr<std::vector<std::string>> edge =
        coordinator->Gather("edge", Pattern(size, rank + 7));
    ASSERT_TRUE(edge.ok()) << edge.status();
    if (rank == 0) {
      for (int p = 0; p < WorldSize(); ++p) EXPECT_TRUE((*edge)[p] == Pattern(size, p + 7));
    }
  }
}

TEST(MpiCoordinator, AnAbsentRankMakesTheOthersFailNamingIt) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator(absl::Seconds(2));
  ASSERT_NE(coordinator, nullptr);
  const int rank = WorldRank();
  const int absent = WorldSize() - 1;
  if (rank != absent) {
    absl::Status status = coordinator->Barrier("skipped");
    EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
    // The primary knows who is missing, and tells the ranks that came.
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(absl::StrCat("rank ", absent, " did not arrive")));
    EXPECT_THAT(std::string(status.message()), HasSubstr("'skipped'"));
    EXPECT_TRUE(coordinator->broken());
    // Unusable from now on, and says so at once.
    absl::Status later = coordinator->Barrier("later");
    EXPECT_TRUE(absl::IsFailedPrecondition(later)) << later;
    EXPECT_THAT(std::string(later.message()), HasSubstr("earlier collective failed"));
  } else {
    EXPECT_FALSE(coordinator->broken());
  }
  // The absent rank goes on to the next test, whose coordinator it makes when the others come.
}

TEST(MpiCoordinator, AnAbsentPrimaryIsReportedByTheOthers) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator(absl::Seconds(2));
  ASSERT_NE(coordinator, nullptr);
  if (WorldRank() != 0) {
    absl::Status status = coordinator->Barrier("no primary");
    EXPECT_TRUE(absl::IsDeadlineExceeded(status)) << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("primary, did not answer"));
    EXPECT_TRUE(coordinator->broken());
  } else {
    // The others sent this rank a collective it never takes. Freeing a communicator with
    // messages on their way to it is erroneous in MPI (OpenMPI 4.1 can then crash creating a
    // later communicator), so this rank keeps its coordinator until MPI_Finalize.
    coordinator.release();
  }
}

TEST(MpiCoordinator, CollectivesOutOfStepAreRefusedNamingBoth) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator(absl::Seconds(20));
  ASSERT_NE(coordinator, nullptr);
  const int rank = WorldRank();
  const int odd = WorldSize() - 1;
  absl::Status status = coordinator->Barrier(rank == odd ? "commit" : "prepare");
  EXPECT_TRUE(absl::IsAborted(status)) << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(absl::StrCat("rank ", odd, " is in Barrier 'commit' (collective #1)")));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("rank 0 (the primary) is in Barrier 'prepare' (collective #1)"));
  EXPECT_TRUE(coordinator->broken());
}

TEST(MpiCoordinator, DifferentKindsOfCollectiveAreOutOfStep) {
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator(absl::Seconds(20));
  ASSERT_NE(coordinator, nullptr);
  const int rank = WorldRank();
  absl::Status status =
      rank == 1 ? coordinator->Gather("step", "x").status() : coordinator->Barrier("step");
  EXPECT_TRUE(absl::IsAborted(status)) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("rank 1 is in Gather 'step'"));
}

TEST(MpiCoordinator, ASubCommunicatorCoordinatesItsRanksOnly) {
  if (WorldSize() < 2) GTEST_SKIP() << "needs two ranks";
  const int rank = WorldRank();
  // The even ranks and the odd ranks, each their own group with its own primary.
  MPI_Comm half = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, rank % 2, rank, &half);
  {
    absl::StatusOr<std::unique_ptr<MpiCoordinator>> coordinator = MpiCoordinator::Create(half);
    ASSERT_TRUE(coordinator.ok()) << coordinator.status();
    EXPECT_EQ((*coordinator)->process_index(), rank / 2);
    absl::StatusOr<std::string> value =
        (*coordinator)->Broadcast("half", absl::StrCat("led by world rank ", rank));
    ASSERT_TRUE(value.ok()) << value.status();
    EXPECT_EQ(*value, absl::StrCat("led by world rank ", rank % 2));
  }
  MPI_Comm_free(&half);
}

TEST(MpiCoordinator, CollectivesRunOnABackgroundThread) {
  // As an async save runs them: MPI_THREAD_SERIALIZED allows it while no other thread calls MPI.
  std::unique_ptr<MpiCoordinator> coordinator = MakeCoordinator();
  ASSERT_NE(coordinator, nullptr);
  absl::StatusOr<std::string> value = absl::UnknownError("not run");
  std::thread background([&] {
    if (coordinator->Barrier("background").ok()) {
      value = coordinator->Broadcast("background", absl::StrCat("rank ", WorldRank()));
    }
  });
  background.join();
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "rank 0");
}

TEST(MpiCoordinator, RefusesBadOptions) {
  MpiCoordinatorOptions options;
  options.deadline = absl::ZeroDuration();
  EXPECT_TRUE(absl::IsInvalidArgument(MpiCoordinator::Create(MPI_COMM_WORLD, options).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(MpiCoordinator::Create(MPI_COMM_NULL).status()));
}

}  // namespace
}  // namespace cairn
