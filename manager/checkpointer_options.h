// The options of a Checkpointer (when to save, what to keep, how to write) and of one save.
#ifndef CAIRN_MANAGER_CHECKPOINTER_OPTIONS_H_
#define CAIRN_MANAGER_CHECKPOINTER_OPTIONS_H_

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "cairn/manager/preservation_policy.h"
#include "cairn/manager/save_policy.h"
#include "cairn/manager/save_report.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"
#include "nlohmann/json.hpp"

namespace cairn {

// What an async save does with the caller's arrays before SaveAsync returns.
enum class AsyncCopy {
  // Copies them into host staging memory (reused from one save to the next): the caller may
  // change its state as soon as SaveAsync returns. The default.
  kHostCopy,
  // Saves them where they are: the caller must not change them until the save's future is
  // ready. Costs the training thread nothing but the wait for earlier saves.
  kNoCopy,
};

struct CheckpointerOptions {
  // When to save: a step is saved when any policy says so. Empty: every step (Orbax's default
  // interval of 1). A preemption (SIGTERM with handle_sigterm, or NotifyPreemption) always
  // saves the next step offered, whatever the policies say.
  std::vector<std::shared_ptr<const SavePolicy>> save_policies;

  // What to keep: a committed step is kept when any policy keeps it. No policies and no
  // max_to_keep: every step is kept (both Orbax APIs' default).
  std::vector<std::shared_ptr<const PreservationPolicy>> preservation_policies;
  // Shortcut for PreservationPolicy::LatestN(max_to_keep), added to the policies above.
  std::optional<int> max_to_keep;
  // The latest committed step is kept whatever the policies say (a best-N policy alone would
  // otherwise delete the step a restart needs), unless this is set.
  bool allow_deleting_latest = false;
  // When non-empty, retired steps are moved into root/<todelete_subdir> instead of deleted.
  std::string todelete_subdir;

  std::shared_ptr<const NameFormat> name_format = NameFormat::Plain();
  CommitMode commit_mode = CommitMode::kRename;
  // Create the root directory (and its parents) when it does not exist.
  bool create_root = true;
  // For evaluators and tools: list, read and load, never save, delete or clean up.
  bool read_only = false;

  AsyncCopy async_copy = AsyncCopy::kHostCopy;
  // Saves running in the background at once; a new save first waits for room. Each one in
  // flight holds its own host copy.
  int max_saves_in_flight = 1;

  // Install a process-wide SIGTERM handler that records the preemption instead of ending the
  // process: the next step offered is saved and waited for, and Preempted() becomes true so the
  // loop can stop.
  bool handle_sigterm = false;

  // On start, remove the temporary directories of saves whose writer died (in the
  // background); leftovers of writers on other hosts go once older than this.
  bool cleanup_temporaries = true;
  absl::Duration temporary_max_age = absl::Hours(6);

  // Called on a background thread after each save commits or fails, just after its future
  // becomes ready; WaitUntilFinished and Close wait for these calls too.
  std::function<void(const SaveReport&)> on_save_finished;

  // Passed to every save and load (their filesystem fields are ignored: `filesystem` wins).
  StoreSaveOptions store_save;
  StoreLoadOptions store_load;
  Filesystem* filesystem = nullptr;           // default: Filesystem::Default()
  const HandlerRegistry* registry = nullptr;  // default: HandlerRegistry::Global()

  // The processes that save this run together (an MpiCoordinator, say; docs/MPI.md), or null
  // for this process alone. Not owned; it must outlive the Checkpointer and be used by nothing
  // else meanwhile. Every process opens its own Checkpointer with its coordinator and then makes
  // the same calls in the same order: Create, ShouldSave, Save and SaveAsync (with its own pieces
  // of each array, Array::set_placement), Reload, Delete and ApplyRetention are collective. The
  // primary (process 0) decides (save policies, preemption seen by any process, retention,
  // leases, existing steps) and tells the others, so every process saves the same steps and
  // stops at the same one. Listing, loading and waiting stay local.
  Coordinator* coordinator = nullptr;
};

// Options of one save.
struct SaveArgs {
  // Stored in the step's _CHECKPOINT_METADATA; best-N policies rank steps by them.
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json custom_metadata = nlohmann::json::object();
  // Save even when the save policies would skip the step, or when it is lower than the latest.
  bool force = false;
  // Replace a step of the same number that already exists. Without it that is an error.
  bool overwrite = false;
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_CHECKPOINTER_OPTIONS_H_
