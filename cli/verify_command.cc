// `cairn verify DIR|ROOT`: reads every byte of a step (the latest of a root, or all of them with
// --all) and checks every checksum. Exit 0 intact, 1 damaged (each damaged file named), 2 when
// the check itself could not run.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "cairn/steps/checkpoint_metadata.h"
#include "cairn/steps/checkpoint_verification.h"
#include "cairn/steps/step_listing.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "commands.h"
#include "global_options.h"
#include "output.h"
#include "progress_bar.h"

namespace cairn::cli {
namespace {

struct VerifyFlags {
  std::string path;
  bool all = false;
  bool json = false;
};

struct Target {
  std::string label;
  std::string dir;
  std::optional<int64_t> step;
};

// A directory with _CHECKPOINT_METADATA, a commit marker or a tree's index is checked itself;
// otherwise `path` is taken as a root of steps.
std::vector<Target> TargetsOf(const VerifyFlags& flags) {
  Filesystem& fs = *Filesystem::Default();
  absl::StatusOr<bool> metadata = PathExists(fs, JoinPath(flags.path, kCheckpointMetadataFileName));
  if (!metadata.ok()) Fail(flags.path, metadata.status());
  absl::StatusOr<bool> marker = PathExists(fs, JoinPath(flags.path, kCommitMarkerFileName));
  if (!marker.ok()) Fail(flags.path, marker.status());
  absl::StatusOr<bool> tree = HoldsTree(flags.path);
  if (!tree.ok()) Fail(flags.path, tree.status());
  if (*metadata || *marker || *tree) {
    if (flags.all) {
      Fail(flags.path, absl::InvalidArgumentError("--all wants a root of steps, not a step"));
    }
    return {Target{flags.path, flags.path, std::nullopt}};
  }
  StepListingOptions listing;
  listing.name_format = Globals().name_format();
  listing.commit_mode = Globals().commit_mode();
  absl::StatusOr<std::vector<int64_t>> steps = ListSteps(flags.path, listing);
  if (!steps.ok()) Fail(flags.path, steps.status());
  if (steps->empty()) {
    Fail(flags.path, absl::NotFoundError("neither a checkpoint nor a root holding steps"));
  }
  std::vector<Target> targets;
  for (int64_t step : *steps) {
    if (!flags.all && step != steps->back()) continue;
    targets.push_back(Target{absl::StrCat("step ", step),
                             StepPath(flags.path, step, *listing.name_format), step});
  }
  return targets;
}

void RunVerify(const VerifyFlags& flags) {
  const std::vector<Target> targets = TargetsOf(flags);
  nlohmann::json results = nlohmann::json::array();
  bool damaged = false;
  for (const Target& target : targets) {
    ProgressBar bar(target.label);
    VerifyOptions options;
    options.progress = [&bar](const VerifyProgress& progress) {
      bar.Update(progress.bytes_done, progress.bytes_total);
    };
    const absl::Time start = absl::Now();
    absl::StatusOr<VerificationReport> report = VerifyCheckpoint(target.dir, options);
    const absl::Duration elapsed = absl::Now() - start;
    bar.Finish();
    if (!report.ok()) Fail(target.dir, report.status());
    damaged |= !report->intact();
    nlohmann::json damage = nlohmann::json::array();
    for (const Damage& item : report->damage) {
      damage.push_back({{"path", item.path}, {"problem", item.problem}});
    }
    results.push_back({{"dir", target.dir},
                       {"step", target.step ? nlohmann::json(*target.step) : nlohmann::json()},
                       {"intact", report->intact()},
                       {"has_listing", report->has_listing},
                       {"files_checked", report->files_checked},
                       {"leaves_checked", report->leaves_checked},
                       {"bytes_read", report->bytes_read},
                       {"seconds", absl::ToDoubleSeconds(elapsed)},
                       {"damage", damage}});
    if (flags.json) continue;
    std::cout << target.label << ": " << (report->intact() ? "intact" : "DAMAGED") << " ("
              << report->files_checked << " listed files, " << report->leaves_checked << " leaves, "
              << FormatBytes(report->bytes_read) << " in "
              << absl::StrFormat("%.2f", absl::ToDoubleSeconds(elapsed)) << " s, "
              << FormatThroughput(report->bytes_read, elapsed) << ")\n";
    if (!report->has_listing) {
      std::cout << "  note: no file listing in the commit marker (an Orbax checkpoint?): only "
                   "the arrays were read back\n";
    }
    for (const Damage& item : report->damage) {
      std::cout << "  damaged: " << (item.path.empty() ? target.dir : item.path) << ": "
                << item.problem << "\n";
    }
  }
  if (flags.json) PrintJson({{"intact", !damaged}, {"checkpoints", results}});
  if (damaged) Exit(kExitNo);
}

}  // namespace

void RegisterVerifyCommand(CLI::App& app) {
  auto flags = std::make_shared<VerifyFlags>();
  CLI::App* command = app.add_subcommand(
      "verify",
      "Read every byte of a step and check every checksum (the commit marker's listing and "
      "each chunk's). Given a root, checks its latest step, or all with --all.\n"
      "Exit status: 0 intact, 1 damaged, 2 trouble (usage, I/O).\n\nExamples:\n"
      "  cairn verify /ckpt/run/300\n"
      "  cairn verify /ckpt/run --all\n"
      "  cairn verify /ckpt/run --all --json | jq '.checkpoints[] | select(.intact | not)'");
  command->add_option("PATH", flags->path, "A step, or a root of steps")->required();
  command->add_flag("--all", flags->all, "Check every step of the root");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->callback([flags] { RunVerify(*flags); });
}

}  // namespace cairn::cli
