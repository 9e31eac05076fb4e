// The load fuzzer's input: a small directory tree packed as a self-delimiting archive. The seed
// generator packs real checkpoints with it; the fuzzer unpacks mutated ones into memory.
//
// Layout, little-endian: [u8 options] then entries of [u16 path length][path][u32 data
// length][data] until the input ends. Paths are relative, '/'-separated. Decoding stops at a
// truncated entry, after kMaxArchiveEntries entries, or before the data passes kMaxArchiveBytes.
#ifndef CAIRN_FUZZ_ARCHIVE_H_
#define CAIRN_FUZZ_ARCHIVE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/utils/filesystem.h"

namespace cairn::fuzz {

inline constexpr size_t kMaxArchiveEntries = 64;
inline constexpr size_t kMaxArchiveBytes = size_t{4} << 20;
// Options bit: leave index framing, chunk checksums and the commit marker's listing as they
// are instead of repairing them.
inline constexpr uint8_t kKeepChecksums = 1;

struct ArchiveEntry {
  std::string path;
  std::string data;
};

struct Archive {
  uint8_t options = 0;
  std::vector<ArchiveEntry> entries;
};

std::string EncodeArchive(const Archive& archive);
Archive DecodeArchive(absl::string_view bytes);

// Writes the entries below the directory `root` (which must exist), creating subdirectories.
// Entries whose path is not a clean relative path (empty, ".", ".." or NUL components, deeper
// than 8) or that clash with an earlier entry are skipped.
void UnpackArchive(Filesystem& fs, const std::string& root,
                   const std::vector<ArchiveEntry>& entries);

// Every file below `root`, recursively, with paths relative to it, in name order.
absl::StatusOr<std::vector<ArchiveEntry>> PackDirectory(Filesystem& fs, const std::string& root);

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_ARCHIVE_H_
