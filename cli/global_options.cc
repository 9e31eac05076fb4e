#include "global_options.h"

namespace cairn::cli {

GlobalOptions& Globals() {
  static GlobalOptions options;
  return options;
}

std::shared_ptr<const NameFormat> GlobalOptions::name_format() const {
  if (fixed_digits > 0) return NameFormat::FixedLength(fixed_digits, step_prefix);
  if (!step_prefix.empty()) return NameFormat::Prefixed(step_prefix);
  return NameFormat::Plain();
}

CommitMode GlobalOptions::commit_mode() const {
  return commit_file ? CommitMode::kCommitFile : CommitMode::kRename;
}

void AddGlobalOptions(CLI::App& app) {
  GlobalOptions& options = Globals();
  app.add_option("--step-prefix", options.step_prefix,
                 "Steps are named PREFIX_<step> (as the writer's name format)");
  app.add_option("--step-digits", options.fixed_digits, "Steps are zero-padded to this many digits")
      ->check(CLI::Range(0, 19));
  app.add_flag("--commit-file", options.commit_file,
               "Steps are committed by commit_success.txt (object-store mounts), not by rename");
}

}  // namespace cairn::cli
