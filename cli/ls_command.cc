// `cairn ls ROOT`: the steps of a run with size, commit time, metrics and leases, what the given
// policies would keep, and the temporaries and step-like names that are not steps.
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/manager/step_survey.h"
#include "commands.h"
#include "global_options.h"
#include "output.h"
#include "policy_flags.h"
#include "survey_json.h"

namespace cairn::cli {
namespace {

struct LsFlags {
  std::string root;
  bool json = false;
  bool no_sizes = false;
  PolicyFlags policies;
};

std::string LeasesCell(const SurveyedStep& step) {
  std::vector<std::string> holders;
  for (const LeaseInfo& lease : step.leases) {
    if (!lease.live) continue;
    holders.push_back(lease.host && lease.pid ? absl::StrCat(*lease.host, ":", *lease.pid)
                                              : std::string("unknown holder"));
  }
  return holders.empty() ? "-" : absl::StrJoin(holders, ",");
}

std::string KeepCell(const SurveyedStep& step) {
  std::vector<std::string> reasons = step.kept_by;
  if (step.latest) reasons.insert(reasons.begin(), "latest");
  if (step.leased) reasons.push_back("leased");
  if (step.retire) return "would go";
  return absl::StrCat("kept: ", absl::StrJoin(reasons, ", "));
}

void RunLs(const LsFlags& flags) {
  absl::StatusOr<std::vector<NamedPolicy>> policies = PoliciesOf(flags.policies);
  if (!policies.ok()) Fail("ls", policies.status());
  SurveyOptions options;
  options.name_format = Globals().name_format();
  options.commit_mode = Globals().commit_mode();
  options.policies = *policies;
  options.sizes = !flags.no_sizes;
  absl::StatusOr<RootSurvey> survey = SurveyRoot(flags.root, options);
  if (!survey.ok()) Fail(flags.root, survey.status());
  if (flags.json) {
    PrintJson(SurveyToJson(flags.root, *survey));
    return;
  }
  const bool judged = !options.policies.empty();
  std::vector<std::string> header = {"STEP", "SIZE", "COMMITTED", "LEASES", "METRICS"};
  if (judged) header.insert(header.begin() + 4, "RETENTION");
  Table table(header);
  for (const SurveyedStep& step : survey->steps) {
    std::vector<std::string> row = {
        absl::StrCat(step.info.step, step.latest ? " *" : ""),
        flags.no_sizes ? "-" : FormatBytes(step.bytes), FormatLocalTime(step.info.time),
        LeasesCell(step), step.info.metrics.empty() ? "-" : CompactJson(step.info.metrics)};
    if (judged) row.insert(row.begin() + 4, KeepCell(step));
    table.AddRow(std::move(row));
  }
  std::cout << table.ToString();
  uint64_t total = 0;
  for (const SurveyedStep& step : survey->steps) total += step.bytes;
  std::cout << survey->steps.size() << " step" << (survey->steps.size() == 1 ? "" : "s");
  if (!flags.no_sizes) std::cout << ", " << FormatBytes(total);
  std::cout << " (* latest)\n";
  for (const SurveyedTemporary& temporary : survey->temporaries) {
    std::cout << "temporary: " << temporary.name << " (" << TemporaryKindName(temporary.parsed.kind)
              << " of " << temporary.parsed.final_name << ", writer " << WriterState(temporary)
              << ")\n";
  }
  for (const SkippedStepName& skipped : survey->skipped) {
    std::cout << "not a step: " << skipped.name << " (" << skipped.reason << ")\n";
  }
}

}  // namespace

void RegisterLsCommand(CLI::App& app) {
  auto flags = std::make_shared<LsFlags>();
  CLI::App* command = app.add_subcommand(
      "ls",
      "List the steps of a root: size, commit time, leases, metrics, and what retention "
      "policies (optional) would keep.\n\nExamples:\n"
      "  cairn ls /ckpt/run\n"
      "  cairn ls /ckpt/run --keep-latest 3 --keep-best loss:min:2\n"
      "  cairn ls /ckpt/run --json | jq '.steps[].step'");
  command->add_option("ROOT", flags->root, "The directory holding the steps")->required();
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->add_flag("--no-sizes", flags->no_sizes, "Skip summing each step's files");
  AddPolicyFlags(*command, flags->policies);
  command->callback([flags] { RunLs(*flags); });
}

}  // namespace cairn::cli
