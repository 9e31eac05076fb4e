// Records naming the process that holds something in a step: a reader's lease, or retention's
// intent to delete the step. A record says who (host, pid, the process's start time) and until
// when; it is stale once its holder is provably gone or its expiry has passed.
#ifndef CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_
#define CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem.h"

namespace cairn::internal {

// The JSON text of a record for this process, acquired at `now` and expiring after `ttl`.
std::string MakeHolderRecord(absl::Time now, absl::Duration ttl);

// OK when `step_dir`'s LOCKED is a real directory or absent; FailedPrecondition when it is a
// symlink or anything else: records written or read through it would live outside the step.
absl::Status CheckLockedDir(Filesystem& fs, const std::string& step_dir);

// Writes `record` as the file `name` in `step_dir`'s LOCKED directory, creating LOCKED as
// needed. A holder releasing the last lease removes an empty LOCKED, and may do so between our
// mkdir and our write: that is retried for as long as the step itself is there. NotFound when
// the step is gone. Callers check LOCKED with CheckLockedDir first.
absl::Status WriteHolderRecord(Filesystem& fs, const std::string& step_dir, const std::string& name,
                               const std::string& record);

enum class HolderState { kAbsent, kLive, kStale };

// The state of the record file at `path`. A file that cannot be parsed (being written, or
// damaged) is live until its modification time is older than `unparseable_ttl`: whoever asks
// errs on the side of the holder.
absl::StatusOr<HolderState> ReadHolderState(Filesystem& fs, const std::string& path, absl::Time now,
                                            absl::Duration unparseable_ttl);

}  // namespace cairn::internal

#endif  // CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_
