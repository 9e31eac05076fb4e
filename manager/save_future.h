// SaveFuture: the outcome of a Checkpointer::SaveAsync call, ready once the step has committed
// (or failed). Copyable; every copy refers to the same save.
#ifndef CAIRN_MANAGER_SAVE_FUTURE_H_
#define CAIRN_MANAGER_SAVE_FUTURE_H_

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/manager/save_report.h"

namespace cairn {

// A Checkpointer call that fails because an earlier background save failed, rather than by its
// own doing, carries this payload (its value: the failed steps, comma-separated). A save that
// returns it was not attempted: "step 3 was not attempted: the earlier failure of step 2 is
// reported here: ...". Its own step may simply be offered again.
inline constexpr absl::string_view kEarlierSaveFailurePayload = "cairn.dev/earlier-save-failure";
// Whether `status` reports earlier background saves' failures (see kEarlierSaveFailurePayload).
bool ReportsEarlierSaveFailure(const absl::Status& status);

namespace internal {

// What a save's future and the Checkpointer share. A failure is reported once: to the future's
// Wait if one has collected it or is waiting for it, else to the Checkpointer's next waiting call.
class SaveState {
 public:
  explicit SaveState(int64_t step) : step_(step) {}

  int64_t step() const { return step_; }
  void Finish(SaveReport report);
  bool done() const;
  // Waits until done or `deadline`; whether done.
  bool AwaitUntil(absl::Time deadline) const;
  SaveReport report() const;
  // Waits until done or `deadline` and returns the save's status, or nothing if not done then.
  // From the moment it is called the failure is the future's to report: the Checkpointer's calls
  // leave it alone, even before the save has finished.
  std::optional<absl::Status> Collect(absl::Time deadline);
  // Whether a Collect has returned the outcome or is waiting for it.
  bool collected() const;
  // A failure nobody has collected or is collecting, now marked as reported; OK otherwise (or if
  // not done).
  absl::Status TakeUnreportedError();

 private:
  const int64_t step_;
  mutable absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // Collect calls waiting now; and whether one returned the outcome or the Checkpointer took it.
  int collectors_ ABSL_GUARDED_BY(mu_) = 0;
  bool reported_ ABSL_GUARDED_BY(mu_) = false;
  SaveReport report_ ABSL_GUARDED_BY(mu_);
};

}  // namespace internal

class SaveFuture {
 public:
  // A save that did not start: the policies skipped the step. Ready, OK, started() false.
  explicit SaveFuture(int64_t step) : step_(step) {}
  explicit SaveFuture(std::shared_ptr<internal::SaveState> state)
      : step_(state->step()), state_(std::move(state)) {}

  int64_t step() const { return step_; }
  // Whether a save was started (false when the save policies skipped the step).
  bool started() const { return state_ != nullptr; }
  bool Ready() const { return state_ == nullptr || state_->done(); }
  // Waits at most `timeout` for the save to finish; whether it has. Unlike Wait, leaves a
  // failure to be reported by the Checkpointer's next waiting call.
  bool AwaitReady(absl::Duration timeout) const;
  // Waits until the step has committed: OK, or why it was not saved. Every call returns the
  // save's own outcome. A failure is reported once: a future that has been (or is being) waited
  // on keeps it, and the Checkpointer's later calls do not return it again; a failure the
  // Checkpointer's next waiting call reported first (see kEarlierSaveFailurePayload) is still
  // this future's outcome, so that Wait never says OK for a step that was not saved.
  absl::Status Wait() const;
  // Waits at most `timeout`; DeadlineExceeded if the save is still running then. Collects as
  // Wait does while it waits.
  absl::Status WaitFor(absl::Duration timeout) const;
  // Whether a Wait or WaitFor has collected this save's outcome or is waiting for it: a failure
  // is then the future's to report, not the Checkpointer's.
  bool Collected() const;
  // The save's timings and sizes; complete once Ready().
  SaveReport report() const;

 private:
  int64_t step_;
  std::shared_ptr<internal::SaveState> state_;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_SAVE_FUTURE_H_
