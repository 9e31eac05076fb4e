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

struct StepListingOptions {
  std::shared_ptr<const NameFormat> name_format = NameFormat::Plain();
  CommitMode commit_mode = CommitMode::kRename;
  Filesystem* filesystem = nullptr;
};

// Steps whose directories under `root` parse with the name format and are committed, in
// ascending order. Temporary directories, uncommitted ones (commit-file mode), files, symlinks
// and unrelated names are ignored. NotFound if `root` is missing, FailedPrecondition if it is
// not a directory.
absl::StatusOr<std::vector<int64_t>> ListSteps(const std::string& root,
                                               const StepListingOptions& options = {});

// `root/<name of step>`.
std::string StepPath(const std::string& root, int64_t step, const NameFormat& format);

}  // namespace cairn

#endif  // CAIRN_STEPS_STEP_LISTING_H_
