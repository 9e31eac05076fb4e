#include "cairn/steps/step_listing.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/steps/internal/step_contents.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

absl::StatusOr<std::vector<int64_t>> ListSteps(const std::string& named_root,
                                               const StepListingOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string root, ResolveRoot(fs, named_root));
  absl::StatusOr<std::vector<DirEntry>> entries = fs.ListDirEntries(root);
  if (!entries.ok()) {
    if (absl::IsNotFound(entries.status())) {
      return absl::NotFoundError(absl::StrCat("checkpoint root ", root, " does not exist"));
    }
    if (absl::IsFailedPrecondition(entries.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("checkpoint root ", root, " is not a directory"));
    }
    return entries.status();
  }
  std::vector<int64_t> steps;
  steps.reserve(entries->size());
  for (const DirEntry& entry : *entries) {
    if (entry.type != FileInfo::Type::kDirectory) continue;
    const std::optional<int64_t> step = options.name_format->Parse(entry.name);
    if (!step) continue;
    const std::string dir = JoinPath(root, entry.name);
    if (options.commit_mode == CommitMode::kCommitFile) {
      absl::StatusOr<bool> committed = PathExists(fs, JoinPath(dir, kCommitMarkerFileName));
      if (!committed.ok() || !*committed) continue;
    } else {
      // Rename mode never makes a step's directory in place, so this is not a save in progress:
      // it was made by hand, or left by another tool. (When it cannot be told, it is listed.)
      absl::StatusOr<bool> holds = internal::HoldsCheckpoint(fs, dir);
      if (holds.ok() && !*holds) {
        if (options.skipped != nullptr) {
          options.skipped->push_back(
              {entry.name,
               absl::StrCat(dir, " is not a step: it holds neither ", kCheckpointMetadataFileName,
                            " nor ", kCommitMarkerFileName, "; it is ignored")});
        }
        continue;
      }
    }
    steps.push_back(*step);
  }
  std::sort(steps.begin(), steps.end());
  // Two spellings of one step (a read format accepting several) count once.
  steps.erase(std::unique(steps.begin(), steps.end()), steps.end());
  return steps;
}

std::string StepPath(const std::string& root, int64_t step, const NameFormat& format) {
  return JoinPath(root, format.Build(step));
}

}  // namespace cairn
