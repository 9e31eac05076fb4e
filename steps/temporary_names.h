// Names of the directories a save works in before they become checkpoints, and the test that
// tells a crashed writer's leftovers from a live writer's work.
//
// A temporary name is "<final>.cairn-tmp.<pid>.<nonce>.<host>"; an overwritten checkpoint is
// moved aside as "<final>.cairn-old.<pid>.<nonce>.<host>" and a step that retention deletes as
// "<final>.cairn-del.<pid>.<nonce>.<host>". No NameFormat parses these, so listings never
// mistake them for steps.
#ifndef CAIRN_STEPS_TEMPORARY_NAMES_H_
#define CAIRN_STEPS_TEMPORARY_NAMES_H_

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

enum class TemporaryKind {
  kInProgress,  // a save writing a new checkpoint
  kReplaced,    // a checkpoint being overwritten, kept until its replacement is durable
  kDeleting,    // a step retention moved aside to delete it
};

std::string MakeTemporaryName(absl::string_view final_name, TemporaryKind kind);

struct TemporaryName {
  std::string final_name;
  TemporaryKind kind;
  int64_t pid;
  std::string host;
};
std::optional<TemporaryName> ParseTemporaryName(absl::string_view name);

// This machine's host name.
const std::string& HostName();
// Whether process `pid` on this host is alive: it exists and is not a zombie.
bool ProcessAlive(int64_t pid);

struct CleanupOptions {
  // Leftovers of writers on other hosts cannot be checked; they are stale once older than this.
  absl::Duration max_age = absl::Hours(6);
  Filesystem* filesystem = nullptr;
};

// Deletes the temporary directories under `root` whose writer is provably gone: on this host
// with a dead pid, or older than options.max_age. Returns how many it removed.
absl::StatusOr<int> CleanupStaleTemporaries(const std::string& root,
                                            const CleanupOptions& options = CleanupOptions());

}  // namespace cairn

#endif  // CAIRN_STEPS_TEMPORARY_NAMES_H_
