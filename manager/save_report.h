// What one Checkpointer save cost: what the training thread paid, what the background paid, and
// how much it wrote. Delivered to CheckpointerOptions::on_save_finished and by SaveFuture.
#ifndef CAIRN_MANAGER_SAVE_REPORT_H_
#define CAIRN_MANAGER_SAVE_REPORT_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace cairn {

struct SaveReport {
  int64_t step = 0;
  // OK once committed; otherwise why the step was not saved (it is then not listed).
  absl::Status status;
  // The calling thread's cost: waiting for earlier saves to make room, plus the host copy.
  absl::Duration blocking;
  absl::Duration waited_for_previous;
  absl::Duration copy;
  // The background's cost: writing and syncing the checkpointables, then committing.
  absl::Duration write;
  absl::Duration commit;
  // From the call to the commit.
  absl::Duration total;
  uint64_t bytes_copied = 0;
  uint64_t bytes_written = 0;

  // bytes_written over write + commit, in bytes per second; 0 when nothing was timed.
  double throughput() const {
    const double seconds = absl::ToDoubleSeconds(write + commit);
    return seconds > 0 ? static_cast<double>(bytes_written) / seconds : 0;
  }
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_SAVE_REPORT_H_
