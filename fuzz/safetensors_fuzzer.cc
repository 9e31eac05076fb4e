// Fuzzes the safetensors reader and validator: the input is a whole file. A file the validator
// accepts must import as a checkpoint (or be refused cleanly) and, imported, export back to a
// file whose tensors hold the same bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <string>

#include "cairn/steps/safetensors.h"
#include "cairn/storage/safetensors/safetensors_reader.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  const std::string file(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<SafetensorsHeader> header = ParseSafetensorsFile(file, "input.safetensors");
  if (!header.ok()) return 0;
  MemoryFilesystem fs;
  if (!WriteStringToFile(fs, "/in.safetensors", file, false).ok()) return 0;

  // The reader over the filesystem must agree with the in-memory parse.
  absl::StatusOr<std::unique_ptr<SafetensorsReader>> reader =
      SafetensorsReader::Open(fs, "/in.safetensors");
  if (!reader.ok() || (*reader)->header().tensors.size() != header->tensors.size()) std::abort();

  SafetensorsImportOptions import;
  import.nest = false;  // any name is a key; nesting conflicts would only stop the run early
  import.checkpoint.filesystem = &fs;
  import.checkpoint.store_save.sync = false;
  if (!ImportSafetensors("/in.safetensors", "/ckpt", import).ok()) return 0;

  SafetensorsExportOptions export_options;
  export_options.filesystem = &fs;
  export_options.sync = false;
  if (!ExportSafetensors("/ckpt", "/out.safetensors", export_options).ok()) return 0;
  const std::string out = ReadFileToString(fs, "/out.safetensors", size * 2 + (1 << 20)).value();
  absl::StatusOr<SafetensorsHeader> again = ParseSafetensorsFile(out, "out.safetensors");
  if (!again.ok()) std::abort();
  std::map<std::string, std::string> before, after;
  const uint64_t in_data = size - header->data_bytes();
  const uint64_t out_data = out.size() - again->data_bytes();
  for (const SafetensorsTensor& t : header->tensors) {
    before[t.name] = file.substr(in_data + t.begin, t.end - t.begin);
  }
  for (const SafetensorsTensor& t : again->tensors) {
    after[t.name] = out.substr(out_data + t.begin, t.end - t.begin);
  }
  if (before != after || header->metadata != again->metadata) std::abort();
  return 0;
}
