// Checkpointer: the object a training loop holds. It decides when to save, saves without
// stalling the loop (one host copy at most), commits each step atomically, retires old steps by
// policy without deleting what a reader holds, and answers which steps exist.
//
//   auto ckpt = cairn::Checkpointer::Create("/ckpt/run1", options).value();
//   if (auto latest = ckpt->LatestStep()) state = ckpt->Load(*latest, abstract).value();
//   for (int64_t step = start; step < end; ++step) {
//     Train(state);
//     cairn::SaveArgs args;
//     args.metrics = {{"loss", loss}};
//     CAIRN_RETURN_IF_ERROR(ckpt->SaveAsync(step, state, args).status());
//   }
//   CAIRN_RETURN_IF_ERROR(ckpt->Close());
#ifndef CAIRN_MANAGER_CHECKPOINTER_H_
#define CAIRN_MANAGER_CHECKPOINTER_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cairn/manager/checkpointer_options.h"
#include "cairn/manager/save_future.h"
#include "cairn/manager/step_info.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/coordinator.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {

namespace internal {
class StagingPool;
}  // namespace internal

class Checkpointer {
 public:
  // Opens the run under `root`: creates it when asked, lists the committed steps already there
  // (a restarted trainer resumes from them) and, unless read-only, starts removing the
  // temporaries of crashed saves and a retention pass in the background (its errors go to
  // WaitUntilFinished and Close): a listed step the policies let go may disappear meanwhile,
  // so a caller reading such steps waits with WaitUntilFinished first. FailedPrecondition if `root`
  // is not a directory; NotFound if it is missing and may not be created.
  static absl::StatusOr<std::unique_ptr<Checkpointer>> Create(
      const std::string& root, CheckpointerOptions options = CheckpointerOptions());

  // Close()s. An error that no call reported is written to stderr rather than lost.
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  const std::string& root() const { return root_; }
  // The directory of `step` under the root.
  std::string StepDir(int64_t step) const;

  // Whether Save would save `step` now: never at or below the latest step (saved, being saved,
  // or saved and since retired), always after a preemption, otherwise when any save policy
  // says so.
  bool ShouldSave(int64_t step) const;

  // Saves `step` and waits for it to commit, writing straight from the caller's arrays (no host
  // copy: they cannot change while the call waits). Returns false when the save policies skip
  // the step. Errors: a step that exists without `overwrite` (AlreadyExists), a step below the
  // latest without `force`, metrics a best-N policy cannot rank, a read-only or closed
  // Checkpointer, an error of an earlier background save not yet reported (then this step was
  // not attempted: ReportsEarlierSaveFailure), or the save's own.
  absl::StatusOr<bool> Save(int64_t step, const Tree& state, const SaveArgs& args = SaveArgs());
  absl::StatusOr<bool> Save(int64_t step, const Checkpointables& items,
                            const SaveArgs& args = SaveArgs());

  // Starts saving `step` in the background and returns once the state is copied (see
  // CheckpointerOptions::async_copy): the caller may then change its state. First waits for
  // room among the saves in flight. The future is ready when the step has committed; a step
  // the policies skip gives a future that did not start. After a preemption the save is waited
  // for before returning. Errors as Save, except those of the background save itself, which
  // the future (or else the next waiting call) reports.
  absl::StatusOr<SaveFuture> SaveAsync(int64_t step, const Tree& state,
                                       const SaveArgs& args = SaveArgs());
  absl::StatusOr<SaveFuture> SaveAsync(int64_t step, const Checkpointables& items,
                                       const SaveArgs& args = SaveArgs());

  // Waits for every save and retention pass in flight. Returns the errors of background saves
  // not yet reported, and of retention since the last call.
  absl::Status WaitUntilFinished();
  // Waits for everything (background deletion included); later saves fail. Idempotent.
  absl::Status Close();
  bool IsSavingInProgress() const;

  // Committed steps only: a save in flight or one that failed is never listed.
  std::optional<int64_t> LatestStep() const;
  std::vector<int64_t> AllSteps() const;
  // The best step by the metric of the best-N preservation policy (nullopt when no step has
  // the metric). FailedPrecondition when no best-N policy is configured.
  absl::StatusOr<std::optional<int64_t>> BestStep() const;
  // The metrics saved with `step`.
  absl::StatusOr<nlohmann::json> Metrics(int64_t step) const;

  // Loads the pytree of `step` (resolved as cairn::Load does).
  absl::StatusOr<Tree> Load(int64_t step, const Tree& abstract = Tree::AsSaved(),
                            const CheckpointableName& name = CheckpointableName::Auto()) const;
  // Loads the named checkpointables of `step` (all when `requests` is empty: stateful objects
  // then come back as UnrestoredObject, to be requested with the object to restore into).
  absl::StatusOr<Checkpointables> LoadCheckpointables(
      int64_t step, const std::map<std::string, LoadRequest>& requests = {}) const;
  absl::StatusOr<CheckpointMetadata> Metadata(int64_t step) const;
  absl::StatusOr<std::map<std::string, CheckpointableInfo>> CheckpointablesMetadata(
      int64_t step) const;

  // Lists the root again, picking up steps written or deleted by other processes.
  absl::Status Reload();
  // Deletes `step` now (moved to todelete_subdir when set). FailedPrecondition if a reader
  // leases it or it is being saved; NotFound if it is not a committed step.
  absl::Status Delete(int64_t step);
  // Runs a retention pass now and returns its error, if any: for a finished run, or once a
  // reader released a step an earlier pass had to keep. Leased steps are kept, as after a
  // commit; steps of other processes count once Reload() has listed them. (A pass also runs
  // after each commit and when a writable Checkpointer opens.) FailedPrecondition when
  // read-only.
  absl::Status ApplyRetention();

  // Records a preemption, as SIGTERM does with handle_sigterm: the next step offered is saved.
  // With a coordinator, on every process: the next ShouldSave, Save or SaveAsync tells them all.
  void NotifyPreemption() { preempted_.store(true); }
  // Whether a preemption was notified or signalled: the loop should save and stop. With a
  // coordinator, once the processes agreed on it (at a ShouldSave, Save or SaveAsync), so that
  // every process stops after the same step.
  bool Preempted() const;

 private:
  struct SaveJob;

  Checkpointer(std::string root, CheckpointerOptions options, Filesystem* fs);

  // Runs saved by several processes (manager/checkpointer_processes.cc).
  // Opening: the primary opens the root and lists it; every process checks that it sees the
  // root; the saves get a coordinator of their own. Returns the steps listed.
  struct Opened {
    std::string root;
    std::vector<int64_t> steps;
  };
  static absl::StatusOr<Opened> OpenTogether(const std::string& named_root,
                                             const CheckpointerOptions& options,
                                             absl::Status local);
  // Opening alone: the root resolved and opened, its steps listed.
  static absl::StatusOr<Opened> OpenAlone(const std::string& named_root,
                                          const CheckpointerOptions& options);
  // The primary's decision on offering `step` (with `args`; none for ShouldSave), shared: whether
  // to save, with the preemption any process saw and the steps the primary retired since.
  absl::StatusOr<bool> DecideTogether(int64_t step, const SaveArgs* args, absl::Status local) const;
  // The primary runs `operation` (a deletion, a retention pass, a listing) and every process
  // learns its outcome and the steps it removed, or with `share_listing` its whole listing.
  absl::Status RunOnPrimary(absl::string_view name, const std::function<absl::Status()>& operation,
                            bool share_listing);
  // The steps the primary retired since it last told the others ("3,7,9"), and applying them.
  std::string TakeRetiredLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void ApplyRetiredLocked(absl::string_view retired) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool together() const { return coordinator_ != nullptr; }
  bool primary() const { return coordinator_ == nullptr || coordinator_->is_primary(); }

  CheckpointOptions StepOptions() const;
  // The public saves copy the caller's items once (the tree's structure, not its arrays) and
  // hand that copy down. `copy`: what to do with the arrays before returning.
  absl::StatusOr<bool> SaveItems(int64_t step, Checkpointables items, const SaveArgs& args);
  absl::StatusOr<SaveFuture> SaveItemsAsync(int64_t step, Checkpointables items,
                                            const SaveArgs& args);
  absl::StatusOr<SaveFuture> StartSave(int64_t step, Checkpointables items, const SaveArgs& args,
                                       AsyncCopy copy);
  absl::Status ValidateSave(int64_t step, const Checkpointables& items, const SaveArgs& args) const;
  // Whether to save `step`, or why it must not be saved at all.
  absl::StatusOr<bool> DecideLocked(int64_t step, const SaveArgs& args) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool ShouldSaveLocked(int64_t step) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::optional<int64_t> LatestIncludingInFlightLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // The failures of finished saves no future collected (or is collecting), marked with
  // kEarlierSaveFailurePayload; `attempting`: the step whose save they stop.
  absl::Status TakeUnreportedSaveErrorsLocked(std::optional<int64_t> attempting = std::nullopt)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunSave(SaveJob& job);
  void ScheduleRetentionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RunRetention();
  // One retention pass, on the deleter thread; returns the first error.
  absl::Status RetentionPass();
  // The info of every committed step, reading what is not cached yet.
  absl::StatusOr<std::vector<StepInfo>> StepInfos() const;
  absl::Status RequireCommitted(int64_t step) const;
  // This process's part of Reload, Delete and ApplyRetention.
  absl::Status ReloadHere();
  absl::Status DeleteHere(int64_t step);
  absl::Status ApplyRetentionHere();
  // A process of a run saved together that cannot save the step the processes agreed on: it
  // still takes part in the save (in order, on the saver thread) so the others fail with it.
  absl::Status JoinSaveWithFailureLocked(int64_t step, absl::Status failure)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Makes `listed` (and `also_kept`) the committed steps, keeping what is known of each.
  void AdoptListingLocked(const std::vector<int64_t>& listed,
                          const std::set<int64_t>& also_kept = {})
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Removes `step` from the committed steps; on the primary of a run saved together, records it
  // for the others.
  void ForgetStepLocked(int64_t step) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string root_;
  const CheckpointerOptions options_;
  Filesystem& fs_;
  std::vector<std::shared_ptr<const PreservationPolicy>> preservation_;
  std::vector<std::shared_ptr<const SavePolicy>> save_policies_;
  const std::unique_ptr<internal::StagingPool> staging_;
  std::atomic<bool> preempted_{false};
  // Runs saved by several processes: decisions on the caller's thread use `coordinator_`; the
  // saver thread uses its duplicate, so that the two never mix.
  Coordinator* const coordinator_;
  std::unique_ptr<Coordinator> save_coordinator_;
  // The preemption the processes agreed on.
  mutable std::atomic<bool> agreed_preemption_{false};

  mutable absl::Mutex mu_;
  // Committed steps, with what policies need of them once read (loaded lazily: a root of
  // 10,000 steps opens with one directory listing).
  mutable std::map<int64_t, std::optional<StepInfo>> steps_ ABSL_GUARDED_BY(mu_);
  std::set<int64_t> in_flight_ ABSL_GUARDED_BY(mu_);
  // The highest step committed or listed: saves below it are back-filling, even once retention
  // (allowed to) has deleted it.
  std::optional<int64_t> highest_step_ ABSL_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<internal::SaveState>> saves_ ABSL_GUARDED_BY(mu_);
  std::optional<absl::Time> last_save_start_ ABSL_GUARDED_BY(mu_);
  absl::Status retention_error_ ABSL_GUARDED_BY(mu_);
  int background_tasks_ ABSL_GUARDED_BY(mu_) = 0;
  bool retention_queued_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
  // On the primary of a run saved together: steps retired since the others were last told.
  mutable std::vector<int64_t> retired_untold_ ABSL_GUARDED_BY(mu_);

  // One thread writes saves in order; another deletes, so a slow deletion never delays a save.
  // Declared last: they are joined before the state they use is destroyed.
  std::unique_ptr<ThreadPool> saver_;
  std::unique_ptr<ThreadPool> deleter_;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_CHECKPOINTER_H_
