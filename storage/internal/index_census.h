// What parsing an index would cost, read from its wire format alone: a hostile index of
// millions of empty entries is refused before the parser builds a message for each.
#ifndef CAIRN_STORAGE_INTERNAL_INDEX_CENSUS_H_
#define CAIRN_STORAGE_INTERNAL_INDEX_CENSUS_H_

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"

namespace cairn {

// The bytes that parsing `payload` (a serialised TreeIndex) into messages would allocate:
// every message, string, repeated element and unknown field it holds, charged at what the
// parser gives it (repeated fields' arrays counted twice over, for their growth). nullopt when
// the payload is not well-formed wire format, uses groups, or nests deeper than `max_depth`.
std::optional<uint64_t> EstimateIndexParseBytes(absl::string_view payload, int max_depth);

}  // namespace cairn

#endif  // CAIRN_STORAGE_INTERNAL_INDEX_CENSUS_H_
