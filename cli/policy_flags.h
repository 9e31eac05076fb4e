// The preservation policies as flags, shared by `ls` (to show what retention would keep) and
// `prune` (to apply them): the Checkpointer's policies, named as a survey reports them.
#ifndef CAIRN_CLI_POLICY_FLAGS_H_
#define CAIRN_CLI_POLICY_FLAGS_H_

#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "cairn/manager/step_survey.h"

namespace cairn::cli {

struct PolicyFlags {
  int keep_latest = 0;
  int64_t keep_every = 0;
  std::vector<std::string> keep_best;  // METRIC:min|max:N
  std::string keep_within;             // a duration: steps newer than now - it
  std::string keep_every_interval;     // a duration: one step per interval
  std::vector<int64_t> keep_steps;
};

void AddPolicyFlags(CLI::App& command, PolicyFlags& flags);
// The policies the flags name, in the order above; InvalidArgument for a malformed one.
absl::StatusOr<std::vector<NamedPolicy>> PoliciesOf(const PolicyFlags& flags);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_POLICY_FLAGS_H_
