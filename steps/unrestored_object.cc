// An UnrestoredObject stands in for a stateful object a load could not restore: it refuses to be
// saved or restored, so that it is never mistaken for the object's state.
#include "absl/strings/str_cat.h"
#include "cairn/steps/checkpointable.h"

namespace cairn {

absl::Status UnrestoredObject::SaveState(Filesystem&, const std::string&) const {
  return absl::FailedPreconditionError(absl::StrCat(
      "the stateful object of type ", type_name_, " at ", dir_,
      " was not restored (a load of everything has no object to restore into): it has no state "
      "to save; load it by name with the object to restore into"));
}

absl::Status UnrestoredObject::RestoreState(Filesystem&, const std::string&) {
  return absl::FailedPreconditionError(
      absl::StrCat("an UnrestoredObject (type ", type_name_, ", at ", dir_,
                   ") cannot be restored into: request the name with a live object of its type"));
}

}  // namespace cairn
