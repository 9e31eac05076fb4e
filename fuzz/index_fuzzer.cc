// Fuzzes the store's index parser: the input is the content of <dir>/_CAIRN_INDEX, read by
// ReadIndexFile and, when it parses, described by ReadTreeMetadata and loaded by LoadTree
// (within fuzz/load_budget.h's budget).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"
#include "fuzz/confined_filesystem.h"
#include "fuzz/index_repair.h"
#include "fuzz/load_budget.h"

namespace cairn::fuzz {
namespace {

constexpr char kDir[] = "/ckpt";

void ParseIndex(const std::string& file) {
  MemoryFilesystem fs;
  if (!fs.CreateDir(kDir).ok() ||
      !WriteStringToFile(fs, JoinPath(kDir, kTreeIndexFileName), file, false).ok()) {
    __builtin_trap();
  }
  ConfinedFilesystem confined(&fs, kDir);
  if (!ReadIndexFile(confined, kDir, uint64_t{1} << 20).ok()) return;

  StoreLoadOptions options;
  options.filesystem = &confined;
  options.parallelism = 1;
  // A valid index is described from the index alone: that cannot fail.
  absl::StatusOr<StoreMetadata> metadata = ReadTreeMetadata(kDir, options);
  if (!metadata.ok()) __builtin_trap();
  metadata->custom_metadata.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  // There are no data files: any error is fine, a crash or a huge allocation is not.
  LoadTree(kDir, WithinBudget(metadata->tree), options).status().IgnoreError();
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cairn::fuzz::SilenceProtobufLogs();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string file(reinterpret_cast<const char*>(data), size);
  cairn::fuzz::ParseIndex(file);
  // The same payload framed correctly, so that mutations reach the parser and the validator.
  const std::string repaired = cairn::fuzz::RepairIndexFrame(file);
  if (repaired != file) cairn::fuzz::ParseIndex(repaired);
  return 0;
}
