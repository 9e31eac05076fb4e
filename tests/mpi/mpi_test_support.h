// Helpers of the MPI tests: the job's ranks, and a coordinator or scratch directory every rank
// of a test shares.
#ifndef CAIRN_TESTS_MPI_MPI_TEST_SUPPORT_H_
#define CAIRN_TESTS_MPI_MPI_TEST_SUPPORT_H_

#include <mpi.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "cairn/utils/mpi/mpi_coordinator.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {

inline int WorldRank() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

inline int WorldSize() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

// A coordinator over `comm` whose collectives have `deadline`. It is created with a long
// deadline whatever `deadline` is: a rank that a previous test left behind catches up here.
inline std::unique_ptr<MpiCoordinator> MakeCoordinator(MPI_Comm comm,
                                                       absl::Duration deadline = absl::Seconds(60),
                                                       int max_message_bytes = 1 << 30) {
  MpiCoordinatorOptions options;
  options.deadline = absl::Seconds(60);
  options.max_message_bytes = max_message_bytes;
  absl::StatusOr<std::unique_ptr<MpiCoordinator>> coordinator =
      MpiCoordinator::Create(comm, options);
  EXPECT_TRUE(coordinator.ok()) << coordinator.status();
  if (!coordinator.ok()) return nullptr;
  (*coordinator)->set_deadline(deadline);
  return std::move(*coordinator);
}

// A scratch directory that the primary of `coordinator` makes (and removes when it goes), and
// whose path every rank learns.
class SharedTempDir {
 public:
  explicit SharedTempDir(Coordinator& coordinator) {
    if (coordinator.is_primary()) dir_.emplace();
    absl::StatusOr<std::string> path =
        coordinator.Broadcast("scratch directory", dir_ ? dir_->path() : "");
    EXPECT_TRUE(path.ok()) << path.status();
    if (path.ok()) path_ = *path;
  }

  bool ok() const { return !path_.empty(); }
  std::string Join(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::optional<TempDir> dir_;
  std::string path_;
};

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_MPI_MPI_TEST_SUPPORT_H_
