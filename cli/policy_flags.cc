#include "policy_flags.h"

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"

namespace cairn::cli {
namespace {

absl::StatusOr<absl::Duration> ParsePositiveDuration(const std::string& flag,
                                                     const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat(flag, " wants a positive duration such as 90m or 24h, not '", text, "'"));
  }
  return duration;
}

absl::StatusOr<NamedPolicy> BestPolicy(const std::string& spec) {
  const std::vector<std::string> parts = absl::StrSplit(spec, ':');
  int n = 0;
  if (parts.size() != 3 || parts[0].empty() || (parts[1] != "min" && parts[1] != "max") ||
      !absl::SimpleAtoi(parts[2], &n) || n <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--keep-best wants METRIC:min|max:N (keep the N steps with the smallest or largest "
        "METRIC), not '",
        spec, "'"));
  }
  const MetricMode mode = parts[1] == "min" ? MetricMode::kMin : MetricMode::kMax;
  return NamedPolicy{absl::StrCat("keep-best ", spec),
                     PreservationPolicy::BestN(MetricKey(parts[0]), mode, n)};
}

}  // namespace

void AddPolicyFlags(CLI::App& command, PolicyFlags& flags) {
  command.add_option("--keep-latest", flags.keep_latest, "Keep the N most recent steps")
      ->check(CLI::PositiveNumber)
      ->group("Policies");
  command.add_option("--keep-every", flags.keep_every, "Keep steps that are multiples of K")
      ->check(CLI::PositiveNumber)
      ->group("Policies");
  command
      .add_option("--keep-best", flags.keep_best,
                  "Keep the N best steps by a metric: METRIC:min|max:N (repeatable)")
      ->group("Policies");
  command.add_option("--keep-within", flags.keep_within, "Keep steps newer than DURATION (24h)")
      ->group("Policies");
  command
      .add_option("--keep-every-interval", flags.keep_every_interval,
                  "Keep one step per DURATION (the first, then each one DURATION later)")
      ->group("Policies");
  command.add_option("--keep-step", flags.keep_steps, "Keep this step (repeatable)")
      ->group("Policies");
}

absl::StatusOr<std::vector<NamedPolicy>> PoliciesOf(const PolicyFlags& flags) {
  std::vector<NamedPolicy> policies;
  if (flags.keep_latest > 0) {
    policies.push_back({absl::StrCat("keep-latest ", flags.keep_latest),
                        PreservationPolicy::LatestN(flags.keep_latest)});
  }
  if (flags.keep_every > 0) {
    policies.push_back({absl::StrCat("keep-every ", flags.keep_every),
                        PreservationPolicy::EveryNSteps(flags.keep_every)});
  }
  for (const std::string& spec : flags.keep_best) {
    absl::StatusOr<NamedPolicy> best = BestPolicy(spec);
    if (!best.ok()) return best.status();
    policies.push_back(*std::move(best));
  }
  if (!flags.keep_within.empty()) {
    absl::StatusOr<absl::Duration> within =
        ParsePositiveDuration("--keep-within", flags.keep_within);
    if (!within.ok()) return within.status();
    policies.push_back({absl::StrCat("keep-within ", flags.keep_within),
                        PreservationPolicy::LatestDuration(*within)});
  }
  if (!flags.keep_every_interval.empty()) {
    absl::StatusOr<absl::Duration> interval =
        ParsePositiveDuration("--keep-every-interval", flags.keep_every_interval);
    if (!interval.ok()) return interval.status();
    policies.push_back({absl::StrCat("keep-every-interval ", flags.keep_every_interval),
                        PreservationPolicy::EveryNSeconds(*interval)});
  }
  if (!flags.keep_steps.empty()) {
    const std::set<int64_t> steps(flags.keep_steps.begin(), flags.keep_steps.end());
    policies.push_back({absl::StrCat("keep-step ", absl::StrJoin(steps, ",")),
                        PreservationPolicy::CustomSteps(steps)});
  }
  return policies;
}

}  // namespace cairn::cli
