// Whether a directory with a step's name holds a checkpoint at all: Orbax's steps and cairn's
// always hold _CHECKPOINT_METADATA (and cairn's a commit marker); an empty or foreign directory
// holds neither, and is not a step.
#ifndef CAIRN_STEPS_INTERNAL_STEP_CONTENTS_H_
#define CAIRN_STEPS_INTERNAL_STEP_CONTENTS_H_

#include <string>

#include "absl/status/statusor.h"
#include "cairn/utils/filesystem.h"

namespace cairn::internal {

// Whether the directory `dir` holds _CHECKPOINT_METADATA or a commit marker. One Stat for a
// checkpoint that has its metadata (every one written by cairn or Orbax), two otherwise.
absl::StatusOr<bool> HoldsCheckpoint(Filesystem& fs, const std::string& dir);

}  // namespace cairn::internal

#endif  // CAIRN_STEPS_INTERNAL_STEP_CONTENTS_H_
