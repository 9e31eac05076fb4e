// Fuzzes Orbax's pytree metadata: the input is a _METADATA file, parsed and then built into a
// tree in an otherwise empty pytree directory, whose metadata and load are then read (every array
// is missing, so each read must fail cleanly or describe what it can).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cairn/storage/orbax/orbax_pytree_metadata.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/memory_filesystem.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  const std::string text(reinterpret_cast<const char*>(data), size);
  if (!ParseOrbaxPyTreeMetadata(text, "_METADATA").ok()) return 0;
  MemoryFilesystem fs;
  if (!CreateDirs(fs, "/tree").ok()) return 0;
  if (!WriteStringToFile(fs, "/tree/_METADATA", text, false).ok()) return 0;
  StoreLoadOptions options;
  options.filesystem = &fs;
  ReadTreeMetadata("/tree", options).status().IgnoreError();
  LoadTree("/tree", Tree::AsSaved(), options).status().IgnoreError();
  return 0;
}
