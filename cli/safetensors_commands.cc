// `cairn export --safetensors DIR OUT` and `cairn import --safetensors IN DIR`: one pytree of a
// checkpoint to a safetensors file and back, through the library's ExportSafetensors and
// ImportSafetensors (docs/SAFETENSORS.md).
#include <iostream>
#include <memory>
#include <string>

#include "cairn/steps/safetensors.h"
#include "commands.h"
#include "output.h"

namespace cairn::cli {
namespace {

struct ExportFlags {
  std::string dir;
  std::string out;
  std::string item;
  bool overwrite = false;
  bool json = false;
  bool safetensors = false;  // the format flag, required while it is the only format
};

struct ImportFlags {
  std::string in;
  std::string dir;
  std::string item = kDefaultPyTreeName;
  bool flat = false;
  bool json = false;
  bool safetensors = false;
};

void RunExport(const ExportFlags& flags) {
  SafetensorsExportOptions options;
  if (!flags.item.empty()) options.name = CheckpointableName::Named(flags.item);
  options.overwrite = flags.overwrite;
  SafetensorsExportStats stats;
  options.stats = &stats;
  const absl::Status status = ExportSafetensors(flags.dir, flags.out, options);
  if (!status.ok()) Fail(flags.dir, status);
  if (flags.json) {
    PrintJson({{"out", flags.out},
               {"tensors", stats.tensors},
               {"data_bytes", stats.data_bytes},
               {"file_bytes", stats.file_bytes}});
    return;
  }
  std::cout << flags.out << ": " << stats.tensors << " tensors, " << FormatBytes(stats.file_bytes)
            << "\n";
}

void RunImport(const ImportFlags& flags) {
  SafetensorsImportOptions options;
  options.checkpointable = flags.item;
  options.nest = !flags.flat;
  const absl::Status status = ImportSafetensors(flags.in, flags.dir, options);
  if (!status.ok()) Fail(flags.in, status);
  if (flags.json) {
    PrintJson({{"in", flags.in}, {"checkpoint", flags.dir}, {"checkpointable", flags.item}});
    return;
  }
  std::cout << flags.dir << ": saved " << flags.in << " as '" << flags.item << "'\n";
}

}  // namespace

void RegisterExportCommand(CLI::App& app) {
  auto flags = std::make_shared<ExportFlags>();
  CLI::App* command = app.add_subcommand(
      "export",
      "Write one pytree of a checkpoint (or a tree directory) as a safetensors file, streaming "
      "one batch of arrays at a time; the file appears whole or not at all.\n\nExamples:\n"
      "  cairn export --safetensors /ckpt/run/300 model.safetensors\n"
      "  cairn export --safetensors /ckpt/run/300 params.safetensors --item params");
  command->add_flag("--safetensors", flags->safetensors, "The format to write (the only one)")
      ->required();
  command->add_option("DIR", flags->dir, "A step or a tree directory")->required();
  command->add_option("OUT", flags->out, "The safetensors file to write")->required();
  command->add_option("--item", flags->item,
                      "The checkpointable to export (default: found as a load finds it)");
  command->add_flag("--overwrite", flags->overwrite, "Replace OUT if it exists");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->callback([flags] { RunExport(*flags); });
}

void RegisterImportCommand(CLI::App& app) {
  auto flags = std::make_shared<ImportFlags>();
  CLI::App* command = app.add_subcommand(
      "import",
      "Save a safetensors file as a cairn checkpoint, after checking it against every rule of "
      "the format; tensor names split at '.' into nested dicts.\n\nExamples:\n"
      "  cairn import --safetensors model.safetensors /ckpt/imported/0\n"
      "  cairn import --safetensors model.safetensors /ckpt/imported/0 --flat");
  command->add_flag("--safetensors", flags->safetensors, "The format to read (the only one)")
      ->required();
  command->add_option("IN", flags->in, "The safetensors file to read")->required();
  command->add_option("DIR", flags->dir, "The checkpoint to write (must not exist)")->required();
  command->add_option("--item", flags->item, "The checkpointable to save it as")
      ->capture_default_str();
  command->add_flag("--flat", flags->flat, "Keep tensor names as the keys of one flat dict");
  command->add_flag("--json", flags->json, "Print JSON for scripts");
  command->callback([flags] { RunImport(*flags); });
}

}  // namespace cairn::cli
