#include "cairn/utils/internal/collective_outcome.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cairn::internal {

std::string EncodeOutcome(const absl::Status& status, absl::string_view payload) {
  if (status.ok()) return absl::StrCat("S", payload);
  return absl::StrCat("E", static_cast<int>(status.code()), ":", status.message());
}

absl::StatusOr<std::string> DecodeOutcome(absl::string_view encoded) {
  if (!encoded.empty() && encoded[0] == 'S') return std::string(encoded.substr(1));
  const size_t colon = encoded.find(':');
  int code = 0;
  if (encoded.empty() || encoded[0] != 'E' || colon == absl::string_view::npos ||
      !absl::SimpleAtoi(encoded.substr(1, colon - 1), &code) || code <= 0 || code > 16) {
    return absl::DataLossError(
        absl::StrCat("a process sent an outcome that is not one: '", encoded.substr(0, 64), "'"));
  }
  return absl::Status(static_cast<absl::StatusCode>(code), encoded.substr(colon + 1));
}

absl::Status FirstFailure(const std::vector<std::string>& gathered, absl::string_view what) {
  absl::Status first;
  int first_process = -1;
  int failed = 0;
  for (size_t i = 0; i < gathered.size(); ++i) {
    absl::StatusOr<std::string> outcome = DecodeOutcome(gathered[i]);
    if (outcome.ok()) continue;
    if (failed++ == 0) {
      first = outcome.status();
      first_process = static_cast<int>(i);
    }
  }
  if (failed == 0) return absl::OkStatus();
  std::string others;
  if (failed > 1) absl::StrAppend(&others, " (and ", failed - 1, " other processes failed)");
  if (gathered.size() == 1) return first;
  return absl::Status(first.code(), absl::StrCat(what, " failed on process ", first_process, " of ",
                                                 gathered.size(), others, ": ", first.message()));
}

absl::StatusOr<std::string> ShareOutcome(Coordinator& coordinator, absl::string_view name,
                                         const absl::Status& status, absl::string_view payload) {
  absl::StatusOr<std::string> shared =
      coordinator.Broadcast(name, coordinator.is_primary() ? EncodeOutcome(status, payload) : "");
  if (!shared.ok()) return shared.status();
  return DecodeOutcome(*shared);
}

}  // namespace cairn::internal
