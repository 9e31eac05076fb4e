#include "cairn/manager/checkpointer.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "cairn/manager/internal/retention.h"
#include "cairn/manager/internal/state_snapshot.h"
#include "cairn/manager/preemption.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/step_deletion.h"
#include "cairn/steps/step_listing.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

// A save between SaveAsync and its commit.
struct Checkpointer::SaveJob {
  int64_t step = 0;
  SaveArgs args;
  internal::StateSnapshot snapshot;
  SaveReport report;
  absl::Time started;
  std::shared_ptr<internal::SaveState> state;
};

namespace {

absl::Status CheckOptions(const CheckpointerOptions& options) {
  if (options.name_format == nullptr) {
    return absl::InvalidArgumentError("CheckpointerOptions::name_format is null");
  }
  if (options.max_saves_in_flight < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("max_saves_in_flight must be at least 1, not ", options.max_saves_in_flight));
  }
  if (options.max_to_keep && *options.max_to_keep < 1) {
    return absl::InvalidArgumentError(absl::StrCat("max_to_keep must be at least 1, not ",
                                                   *options.max_to_keep,
                                                   "; to keep every step, leave it unset"));
  }
  for (const auto& policy : options.preservation_policies) {
    if (policy == nullptr) return absl::InvalidArgumentError("a preservation policy is null");
  }
  for (const auto& policy : options.save_policies) {
    if (policy == nullptr) return absl::InvalidArgumentError("a save policy is null");
  }
  if (options.todelete_subdir.find('/') != std::string::npos || options.todelete_subdir == "." ||
      options.todelete_subdir == "..") {
    return absl::InvalidArgumentError(
        absl::StrCat("todelete_subdir '", options.todelete_subdir, "' must be one directory name"));
  }
  return absl::OkStatus();
}

absl::Status OpenRoot(Filesystem& fs, const std::string& root, const CheckpointerOptions& options) {
  absl::StatusOr<FileInfo> info = fs.Stat(root);
  if (absl::IsNotFound(info.status())) {
    if (!options.create_root || options.read_only) {
      return absl::NotFoundError(absl::StrCat("checkpoint root ", root, " does not exist",
                                              options.read_only ? "" : " (create_root is off)"));
    }
    return Annotate(CreateDirs(fs, root, /*sync=*/true),
                    absl::StrCat("creating checkpoint root ", root));
  }
  CAIRN_RETURN_IF_ERROR(info.status());
  if (!info->is_directory()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "checkpoint root ", root, " is not a directory (it is ",
        info->is_symlink() ? "a symlink; cairn does not follow symlinks" : "a file", ")"));
  }
  return absl::OkStatus();
}

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

StepListingOptions ListingFor(const CheckpointerOptions& options, Filesystem* fs) {
  StepListingOptions listing;
  listing.name_format = options.name_format;
  listing.commit_mode = options.commit_mode;
  listing.filesystem = fs;
  return listing;
}

StepDeletionOptions DeletionFor(const std::string& root, const CheckpointerOptions& options,
                                Filesystem* fs) {
  StepDeletionOptions deletion;
  deletion.commit_mode = options.commit_mode;
  deletion.filesystem = fs;
  if (!options.todelete_subdir.empty()) deletion.move_to = JoinPath(root, options.todelete_subdir);
  return deletion;
}

// A lone tree is saved as the checkpointable "pytree", as cairn::Save does.
Checkpointables PyTreeItems(const Tree& state) {
  Checkpointables items;
  items.emplace(kDefaultPyTreeName, state);
  return items;
}

}  // namespace

absl::StatusOr<Checkpointer::Opened> Checkpointer::OpenAlone(const std::string& named_root,
                                                             const CheckpointerOptions& options) {
  Filesystem* fs = options.filesystem ? options.filesystem : Filesystem::Default();
  Opened opened;
  CAIRN_ASSIGN_OR_RETURN(opened.root, ResolveRoot(*fs, named_root));
  CAIRN_RETURN_IF_ERROR(OpenRoot(*fs, opened.root, options));
  std::vector<SkippedStepName> skipped;
  StepListingOptions listing = ListingFor(options, fs);
  listing.skipped = &skipped;
  CAIRN_ASSIGN_OR_RETURN(opened.steps, ListSteps(opened.root, listing));
  for (const SkippedStepName& name : skipped) {
    std::fprintf(stderr, "cairn: %s\n", name.reason.c_str());
  }
  return opened;
}

absl::StatusOr<std::unique_ptr<Checkpointer>> Checkpointer::Create(const std::string& named_root,
                                                                   CheckpointerOptions options) {
  Filesystem* fs = options.filesystem ? options.filesystem : Filesystem::Default();
  absl::Status checked = CheckOptions(options);
  if (checked.ok() && options.handle_sigterm) checked = InstallPreemptionHandler();
  Opened opened;
  if (options.coordinator != nullptr) {
    CAIRN_ASSIGN_OR_RETURN(opened, OpenTogether(named_root, options, checked));
  } else {
    CAIRN_RETURN_IF_ERROR(checked);
    CAIRN_ASSIGN_OR_RETURN(opened, OpenAlone(named_root, options));
  }
  const std::string root = std::move(opened.root);
  const std::vector<int64_t> steps = std::move(opened.steps);

  std::unique_ptr<Checkpointer> checkpointer(new Checkpointer(root, std::move(options), fs));
  Checkpointer& c = *checkpointer;
  if (c.together()) {
    CAIRN_ASSIGN_OR_RETURN(c.save_coordinator_, c.coordinator_->Duplicate());
  }
  absl::MutexLock lock(&c.mu_);
  for (int64_t step : steps) c.steps_.emplace_hint(c.steps_.end(), step, std::nullopt);
  if (!steps.empty()) c.highest_step_ = steps.back();
  // Of a run saved together, only the primary cleans up and retires steps.
  if (!c.primary()) return checkpointer;
  if (!c.options_.read_only && c.options_.cleanup_temporaries) {
    // In the background: the first save need not wait for a crashed run's leftovers to go.
    ++c.background_tasks_;
    c.deleter_->Schedule([&c] {
      CleanupOptions cleanup;
      cleanup.max_age = c.options_.temporary_max_age;
      cleanup.filesystem = &c.fs_;
      absl::StatusOr<int> removed = CleanupStaleTemporaries(c.root_, cleanup);
      absl::MutexLock lock(&c.mu_);
      if (!removed.ok() && c.retention_error_.ok()) {
        c.retention_error_ = Annotate(removed.status(), "removing stale temporaries");
      }
      --c.background_tasks_;
    });
  }
  // A run killed between a commit and its retention pass left more steps than its policies
  // keep; waiting for the next commit would keep them through a finished run.
  if (!c.options_.read_only && !c.preservation_.empty()) c.ScheduleRetentionLocked();
  return checkpointer;
}

Checkpointer::Checkpointer(std::string root, CheckpointerOptions options, Filesystem* fs)
    : root_(std::move(root)),
      options_(std::move(options)),
      fs_(*fs),
      preservation_(options_.preservation_policies),
      save_policies_(options_.save_policies),
      staging_(std::make_unique<internal::StagingPool>()),
      coordinator_(options_.coordinator),
      saver_(std::make_unique<ThreadPool>(1)),
      deleter_(std::make_unique<ThreadPool>(1)) {
  if (options_.max_to_keep)
    preservation_.push_back(PreservationPolicy::LatestN(*options_.max_to_keep));
  if (save_policies_.empty()) save_policies_.push_back(SavePolicy::EveryNSteps(1));
}

Checkpointer::~Checkpointer() {
  const absl::Status status = Close();
  if (!status.ok()) {
    std::fprintf(stderr, "cairn: checkpointer for %s closed with an unreported error: %s\n",
                 root_.c_str(), status.ToString().c_str());
  }
}

std::string Checkpointer::StepDir(int64_t step) const {
  return StepPath(root_, step, *options_.name_format);
}

CheckpointOptions Checkpointer::StepOptions() const {
  CheckpointOptions options;
  options.commit_mode = options_.commit_mode;
  options.store_save = options_.store_save;
  options.store_load = options_.store_load;
  options.filesystem = &fs_;
  options.registry = options_.registry;
  return options;
}

bool Checkpointer::Preempted() const {
  if (together()) return agreed_preemption_.load();
  return preempted_.load() || (options_.handle_sigterm && PreemptionSignalled());
}

std::optional<int64_t> Checkpointer::LatestIncludingInFlightLocked() const {
  std::optional<int64_t> latest = highest_step_;
  if (!steps_.empty()) latest = std::max(latest.value_or(0), steps_.rbegin()->first);
  if (!in_flight_.empty()) latest = std::max(latest.value_or(0), *in_flight_.rbegin());
  return latest;
}

bool Checkpointer::ShouldSave(int64_t step) const {
  if (together()) {
    absl::StatusOr<bool> save = DecideTogether(step, nullptr, absl::OkStatus());
    if (save.ok()) return *save;
    // The coordinator stays broken, so the next Save reports this; say it here meanwhile.
    std::fprintf(stderr, "cairn: ShouldSave(%lld) could not agree with the other processes: %s\n",
                 static_cast<long long>(step), save.status().ToString().c_str());
    return false;
  }
  absl::MutexLock lock(&mu_);
  return ShouldSaveLocked(step);
}

bool Checkpointer::ShouldSaveLocked(int64_t step) const {
  if (options_.read_only || step < 0 || closed_) return false;
  const std::optional<int64_t> latest = LatestIncludingInFlightLocked();
  if (latest && step <= *latest) return false;
  if (Preempted()) return true;
  SaveDecisionContext context;
  context.step = step;
  context.latest_step = latest;
  context.last_save_time = last_save_start_;
  context.save_in_progress = !in_flight_.empty();
  context.preempted = false;
  context.now = absl::Now();
  for (const auto& policy : save_policies_) {
    if (policy->ShouldSave(context)) return true;
  }
  return false;
}

absl::Status Checkpointer::ValidateSave(int64_t step, const Checkpointables& items,
                                        const SaveArgs& args) const {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat("cannot save step ", step, " under ", root_,
                                                      ": the checkpointer is read-only"));
  }
  if (step < 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot save step ", step, ": steps are >= 0"));
  }
  if (items.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot save step ", step, ": there is nothing to save"));
  }
  const HandlerRegistry& registry =
      options_.registry ? *options_.registry : HandlerRegistry::Global();
  for (const auto& [name, value] : items) {
    CAIRN_RETURN_IF_ERROR(ValidateCheckpointableName(name));
    absl::StatusOr<std::shared_ptr<const CheckpointableHandler>> handler = registry.ForValue(value);
    if (!handler.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("checkpointable '", name, "': ", handler.status().message()));
    }
  }
  // Refused here, not by the background save: the caller learns of it from this call.
  CAIRN_RETURN_IF_ERROR(CheckSavable(items));
  if (!args.metrics.is_object() || !args.custom_metadata.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot save step ", step, ": metrics and custom_metadata must be JSON objects"));
  }
  CAIRN_RETURN_IF_ERROR(CheckJsonForSave(args.metrics, "the metrics"));
  CAIRN_RETURN_IF_ERROR(CheckJsonForSave(args.custom_metadata, "the custom metadata"));
  for (const auto& policy : preservation_) {
    if (std::optional<Ranking> ranking = RankingOf(*policy)) {
      absl::StatusOr<std::optional<double>> value = ranking->metric(args.metrics);
      if (!value.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot save step ", step, ": its metrics cannot be ranked by the best-N ",
                         "preservation policy: ", value.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<bool> Checkpointer::DecideLocked(int64_t step, const SaveArgs& args) const {
  if (closed_) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot save step ", step, ": the checkpointer is closed"));
  }
  if (in_flight_.count(step) > 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("step ", step, " is being saved already; wait for that save first"));
  }
  const bool exists = steps_.count(step) > 0;
  if (exists && !args.overwrite) {
    return absl::AlreadyExistsError(absl::StrCat("step ", step, " already exists in ", root_,
                                                 "; pass overwrite to replace it"));
  }
  const std::optional<int64_t> latest = LatestIncludingInFlightLocked();
  if (!exists && latest && step < *latest && !args.force) {
    return absl::InvalidArgumentError(absl::StrCat(
        "step ", step, " is lower than the latest step ", *latest, " in ", root_,
        "; pass force to save it anyway (a restarted loop usually resumes from LatestStep())"));
  }
  // An explicit overwrite or force is the caller's decision; otherwise the policies decide.
  if (args.force || exists) return true;
  return ShouldSaveLocked(step);
}

absl::Status Checkpointer::TakeUnreportedSaveErrorsLocked(std::optional<int64_t> attempting) {
  std::vector<std::string> failures;
  std::vector<int64_t> steps;
  absl::StatusCode code = absl::StatusCode::kOk;
  std::vector<std::shared_ptr<internal::SaveState>> pending;
  for (std::shared_ptr<internal::SaveState>& save : saves_) {
    if (!save->done()) {
      pending.push_back(std::move(save));
      continue;
    }
    absl::Status error = save->TakeUnreportedError();
    if (error.ok()) continue;
    if (code == absl::StatusCode::kOk) code = error.code();
    failures.push_back(absl::StrCat("step ", save->step(), ": ", error.message()));
    steps.push_back(save->step());
  }
  saves_ = std::move(pending);
  if (failures.empty()) return absl::OkStatus();
  const std::string failed = absl::StrJoin(steps, ", ");
  std::string message = absl::StrCat("a background save failed and was not committed (",
                                     absl::StrJoin(failures, "; "), ")");
  if (attempting) {
    message = absl::StrCat("step ", *attempting, " was not attempted: the earlier failure of step",
                           steps.size() > 1 ? "s " : " ", failed, " is reported here: ", message);
  }
  absl::Status status(code, message);
  status.SetPayload(kEarlierSaveFailurePayload, absl::Cord(failed));
  return status;
}

absl::StatusOr<bool> Checkpointer::Save(int64_t step, const Tree& state, const SaveArgs& args) {
  return SaveItems(step, PyTreeItems(state), args);
}

absl::StatusOr<bool> Checkpointer::Save(int64_t step, const Checkpointables& items,
                                        const SaveArgs& args) {
  return SaveItems(step, Checkpointables(items), args);
}

absl::StatusOr<bool> Checkpointer::SaveItems(int64_t step, Checkpointables items,
                                             const SaveArgs& args) {
  // The caller waits for the commit, so its arrays cannot change under the save: no copy.
  CAIRN_ASSIGN_OR_RETURN(const SaveFuture future,
                         StartSave(step, std::move(items), args, AsyncCopy::kNoCopy));
  if (!future.started()) return false;
  CAIRN_RETURN_IF_ERROR(future.Wait());
  return true;
}

absl::StatusOr<SaveFuture> Checkpointer::SaveAsync(int64_t step, const Tree& state,
                                                   const SaveArgs& args) {
  return SaveItemsAsync(step, PyTreeItems(state), args);
}

absl::StatusOr<SaveFuture> Checkpointer::SaveAsync(int64_t step, const Checkpointables& items,
                                                   const SaveArgs& args) {
  return SaveItemsAsync(step, Checkpointables(items), args);
}

absl::StatusOr<SaveFuture> Checkpointer::SaveItemsAsync(int64_t step, Checkpointables items,
                                                        const SaveArgs& args) {
  CAIRN_ASSIGN_OR_RETURN(const SaveFuture future,
                         StartSave(step, std::move(items), args, options_.async_copy));
  // A preempted process may be killed any moment after this returns: the final save must be
  // durable by then.
  if (future.started() && Preempted()) CAIRN_RETURN_IF_ERROR(future.Wait());
  return future;
}

absl::StatusOr<SaveFuture> Checkpointer::StartSave(int64_t step, Checkpointables items,
                                                   const SaveArgs& args, AsyncCopy copy) {
  const absl::Time called = absl::Now();
  bool replacing = false;
  if (together()) {
    // The primary decides for all, the lease of a step to overwrite included.
    CAIRN_ASSIGN_OR_RETURN(const bool save,
                           DecideTogether(step, &args, ValidateSave(step, items, args)));
    if (!save) return SaveFuture(step);
  } else {
    CAIRN_RETURN_IF_ERROR(ValidateSave(step, items, args));
    absl::MutexLock lock(&mu_);
    CAIRN_ASSIGN_OR_RETURN(const bool save, DecideLocked(step, args));
    if (!save) return SaveFuture(step);
    replacing = steps_.count(step) > 0;
  }
  if (replacing) {
    CAIRN_ASSIGN_OR_RETURN(const bool leased, IsLocked(StepDir(step), &fs_));
    if (leased) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot overwrite step ", step, ": a reader leases it (", StepDir(step), "/",
                       kLockedDirName, "); try again once it is released"));
    }
  }

  auto job = std::make_unique<SaveJob>();
  job->step = step;
  job->args = args;
  job->started = called;
  job->report.step = step;
  {
    absl::MutexLock lock(&mu_);
    auto has_room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return closed_ || static_cast<int>(in_flight_.size()) < options_.max_saves_in_flight;
    };
    mu_.Await(absl::Condition(&has_room));
    if (together()) {
      // Every process saves the step agreed on: this one takes part even when it cannot.
      absl::Status failure = TakeUnreportedSaveErrorsLocked(step);
      if (failure.ok() && closed_) {
        failure = absl::FailedPreconditionError(
            absl::StrCat("cannot save step ", step, ": the checkpointer is closed"));
      }
      if (!failure.ok()) return JoinSaveWithFailureLocked(step, std::move(failure));
    } else {
      CAIRN_RETURN_IF_ERROR(TakeUnreportedSaveErrorsLocked(step));
      // Decided again: the wait may have seen a save of this step commit, or the checkpointer
      // close.
      CAIRN_ASSIGN_OR_RETURN(const bool save, DecideLocked(step, args));
      if (!save) return SaveFuture(step);
    }
    in_flight_.insert(step);
    ++background_tasks_;
    last_save_start_ = called;
  }
  const absl::Time room = absl::Now();
  job->report.waited_for_previous = room - called;

  absl::StatusOr<internal::StateSnapshot> snapshot =
      internal::StateSnapshot::Take(std::move(items), copy, staging_.get(), ThreadPool::Shared());
  if (!snapshot.ok()) {
    absl::MutexLock lock(&mu_);
    in_flight_.erase(step);
    --background_tasks_;
    const absl::Status failure =
        Annotate(snapshot.status(), absl::StrCat("step ", step, " was not saved"));
    if (together()) return JoinSaveWithFailureLocked(step, failure);
    return failure;
  }
  job->snapshot = *std::move(snapshot);
  const absl::Time copied = absl::Now();
  job->report.copy = copied - room;
  job->report.blocking = copied - called;
  job->report.bytes_copied = job->snapshot.bytes_copied();
  job->state = std::make_shared<internal::SaveState>(step);
  SaveFuture future(job->state);
  {
    absl::MutexLock lock(&mu_);
    saves_.push_back(job->state);
  }
  saver_->Schedule([this, job = std::move(job)]() mutable { RunSave(*job); });
  return future;
}

void Checkpointer::RunSave(SaveJob& job) {
  CheckpointOptions options = StepOptions();
  options.overwrite = job.args.overwrite;
  options.metrics = job.args.metrics;
  options.custom_metadata = job.args.custom_metadata;
  options.performance_metrics = {
      {"blocking_duration_secs", Seconds(job.report.blocking)},
      {"wait_for_previous_secs", Seconds(job.report.waited_for_previous)},
      {"host_copy_secs", Seconds(job.report.copy)},
      {"host_copy_bytes", job.report.bytes_copied},
  };
  CheckpointSaveStats stats;
  options.stats = &stats;
  options.coordinator = save_coordinator_.get();
  const absl::Status status = SaveCheckpointables(StepDir(job.step), job.snapshot.items(), options);
  // The staging memory goes back to the pool before the next save is let in to reuse it.
  job.snapshot.Release();
  SaveReport& report = job.report;
  report.status = status;
  if (status.ok()) {
    report.write = stats.write_duration;
    report.commit = stats.commit_duration;
    report.bytes_written = stats.bytes_written;
  }
  report.total = absl::Now() - job.started;
  {
    absl::MutexLock lock(&mu_);
    if (status.ok()) {
      steps_[job.step] = StepInfo{job.step, stats.commit_time, job.args.metrics};
      highest_step_ = std::max(highest_step_.value_or(job.step), job.step);
    }
    in_flight_.erase(job.step);
    // Under the lock, so that a caller woken by the room this makes finds the outcome.
    job.state->Finish(report);
  }
  if (options_.on_save_finished) options_.on_save_finished(report);
  absl::MutexLock lock(&mu_);
  if (status.ok() && !preservation_.empty() && primary()) ScheduleRetentionLocked();
  --background_tasks_;
}

void Checkpointer::ScheduleRetentionLocked() {
  if (retention_queued_) return;  // the queued pass will see this step too
  retention_queued_ = true;
  ++background_tasks_;
  deleter_->Schedule([this] { RunRetention(); });
}

absl::StatusOr<std::vector<StepInfo>> Checkpointer::StepInfos() const {
  std::vector<int64_t> missing;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [step, info] : steps_) {
      if (!info) missing.push_back(step);
    }
  }
  std::vector<std::pair<int64_t, StepInfo>> read;
  for (int64_t step : missing) {
    absl::StatusOr<StepInfo> info = internal::ReadStepInfo(fs_, StepDir(step), step);
    if (absl::IsNotFound(info.status())) continue;  // deleted by someone else meanwhile
    CAIRN_RETURN_IF_ERROR(info.status());
    read.emplace_back(step, *std::move(info));
  }
  absl::MutexLock lock(&mu_);
  for (auto& [step, info] : read) {
    auto it = steps_.find(step);
    if (it != steps_.end() && !it->second) it->second = std::move(info);
  }
  std::vector<StepInfo> infos;
  infos.reserve(steps_.size());
  for (const auto& [step, info] : steps_) {
    if (info) infos.push_back(*info);
  }
  return infos;
}

void Checkpointer::RunRetention() {
  {
    absl::MutexLock lock(&mu_);
    retention_queued_ = false;
  }
  const absl::Status status = RetentionPass();
  absl::MutexLock lock(&mu_);
  if (!status.ok() && retention_error_.ok()) retention_error_ = status;
  --background_tasks_;
}

absl::Status Checkpointer::ApplyRetention() {
  if (options_.read_only) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot apply retention under ", root_, ": the checkpointer is read-only"));
  }
  if (together()) {
    return RunOnPrimary(
        "cairn.checkpointer.retention", [this] { return ApplyRetentionHere(); }, false);
  }
  return ApplyRetentionHere();
}

absl::Status Checkpointer::ApplyRetentionHere() {
  // On the deletion thread, so that it never runs beside another pass or a Delete.
  absl::Status status = absl::InternalError("retention did not run");
  absl::Notification done;
  deleter_->Schedule([&] {
    status = RetentionPass();
    done.Notify();
  });
  done.WaitForNotification();
  return status;
}

absl::Status Checkpointer::RetentionPass() {
  absl::Status status;
  absl::StatusOr<std::vector<StepInfo>> infos = StepInfos();
  if (!infos.ok()) {
    status = infos.status();
  } else {
    std::vector<int64_t> retire =
        internal::StepsToRetire(*infos, preservation_, options_.allow_deleting_latest, absl::Now());
    const StepDeletionOptions deletion = DeletionFor(root_, options_, &fs_);
    for (int64_t step : retire) {
      {
        absl::MutexLock lock(&mu_);
        if (in_flight_.count(step) > 0) continue;  // being overwritten: not ours to delete now
      }
      absl::StatusOr<StepDeletion> outcome = DeleteStepUnlessLeased(StepDir(step), deletion);
      if (!outcome.ok()) {
        if (status.ok()) status = Annotate(outcome.status(), absl::StrCat("retiring step ", step));
        continue;
      }
      // A leased step stays listed and is retried by the next pass.
      if (*outcome == StepDeletion::kLeased) continue;
      absl::MutexLock lock(&mu_);
      ForgetStepLocked(step);
    }
  }
  return status;
}

absl::Status Checkpointer::WaitUntilFinished() {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return background_tasks_ == 0; };
  mu_.Await(absl::Condition(&idle));
  absl::Status status = TakeUnreportedSaveErrorsLocked();
  if (status.ok()) status = std::move(retention_error_);
  retention_error_ = absl::OkStatus();
  return status;
}

absl::Status Checkpointer::Close() {
  absl::Status status = WaitUntilFinished();
  absl::MutexLock lock(&mu_);
  closed_ = true;
  return status;
}

bool Checkpointer::IsSavingInProgress() const {
  absl::MutexLock lock(&mu_);
  return !in_flight_.empty();
}

std::optional<int64_t> Checkpointer::LatestStep() const {
  absl::MutexLock lock(&mu_);
  if (steps_.empty()) return std::nullopt;
  return steps_.rbegin()->first;
}

std::vector<int64_t> Checkpointer::AllSteps() const {
  absl::MutexLock lock(&mu_);
  std::vector<int64_t> steps;
  steps.reserve(steps_.size());
  for (const auto& [step, info] : steps_) steps.push_back(step);
  return steps;
}

absl::Status Checkpointer::RequireCommitted(int64_t step) const {
  absl::MutexLock lock(&mu_);
  if (steps_.count(step) > 0) return absl::OkStatus();
  std::string known = "there are none";
  if (!steps_.empty()) {
    known = absl::StrCat("latest is ", steps_.rbegin()->first, ", ", steps_.size(), " in all");
  }
  return absl::NotFoundError(absl::StrCat("step ", step, " is not a committed step in ", root_,
                                          " (", known, "); Reload() picks up steps of others"));
}

absl::StatusOr<std::optional<int64_t>> Checkpointer::BestStep() const {
  std::optional<Ranking> ranking;
  for (const auto& policy : preservation_) {
    if ((ranking = RankingOf(*policy))) break;
  }
  if (!ranking) {
    return absl::FailedPreconditionError(
        "BestStep ranks steps by the metric of a best-N preservation policy, and none is "
        "configured");
  }
  CAIRN_ASSIGN_OR_RETURN(const std::vector<StepInfo> infos, StepInfos());
  std::optional<int64_t> best;
  double best_value = 0;
  for (const StepInfo& info : infos) {
    absl::StatusOr<std::optional<double>> value = ranking->metric(info.metrics);
    if (!value.ok() || !value->has_value()) continue;
    const double v = ranking->mode == MetricMode::kMin ? **value : -**value;
    // Among equals the later step wins, as the policy keeps it.
    if (!best || v <= best_value) {
      best = info.step;
      best_value = v;
    }
  }
  return best;
}

absl::StatusOr<nlohmann::json> Checkpointer::Metrics(int64_t step) const {
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  {
    absl::MutexLock lock(&mu_);
    auto it = steps_.find(step);
    if (it != steps_.end() && it->second) return it->second->metrics;
  }
  CAIRN_ASSIGN_OR_RETURN(const StepInfo info, internal::ReadStepInfo(fs_, StepDir(step), step));
  absl::MutexLock lock(&mu_);
  auto it = steps_.find(step);
  if (it != steps_.end() && !it->second) it->second = info;
  return info.metrics;
}

absl::StatusOr<Tree> Checkpointer::Load(int64_t step, const Tree& abstract,
                                        const CheckpointableName& name) const {
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  return cairn::Load(StepDir(step), abstract, name, StepOptions());
}

absl::StatusOr<Checkpointables> Checkpointer::LoadCheckpointables(
    int64_t step, const std::map<std::string, LoadRequest>& requests) const {
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  return cairn::LoadCheckpointables(StepDir(step), requests, StepOptions());
}

absl::StatusOr<CheckpointMetadata> Checkpointer::Metadata(int64_t step) const {
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  return CheckpointMetadataOf(StepDir(step), StepOptions());
}

absl::StatusOr<std::map<std::string, CheckpointableInfo>> Checkpointer::CheckpointablesMetadata(
    int64_t step) const {
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  return cairn::CheckpointablesMetadata(StepDir(step), StepOptions());
}

absl::Status Checkpointer::Reload() {
  if (together()) {
    return RunOnPrimary(
        "cairn.checkpointer.reload", [this] { return ReloadHere(); }, true);
  }
  return ReloadHere();
}

absl::Status Checkpointer::ReloadHere() {
  CAIRN_ASSIGN_OR_RETURN(const std::vector<int64_t> listed,
                         ListSteps(root_, ListingFor(options_, &fs_)));
  std::vector<int64_t> vanished;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& [step, info] : steps_) {
      if (!std::binary_search(listed.begin(), listed.end(), step)) vanished.push_back(step);
    }
  }
  // A step this process committed after the listing was taken is still there: keep it.
  std::set<int64_t> still_there;
  for (int64_t step : vanished) {
    absl::StatusOr<bool> committed =
        IsCommittedCheckpoint(StepDir(step), options_.commit_mode, &fs_);
    if (committed.ok() && *committed) still_there.insert(step);
  }
  absl::MutexLock lock(&mu_);
  AdoptListingLocked(listed, still_there);
  return absl::OkStatus();
}

void Checkpointer::AdoptListingLocked(const std::vector<int64_t>& listed,
                                      const std::set<int64_t>& also_kept) {
  // What is known of a step already (its info, read lazily) survives the new listing.
  std::map<int64_t, std::optional<StepInfo>> steps;
  for (int64_t step : listed) {
    auto it = steps_.find(step);
    steps.emplace_hint(steps.end(), step, it != steps_.end() ? it->second : std::nullopt);
  }
  for (int64_t step : also_kept) steps.emplace(step, steps_[step]);
  steps_ = std::move(steps);
  if (!steps_.empty()) {
    highest_step_ = std::max(highest_step_.value_or(0), steps_.rbegin()->first);
  }
}

absl::Status Checkpointer::Delete(int64_t step) {
  if (options_.read_only) {
    return absl::FailedPreconditionError(absl::StrCat("cannot delete step ", step, " under ", root_,
                                                      ": the checkpointer is read-only"));
  }
  if (together()) {
    return RunOnPrimary(
        "cairn.checkpointer.delete", [this, step] { return DeleteHere(step); }, false);
  }
  return DeleteHere(step);
}

absl::Status Checkpointer::DeleteHere(int64_t step) {
  {
    absl::MutexLock lock(&mu_);
    if (in_flight_.count(step) > 0) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot delete step ", step, ": it is being saved"));
    }
  }
  CAIRN_RETURN_IF_ERROR(RequireCommitted(step));
  const StepDeletionOptions deletion = DeletionFor(root_, options_, &fs_);
  // On the deletion thread, so that it never runs beside a retention pass on the same step.
  absl::StatusOr<StepDeletion> outcome = absl::InternalError("deletion did not run");
  absl::Notification done;
  deleter_->Schedule([&] {
    outcome = DeleteStepUnlessLeased(StepDir(step), deletion);
    done.Notify();
  });
  done.WaitForNotification();
  CAIRN_RETURN_IF_ERROR(outcome.status());
  if (*outcome == StepDeletion::kLeased) {
    return absl::FailedPreconditionError(
        absl::StrCat("step ", step, " is leased by a reader (", StepDir(step), "/", kLockedDirName,
                     ") and was kept; delete it once the reader is done"));
  }
  absl::MutexLock lock(&mu_);
  ForgetStepLocked(step);
  return absl::OkStatus();
}

void Checkpointer::ForgetStepLocked(int64_t step) {
  if (steps_.erase(step) > 0 && together() && primary()) retired_untold_.push_back(step);
}

}  // namespace cairn
