// `cairn`: a command for looking after checkpoints at a terminal (cairn's and Orbax's): which
// steps exist, what is inside, whether they are intact, what changed, what can go, and
// following a run as it saves.
#include <iostream>

#include "CLI/CLI.hpp"
#include "commands.h"
#include "global_options.h"
#include "output.h"

int main(int argc, char** argv) {
  CLI::App app(
      "Inspect, verify, compare and prune cairn (and Orbax) checkpoints.\n\n"
      "Examples:\n"
      "  cairn ls /ckpt/run\n"
      "  cairn inspect /ckpt/run/300 --filter 'params.*'\n"
      "  cairn verify /ckpt/run --all\n"
      "  cairn diff /ckpt/run/200 /ckpt/run/300\n"
      "  cairn prune /ckpt/run --keep-latest 3 --keep-best loss:min:2\n"
      "  cairn watch /ckpt/run --timeout 1h",
      "cairn");
  app.require_subcommand(1);
  // The layout flags may follow the subcommand too: `cairn ls ROOT --step-prefix ckpt`.
  app.fallthrough();
  cairn::cli::AddGlobalOptions(app);
  cairn::cli::RegisterLsCommand(app);
  cairn::cli::RegisterInspectCommand(app);
  cairn::cli::RegisterVerifyCommand(app);
  cairn::cli::RegisterDiffCommand(app);
  cairn::cli::RegisterPruneCommand(app);
  cairn::cli::RegisterWatchCommand(app);
  cairn::cli::RegisterExportCommand(app);
  cairn::cli::RegisterImportCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::RuntimeError& e) {
    // A subcommand's own outcome (see output.h); it printed what it had to say.
    return e.get_exit_code();
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return cairn::cli::kExitTrouble;
  }
  return cairn::cli::kExitOk;
}
