// Index files too large to build as messages: the wire bytes of a hostile index are written
// directly, so that a test can hand the loader millions of entries in a second.
#ifndef CAIRN_TESTS_SUPPORT_HUGE_INDEX_H_
#define CAIRN_TESTS_SUPPORT_HUGE_INDEX_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "cairn/utils/filesystem.h"

namespace cairn::testing {

// Writes `<dir>/_CAIRN_INDEX` holding one bool array of `rows` rows, one row per chunk, in one
// shard whose chunk list has `rows` empty entries (each two bytes on the wire).
absl::Status WriteIndexOfEmptyChunks(Filesystem& fs, const std::string& dir, uint64_t rows);

}  // namespace cairn::testing

#endif  // CAIRN_TESTS_SUPPORT_HUGE_INDEX_H_
