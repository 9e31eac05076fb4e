// A Coordinator over MPI, so that the ranks of an MPI job (or of a sub-communicator of it) save
// one checkpoint together: SaveTree with StoreSaveOptions::coordinator set to it.
//
// Built as its own library, cairn_mpi (target cairn::cairn_mpi), only where MPI is found: programs
// that save from one process never link MPI. docs/MPI.md describes the protocol.
//
// Every collective has a deadline. A collective that cannot complete (a rank died, or never
// called it) returns DeadlineExceeded instead of hanging: on the primary it names the ranks that
// did not arrive, and the primary tells the ranks that did; a rank that hears nothing from the
// primary says so. Collectives are matched by order and name: a rank in "commit" while the
// primary is in "prepare" makes every rank of that collective return Aborted naming both. After
// either failure the coordinator is unusable (messages may still be in flight): every later
// collective returns FailedPrecondition at once; make a new coordinator to go on.
//
// Threads: a coordinator is used by one thread at a time (calls from several threads are
// serialised by a lock, but ranks must still make the same calls in the same order). MPI must
// have been initialised with at least MPI_THREAD_SERIALIZED, since a save may run its
// collectives on a background thread; while it does, no other thread of the program may call
// MPI, unless MPI was initialised with MPI_THREAD_MULTIPLE.
#ifndef CAIRN_UTILS_MPI_MPI_COORDINATOR_H_
#define CAIRN_UTILS_MPI_MPI_COORDINATOR_H_

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/utils/coordinator.h"

namespace cairn {

struct MpiCoordinatorOptions {
  // How long one collective may take on a rank, counted from the rank's call. The primary gives
  // up on the ranks that have not arrived by then; the other ranks wait a quarter longer for the
  // primary's answer, so that it reaches them and names the missing ranks.
  absl::Duration deadline = absl::Minutes(5);
  // Messages longer than this travel in pieces of this size (MPI counts bytes in an int).
  int max_message_bytes = 1 << 30;
};

class MpiCoordinator final : public Coordinator {
 public:
  // A coordinator over the ranks of `comm` (MPI_COMM_WORLD or any sub-communicator; rank 0 of
  // `comm` is the primary). Collective over `comm`: every rank of it calls Create. The
  // communicator is duplicated, so that cairn's messages never mix with the program's; the
  // duplicate is freed with the coordinator, which must be destroyed before MPI_Finalize (the
  // duplicate of a coordinator that failed is kept until MPI_Finalize: see the .cc).
  // FailedPrecondition when MPI is not initialised, already finalised, or initialised below
  // MPI_THREAD_SERIALIZED; DeadlineExceeded when the duplication does not complete in time.
  static absl::StatusOr<std::unique_ptr<MpiCoordinator>> Create(
      MPI_Comm comm, const MpiCoordinatorOptions& options = MpiCoordinatorOptions());

  ~MpiCoordinator() override;
  MpiCoordinator(const MpiCoordinator&) = delete;
  MpiCoordinator& operator=(const MpiCoordinator&) = delete;

  int process_index() const override { return rank_; }
  int process_count() const override { return size_; }

  absl::Status Barrier(absl::string_view name) override;
  absl::StatusOr<std::string> Broadcast(absl::string_view name, absl::string_view value) override;
  absl::StatusOr<std::vector<std::string>> Gather(absl::string_view name,
                                                  absl::string_view value) override;
  // A new coordinator over the same ranks (Create on this one's communicator, with the same
  // options and the current deadline). Using the two from two threads at once is what MPI allows
  // only under MPI_THREAD_MULTIPLE: FailedPrecondition when MPI was initialised below it.
  absl::StatusOr<std::unique_ptr<Coordinator>> Duplicate() override;

  // The deadline of the collectives that follow; every rank should set the same.
  void set_deadline(absl::Duration deadline) ABSL_LOCKS_EXCLUDED(mu_);
  absl::Duration deadline() const ABSL_LOCKS_EXCLUDED(mu_);
  // Whether an earlier collective failed, leaving the coordinator unusable.
  bool broken() const ABSL_LOCKS_EXCLUDED(mu_);
  // The coordinator's own duplicate of the communicator it was made from.
  MPI_Comm comm() const { return comm_; }

  // What a collective is, as sent with it; public for the implementation's helpers.
  enum class Kind : uint64_t { kBarrier = 1, kBroadcast = 2, kGather = 3 };

 private:
  struct InFlight;

  MpiCoordinator(MPI_Comm comm, int rank, int size, uint64_t instance, int tag_base,
                 const MpiCoordinatorOptions& options);

  // One collective: every rank sends `up` to the primary, the primary answers `down` to every
  // rank. On the primary, `gathered` (when not null) receives every rank's `up`; elsewhere the
  // result is the primary's `down`.
  absl::StatusOr<std::string> Run(Kind kind, absl::string_view name, absl::string_view up,
                                  absl::string_view down, std::vector<std::string>* gathered)
      ABSL_LOCKS_EXCLUDED(mu_);
  absl::StatusOr<std::string> RunPrimary(Kind kind, absl::string_view name, absl::string_view up,
                                         absl::string_view down, std::vector<std::string>* gathered)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<std::string> RunOther(Kind kind, absl::string_view name, absl::string_view up)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Marks the coordinator unusable with `status` as the reason, and returns it.
  absl::Status Break(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Keeps requests that may still complete (with their buffers) until the coordinator goes.
  void Orphan(std::vector<InFlight> requests) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  MPI_Comm comm_;
  const int rank_;
  const int size_;
  const uint64_t instance_;  // drawn by the primary, sent in every header
  const int tag_base_;       // the first of this coordinator's tags
  const int max_message_bytes_;
  const MpiCoordinatorOptions options_;
  mutable absl::Mutex mu_;
  absl::Duration deadline_ ABSL_GUARDED_BY(mu_);
  uint64_t sequence_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  std::vector<InFlight> orphans_ ABSL_GUARDED_BY(mu_);
};

}  // namespace cairn

#endif  // CAIRN_UTILS_MPI_MPI_COORDINATOR_H_
