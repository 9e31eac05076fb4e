// Where the real Orbax checkpoints beside the checkout are, and small helpers for reading their
// OCDBT databases in tests.
#ifndef CAIRN_TESTS_SUPPORT_OCDBT_GOLDEN_H_
#define CAIRN_TESTS_SUPPORT_OCDBT_GOLDEN_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cairn::ocdbt_test {

// ../shared/orbax-golden, or "" when it is not there.
std::string GoldenRoot();
// Every directory below the golden root that holds a manifest.ocdbt, sorted.
std::vector<std::string> GoldenDatabases();
// The pristine pytree database of a layout folder ("v0_checkpoints/composite_checkpoint").
std::string PristineState(absl::string_view layout);
// All frames of `compressed`, decoded by streaming (the frames need not record their size).
absl::StatusOr<std::string> ZstdDecompress(absl::string_view compressed);

}  // namespace cairn::ocdbt_test

#endif  // CAIRN_TESTS_SUPPORT_OCDBT_GOLDEN_H_
