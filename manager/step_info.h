// What the Checkpointer knows of a committed step: the facts its policies decide on.
#ifndef CAIRN_MANAGER_STEP_INFO_H_
#define CAIRN_MANAGER_STEP_INFO_H_

#include <cstdint>

#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace cairn {

struct StepInfo {
  int64_t step = 0;
  // When the step committed (_CHECKPOINT_METADATA's commit time, else the directory's mtime).
  absl::Time time;
  // The metrics saved with the step; an empty object when none.
  nlohmann::json metrics = nlohmann::json::object();
};

}  // namespace cairn

#endif  // CAIRN_MANAGER_STEP_INFO_H_
