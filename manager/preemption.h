// Preemption notices: a process-wide record that the process was told to stop (SIGTERM), so
// that the training loop saves a final step and exits instead of dying mid-save.
#ifndef CAIRN_MANAGER_PREEMPTION_H_
#define CAIRN_MANAGER_PREEMPTION_H_

#include "absl/status/status.h"

namespace cairn {

// Installs, once per process, a SIGTERM handler that records the signal instead of ending the
// process (a handler installed before it is still called). Idempotent.
absl::Status InstallPreemptionHandler();

// Whether SIGTERM has arrived since InstallPreemptionHandler.
bool PreemptionSignalled();

}  // namespace cairn

#endif  // CAIRN_MANAGER_PREEMPTION_H_
