// Outcomes (a status, or success with a payload) sent between processes through a Coordinator,
// so that every process of a multi-process operation returns the same error with its code.
#ifndef CAIRN_UTILS_INTERNAL_COLLECTIVE_OUTCOME_H_
#define CAIRN_UTILS_INTERNAL_COLLECTIVE_OUTCOME_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/utils/coordinator.h"

namespace cairn::internal {

// "S<payload>" for success, "E<code>:<message>" for a failure.
std::string EncodeOutcome(const absl::Status& status, absl::string_view payload = "");
// The payload of a success, or the failure. DataLoss for text no process encoded.
absl::StatusOr<std::string> DecodeOutcome(absl::string_view encoded);

// The first failure among outcomes gathered from every process (by process index), its message
// naming the process and how many others failed; OK when all succeeded.
absl::Status FirstFailure(const std::vector<std::string>& gathered, absl::string_view what);

// The primary's `outcome` (its status, or success with `payload`) on every process: a
// Broadcast. The coordinator's own failure (a deadline, say) is returned as it is.
absl::StatusOr<std::string> ShareOutcome(Coordinator& coordinator, absl::string_view name,
                                         const absl::Status& status,
                                         absl::string_view payload = "");

}  // namespace cairn::internal

#endif  // CAIRN_UTILS_INTERNAL_COLLECTIVE_OUTCOME_H_
