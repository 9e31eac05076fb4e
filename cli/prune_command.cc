// `cairn prune ROOT --keep-...`: applies the Checkpointer's preservation policies to a root. A
// dry run by default, saying what would go and why the rest stays; --yes deletes through the
// library's lease-aware deletion. Never deletes a leased step or the latest.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/manager/step_survey.h"
#include "cairn/steps/step_deletion.h"
#include "commands.h"
#include "global_options.h"
#include "output.h"
#include "policy_flags.h"
#include "survey_json.h"

namespace cairn::cli {
namespace {

struct PruneFlags {
  std::string root;
  bool yes = false;
  bool json = false;
  PolicyFlags policies;
};

// Why a step stays: the latest, its lease holders, the policies keeping it.
std::vector<std::string> KeepReasons(const SurveyedStep& step) {
  std::vector<std::string> reasons;
  if (step.latest) reasons.push_back("latest");
  for (const LeaseInfo& lease : step.leases) {
    if (!lease.live) continue;
    reasons.push_back(lease.host && lease.pid
                          ? absl::StrCat("leased by ", *lease.host, ":", *lease.pid)
                          : "leased");
  }
  for (const std::string& policy : step.kept_by) reasons.push_back(policy);
  return reasons;
}

void RunPrune(const PruneFlags& flags) {
  absl::StatusOr<std::vector<NamedPolicy>> policies = PoliciesOf(flags.policies);
  if (!policies.ok()) Fail("prune", policies.status());
  if (policies->empty()) {
    Fail("prune", absl::InvalidArgumentError(
                      "give at least one policy (--keep-latest, --keep-every, --keep-best, ...): "
                      "with none every step is kept"));
  }
  SurveyOptions options;
  options.name_format = Globals().name_format();
  options.commit_mode = Globals().commit_mode();
  options.policies = *policies;
  absl::StatusOr<RootSurvey> survey = SurveyRoot(flags.root, options);
  if (!survey.ok()) Fail(flags.root, survey.status());

  nlohmann::json steps = nlohmann::json::array();
  uint64_t freed = 0;
  int deleted = 0;
  for (const SurveyedStep& step : survey->steps) {
    nlohmann::json json = StepToJson(step);
    std::string action = step.retire ? (flags.yes ? "deleted" : "would_delete") : "keep";
    std::vector<std::string> reasons = KeepReasons(step);
    if (step.retire && flags.yes) {
      StepDeletionOptions deletion;
      deletion.commit_mode = Globals().commit_mode();
      absl::StatusOr<StepDeletion> outcome = DeleteStepUnlessLeased(step.path, deletion);
      if (!outcome.ok()) Fail(step.path, outcome.status());
      if (*outcome == StepDeletion::kLeased) {
        action = "keep";
        reasons = {"leased meanwhile"};
      } else if (*outcome == StepDeletion::kAbsent) {
        action = "absent";
      } else {
        freed += step.bytes;
        ++deleted;
      }
    } else if (step.retire) {
      freed += step.bytes;
    }
    json["action"] = action;
    json["reasons"] = reasons;
    steps.push_back(std::move(json));
    if (flags.json) continue;
    if (action == "keep") {
      std::cout << "keep    " << step.info.step << ": " << absl::StrJoin(reasons, ", ") << "\n";
    } else if (action == "absent") {
      std::cout << "gone    " << step.info.step << ": deleted by someone else meanwhile\n";
    } else {
      std::cout << (flags.yes ? "deleted " : "delete  ") << step.info.step << ": "
                << FormatBytes(step.bytes) << ", no policy keeps it\n";
    }
  }
  if (flags.json) {
    PrintJson({{"root", flags.root},
               {"dry_run", !flags.yes},
               {"policies",
                [&] {
                  std::vector<std::string> names;
                  for (const NamedPolicy& policy : *policies) names.push_back(policy.name);
                  return names;
                }()},
               {"freed_bytes", freed},
               {"steps", steps}});
    return;
  }
  if (flags.yes) {
    std::cout << "deleted " << deleted << " step" << (deleted == 1 ? "" : "s") << ", freed "
              << FormatBytes(freed) << "\n";
  } else {
    std::cout << "dry run: would free " << FormatBytes(freed)
              << "; run again with --yes to delete\n";
  }
}

}  // namespace

void RegisterPruneCommand(CLI::App& app) {
  auto flags = std::make_shared<PruneFlags>();
  CLI::App* command = app.add_subcommand(
      "prune",
      "Delete the steps that no preservation policy keeps (the Checkpointer's policies). A dry "
      "run unless --yes; never deletes a leased step or the latest.\n\nExamples:\n"
      "  cairn prune /ckpt/run --keep-latest 3\n"
      "  cairn prune /ckpt/run --keep-latest 2 --keep-every 1000 --keep-best loss:min:3 --yes\n"
      "  cairn prune /ckpt/run --keep-within 48h --json");
  command->add_option("ROOT", flags->root, "The directory holding the steps")->required();
  command->add_flag("--yes", flags->yes, "Delete (otherwise only say what would go)");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  AddPolicyFlags(*command, flags->policies);
  command->callback([flags] { RunPrune(*flags); });
}

}  // namespace cairn::cli
