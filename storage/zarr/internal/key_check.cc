#include "cairn/storage/zarr/internal/key_check.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace cairn::zarr_internal {

absl::Status CheckKeyComponents(absl::string_view key) {
  for (absl::string_view part : absl::StrSplit(key, '/')) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != part.npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("key \"", key, "\" has an empty, \".\" or \"..\" component"));
    }
  }
  return absl::OkStatus();
}

}  // namespace cairn::zarr_internal
