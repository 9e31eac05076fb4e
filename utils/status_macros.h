// Early-return helpers for absl::Status and absl::StatusOr<T>.
//
// Debian 12's Abseil (20220623) does not ship these, so cairn carries its own under a CAIRN_
// prefix that cannot collide with a user's macros.
#ifndef CAIRN_UTILS_STATUS_MACROS_H_
#define CAIRN_UTILS_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

#define CAIRN_STATUS_CONCAT_INNER_(a, b) a##b
#define CAIRN_STATUS_CONCAT_(a, b) CAIRN_STATUS_CONCAT_INNER_(a, b)

// Evaluates `expr` (an absl::Status) and returns it from the enclosing function if not OK.
#define CAIRN_RETURN_IF_ERROR(expr)                \
  do {                                             \
    ::absl::Status cairn_status_ = (expr);         \
    if (!cairn_status_.ok()) return cairn_status_; \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status, otherwise moves the
// value into `lhs`, which may be a declaration (`auto x`) or an existing variable.
#define CAIRN_ASSIGN_OR_RETURN(lhs, rexpr) \
  CAIRN_ASSIGN_OR_RETURN_IMPL_(CAIRN_STATUS_CONCAT_(cairn_statusor_, __LINE__), lhs, rexpr)

#define CAIRN_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

namespace cairn {

// Returns `status` with `context` put in front of its message, keeping its code. Used to add the
// file or key path that an inner error did not know about.
inline absl::Status Annotate(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace cairn

#endif  // CAIRN_UTILS_STATUS_MACROS_H_
