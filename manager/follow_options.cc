#include "cairn/manager/follow_options.h"

#include "absl/strings/str_cat.h"

namespace cairn {

absl::Status ValidateFollowOptions(const FollowOptions& options) {
  if (options.name_format == nullptr) {
    return absl::InvalidArgumentError(
        "follow options: name_format is null; use NameFormat::Plain()");
  }
  if (options.poll_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("follow options: poll_interval must be positive, not ",
                     absl::FormatDuration(options.poll_interval)));
  }
  if (options.timeout && *options.timeout < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("follow options: timeout must not be negative, not ",
                     absl::FormatDuration(*options.timeout), "; leave it unset to wait for ever"));
  }
  if (options.lease_ttl <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("follow options: lease_ttl must be positive, not ",
                     absl::FormatDuration(options.lease_ttl)));
  }
  if (options.coordinator != nullptr && options.coordination_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(
        absl::StrCat("follow options: coordination_interval must be positive, not ",
                     absl::FormatDuration(options.coordination_interval)));
  }
  return absl::OkStatus();
}

}  // namespace cairn
