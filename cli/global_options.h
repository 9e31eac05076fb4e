// Flags given before the subcommand that say how a root's steps are laid out, as the writer
// laid them out: shared by every subcommand that reads a root.
#ifndef CAIRN_CLI_GLOBAL_OPTIONS_H_
#define CAIRN_CLI_GLOBAL_OPTIONS_H_

#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"

namespace cairn::cli {

struct GlobalOptions {
  std::string step_prefix;   // steps named "<prefix>_<step>" (Orbax's step_prefix)
  int fixed_digits = 0;      // steps zero-padded to this many digits; 0: plain numbers
  bool commit_file = false;  // steps committed by commit_success.txt instead of a rename

  std::shared_ptr<const NameFormat> name_format() const;
  CommitMode commit_mode() const;
};

GlobalOptions& Globals();
void AddGlobalOptions(CLI::App& app);

}  // namespace cairn::cli

#endif  // CAIRN_CLI_GLOBAL_OPTIONS_H_
