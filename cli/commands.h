// The subcommands of the `cairn` tool. Each is added to the app by one Register call, so that
// a new subcommand is one file and one line in main.cc.
#ifndef CAIRN_CLI_COMMANDS_H_
#define CAIRN_CLI_COMMANDS_H_

#include "CLI/CLI.hpp"

namespace cairn::cli {

void RegisterLsCommand(CLI::App& app);
void RegisterInspectCommand(CLI::App& app);
void RegisterVerifyCommand(CLI::App& app);
void RegisterDiffCommand(CLI::App& app);
void RegisterPruneCommand(CLI::App& app);
void RegisterWatchCommand(CLI::App& app);
void RegisterExportCommand(CLI::App& app);
void RegisterImportCommand(CLI::App& app);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_COMMANDS_H_
