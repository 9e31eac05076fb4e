// SaveFuture: the outcome of a Checkpointer::SaveAsync call, ready once the step has committed
// (or failed). Copyable; every copy refers to the same save.
#ifndef CAIRN_MANAGER_SAVE_FUTURE_H_
#define CAIRN_MANAGER_SAVE_FUTURE_H_

#include <cstdint>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cairn/manager/save_report.h"

namespace cairn {

namespace internal {

// What a save's future and the Checkpointer share. A failure is reported once: to the first of
// the future's Wait or the Checkpointer's next waiting call that collects it.
class SaveState {
 public:
  explicit SaveState(int64_t step) : step_(step) {}

  int64_t step() const { return step_; }
  void Finish(SaveReport report);
  bool done() const;
  // Waits until done or `deadline`; whether done.
  bool AwaitUntil(absl::Time deadline) const;
  SaveReport report() const;
  // The save's status, marking a failure as reported.
  absl::Status Collect();
  // A failure nobody has collected yet, now marked as reported; OK otherwise (or if not done).
  absl::Status TakeUnreportedError();

 private:
  const int64_t step_;
  mutable absl::Mutex mu_;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
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
  // Waits until the step has committed: OK, or why it was not saved.
  absl::Status Wait() const;
  // Waits at most `timeout`; DeadlineExceeded if the save is still running then.
  absl::Status WaitFor(absl::Duration timeout) const;
  // The save's timings and sizes; complete once Ready().
  SaveReport report() const;

 private:
  int64_t step_;
  std::shared_ptr<internal::SaveState> state_;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_SAVE_FUTURE_H_
