// The rule every directory-backed key store applies to a key before it becomes a path: a key's
// '/'-separated components become directories and a file, so none may be empty, "." or "..",
// or hold a NUL, which would let a key name something outside the directory.
#ifndef CAIRN_STORAGE_ZARR_INTERNAL_KEY_CHECK_H_
#define CAIRN_STORAGE_ZARR_INTERNAL_KEY_CHECK_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace cairn::zarr_internal {

// InvalidArgument naming the key when a component breaks the rule.
absl::Status CheckKeyComponents(absl::string_view key);

}  // namespace cairn::zarr_internal

#endif  // CAIRN_STORAGE_ZARR_INTERNAL_KEY_CHECK_H_
