// The committed steps under a root directory, found by their names.
#ifndef CAIRN_STEPS_STEP_LISTING_H_
#define CAIRN_STEPS_STEP_LISTING_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"

namespace cairn {

// A directory with a step's name that is not a step, and why.
struct SkippedStepName {
  std::string name;
  std::string reason;
};

struct StepListingOptions {
  std::shared_ptr<const NameFormat> name_format = NameFormat::Plain();
  CommitMode commit_mode = CommitMode::kRename;
  Filesystem* filesystem = nullptr;
  // When set, receives the directories skipped because they are not steps, though named like
  // one: in rename mode, those holding neither _CHECKPOINT_METADATA nor a commit marker (an
  // empty directory, say). Not the uncommitted directories of commit-file mode, which are
  // saves in progress.
  std::vector<SkippedStepName>* skipped = nullptr;
};

// Steps whose directories under `root` parse with the name format and are committed, in
// ascending order. Temporary directories, uncommitted ones (commit-file mode), directories
// holding neither _CHECKPOINT_METADATA nor a commit marker (rename mode), files, symlinks and
// unrelated names are ignored. One Stat per directory named like a step. NotFound if `root` is
// missing, FailedPrecondition if it is not a directory.
absl::StatusOr<std::vector<int64_t>> ListSteps(const std::string& root,
                                               const StepListingOptions& options = {});

// `root/<name of step>`.
std::string StepPath(const std::string& root, int64_t step, const NameFormat& format);

}  // namespace cairn

#endif  // CAIRN_STEPS_STEP_LISTING_H_
