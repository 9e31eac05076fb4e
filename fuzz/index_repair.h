// Makes mutated index files consistent with themselves, so that a fuzzer's mutations get past
// the checksums and reach the parser, the validator and the loader behind them.
#ifndef CAIRN_FUZZ_INDEX_REPAIR_H_
#define CAIRN_FUZZ_INDEX_REPAIR_H_

#include <functional>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace cairn::fuzz {

// `file` (the bytes of an _CAIRN_INDEX) with its magic, payload size and both checksums
// recomputed from the payload; the version and flags are kept. Files shorter than the header
// are returned as they are.
std::string RepairIndexFrame(absl::string_view file);

// Gives the bytes of the data file `name` of the index being repaired, or nullopt if absent.
using DataFileLookup = std::function<std::optional<absl::string_view>(absl::string_view name)>;

// `file` with every chunk checksum set to the checksum of the bytes it points at, for chunks
// that lie inside their data file, and its framing repaired. The payload is re-serialised only
// when a checksum changed. nullopt when the payload does not parse.
std::optional<std::string> RepairIndexChecksums(absl::string_view file,
                                                const DataFileLookup& data_file);

// Mutated payloads often hold invalid UTF-8 in string fields, which protobuf logs one by one:
// fuzzers of indexes call this once at start.
void SilenceProtobufLogs();

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_INDEX_REPAIR_H_
