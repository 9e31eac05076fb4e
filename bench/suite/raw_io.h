// The suite's raw baseline: the state's bytes written with write() into one file and made
// durable with one fsync, read back with read() into fresh per-leaf buffers. No library can
// write or read the same bytes with less work on one thread.
#ifndef CAIRN_BENCH_SUITE_RAW_IO_H_
#define CAIRN_BENCH_SUITE_RAW_IO_H_

#include <string>

#include "absl/status/statusor.h"
#include "bench/suite/training_state.h"

namespace cairn::bench {

// Each returns the seconds the operation took; loads check the bytes they read afterwards.
absl::StatusOr<double> RawSave(const BenchState& state, const std::string& path);
absl::StatusOr<double> RawLoad(const BenchState& state, const std::string& path);
// Reads the one leaf at `leaf` (its offset is known from the state: no index to consult).
absl::StatusOr<double> RawPartialLoad(const BenchState& state, const std::string& path,
                                      size_t leaf);

// The one host copy an async save may cost: the state's leaves copied with memcpy into one
// buffer mapped beforehand. The median of `runs`.
double MemcpySeconds(const BenchState& state, int runs);

// The machine's limits the suite sets cairn's rows against.
// Mapping `bytes` of fresh anonymous memory and writing one byte per 4 KiB page, advised for
// transparent huge pages (MADV_HUGEPAGE) or not: the page faults a load into fresh memory pays.
absl::StatusOr<double> FirstTouchSeconds(uint64_t bytes, bool huge_pages);
// One pread of the bytes RawSave wrote at `path` (all of them, or the one leaf at `leaf` when
// it is at least 0) into memory mapped and touched beforehand: getting the bytes out of the
// page cache, with no page fault. The file is opened inside the timing, as a load opens it.
absl::StatusOr<double> PreadSeconds(const BenchState& state, const std::string& path, int leaf);

}  // namespace cairn::bench

#endif  // CAIRN_BENCH_SUITE_RAW_IO_H_
