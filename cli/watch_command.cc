// `cairn watch ROOT`: prints each step as it commits (woken by inotify where it can be), until
// interrupted (SIGINT or SIGTERM: exit 0) or --timeout passes.
#include <signal.h>

#include <atomic>
#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/step_listing.h"
#include "commands.h"
#include "global_options.h"
#include "output.h"

namespace cairn::cli {
namespace {

volatile sig_atomic_t interrupted = 0;

void OnSignal(int) { interrupted = 1; }

struct WatchFlags {
  std::string root;
  std::string timeout;  // a duration; empty: for ever
  bool new_only = false;
  bool json = false;
};

// How often the wait looks at the interrupt flag: the latency of Ctrl-C.
constexpr absl::Duration kSlice = absl::Milliseconds(100);

void RunWatch(const WatchFlags& flags) {
  std::optional<absl::Time> deadline;
  if (!flags.timeout.empty()) {
    absl::Duration timeout;
    if (!absl::ParseDuration(flags.timeout, &timeout) || timeout < absl::ZeroDuration()) {
      Fail("watch",
           absl::InvalidArgumentError(absl::StrCat(
               "--timeout wants a duration such as 30s or 2h, not '", flags.timeout, "'")));
    }
    deadline = absl::Now() + timeout;
  }
  struct sigaction action = {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  CheckpointsIteratorOptions options;
  options.name_format = Globals().name_format();
  options.commit_mode = Globals().commit_mode();
  options.mode = FollowMode::kEveryStep;
  options.timeout = kSlice;
  options.timeout_fn = [&deadline] {
    return interrupted != 0 || (deadline && absl::Now() >= *deadline);
  };
  if (flags.new_only) {
    StepListingOptions listing;
    listing.name_format = options.name_format;
    listing.commit_mode = options.commit_mode;
    absl::StatusOr<std::vector<int64_t>> steps = ListSteps(flags.root, listing);
    if (steps.ok() && !steps->empty()) options.after_step = steps->back();
  }
  absl::StatusOr<CheckpointsIterator> iterator = CheckpointsIterator::Create(flags.root, options);
  if (!iterator.ok()) Fail(flags.root, iterator.status());
  if (!flags.json) {
    std::cerr << "watching " << flags.root << " (Ctrl-C to stop)\n";
  }
  while (interrupted == 0) {
    absl::StatusOr<LeasedStep> step = iterator->Next();
    if (!step.ok()) Fail(flags.root, step.status());
    if (!step->found()) break;
    absl::StatusOr<CheckpointMetadata> metadata = CheckpointMetadataOf(step->path());
    nlohmann::json metrics = metadata.ok() ? metadata->metrics : nlohmann::json::object();
    std::optional<absl::Time> committed = metadata.ok() ? metadata->commit_time() : std::nullopt;
    if (flags.json) {
      std::cout << CompactJson({{"step", step->step()},
                                {"path", step->path()},
                                {"commit_time", committed ? nlohmann::json(JsonTime(*committed))
                                                          : nlohmann::json()},
                                {"metrics", metrics}})
                << std::endl;
    } else {
      std::cout << "step " << step->step() << " committed "
                << (committed ? FormatLocalTime(*committed) : std::string("(time unknown)"))
                << (metrics.empty() ? "" : absl::StrCat(" ", CompactJson(metrics))) << std::endl;
    }
    step->Release().IgnoreError();
  }
}

}  // namespace

void RegisterWatchCommand(CLI::App& app) {
  auto flags = std::make_shared<WatchFlags>();
  CLI::App* command = app.add_subcommand(
      "watch",
      "Print each step of a root as it commits, until interrupted (exit 0) or --timeout.\n\n"
      "Examples:\n"
      "  cairn watch /ckpt/run\n"
      "  cairn watch /ckpt/run --new-only --timeout 2h\n"
      "  cairn watch /ckpt/run --json | while read -r line; do ...; done");
  command->add_option("ROOT", flags->root, "The directory the trainer saves steps into")
      ->required();
  command->add_option("--timeout", flags->timeout, "Stop after this long (30s, 2h)");
  command->add_flag("--new-only", flags->new_only, "Skip the steps already there");
  command->add_flag("--json", flags->json, "Print one JSON object per step");
  command->callback([flags] { RunWatch(*flags); });
}

}  // namespace cairn::cli
