// Records naming the process that holds something in a step: a reader's lease, or retention's
// intent to delete the step. A record says who (host, pid, the process's start time) and until
// when; it is stale once its holder is provably gone or its expiry has passed.
//
// The record is carried by the name of an empty file,
// "<kind>.<pid>.<start ticks>.<nonce>.<acquired>.<expires>.<host>" (nonce and times in hex, times
// in Unix nanoseconds), so that writing one needs no data blocks: a full disk still takes it.
// Files of earlier versions carry a JSON record as their contents instead; both are read.
#ifndef CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_
#define CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem.h"

namespace cairn::internal {

// The file name of a record of `kind` for this process, acquired at `now`, expiring after `ttl`.
std::string MakeHolderRecordName(absl::string_view kind, absl::Time now, absl::Duration ttl);

// Whether `name` is named as a record of `kind` (whether or not the rest of it parses).
bool IsHolderRecordOf(absl::string_view kind, absl::string_view name);

// Creates the empty record file `path`. NotFound when its directory is gone.
absl::Status CreateHolderRecord(Filesystem& fs, const std::string& path);

// OK when `step_dir`'s LOCKED is a real directory or absent; FailedPrecondition when it is a
// symlink or anything else: records written or read through it would live outside the step.
absl::Status CheckLockedDir(Filesystem& fs, const std::string& step_dir);

// Creates the record `name` in `step_dir`'s LOCKED directory, creating LOCKED as needed. A
// holder releasing the last lease removes an empty LOCKED, and may do so between our mkdir and
// our create: that is retried for as long as the step itself is there. NotFound when the step
// is gone. Callers check LOCKED with CheckLockedDir first.
absl::Status WriteHolderRecord(Filesystem& fs, const std::string& step_dir,
                               const std::string& name);

enum class HolderState { kAbsent, kLive, kStale };

// The state of the record file `name` in `dir`: from its name when it carries the record, else
// from its contents. A file whose record cannot be parsed (being written, or damaged) is live
// until its modification time is older than `unparseable_ttl`: whoever asks errs on the side of
// the holder.
absl::StatusOr<HolderState> ReadHolderState(Filesystem& fs, const std::string& dir,
                                            const std::string& name, absl::Time now,
                                            absl::Duration unparseable_ttl);

// What a record file says of its holder, for listings; fields the record lacks are unset.
struct HolderRecordInfo {
  std::optional<std::string> host;
  std::optional<int64_t> pid;
  std::optional<absl::Time> acquired;
  std::optional<absl::Time> expires;
  HolderState state = HolderState::kAbsent;
};

// The record file `name` in `dir`, described; its state as ReadHolderState decides it.
absl::StatusOr<HolderRecordInfo> DescribeHolderRecord(Filesystem& fs, const std::string& dir,
                                                      const std::string& name, absl::Time now,
                                                      absl::Duration unparseable_ttl);

}  // namespace cairn::internal

#endif  // CAIRN_STEPS_INTERNAL_HOLDER_RECORD_H_
