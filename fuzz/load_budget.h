// What a careful caller loads from an untrusted checkpoint. The format lets elements that no
// shard covers read as zero (docs/FORMAT.md), so a tiny index can honestly describe an array
// of many gigabytes that an as-saved load must allocate. Such a caller reads the metadata first
// and skips arrays too large to load; the fuzzers do the same, with kLoadBudgetBytes.
#ifndef CAIRN_FUZZ_LOAD_BUDGET_H_
#define CAIRN_FUZZ_LOAD_BUDGET_H_

#include <cstdint>

#include "cairn/storage/tree.h"

namespace cairn::fuzz {

inline constexpr uint64_t kLoadBudgetBytes = uint64_t{64} << 20;

// `metadata` (a ReadTreeMetadata tree) as an abstract tree that loads every array as saved until
// their bytes reach kLoadBudgetBytes, and places a placeholder for each array beyond that.
Tree WithinBudget(const Tree& metadata);

}  // namespace cairn::fuzz

#endif  // CAIRN_FUZZ_LOAD_BUDGET_H_
