#include "cairn/steps/temporary_names.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Every tag has the same length, so the fields after it start at the same offset.
constexpr absl::string_view kInProgressTag = ".cairn-tmp.";
constexpr absl::string_view kReplacedTag = ".cairn-old.";
constexpr absl::string_view kDeletingTag = ".cairn-del.";

absl::string_view TagOf(TemporaryKind kind) {
  switch (kind) {
    case TemporaryKind::kInProgress:
      return kInProgressTag;
    case TemporaryKind::kReplaced:
      return kReplacedTag;
    case TemporaryKind::kDeleting:
      return kDeletingTag;
  }
  return kInProgressTag;
}

}  // namespace

const std::string& HostName() {
  static const std::string* const name = [] {
    char buffer[256] = {};
    if (::gethostname(buffer, sizeof(buffer) - 1) != 0 || buffer[0] == '\0') {
      return new std::string("localhost");
    }
    return new std::string(buffer);
  }();
  return *name;
}

bool ProcessAlive(int64_t pid) {
  if (pid <= 0) return false;
  if (::kill(static_cast<pid_t>(pid), 0) != 0 && errno != EPERM) return false;
  // A zombie has exited and will never write again, but keeps its pid until its parent reaps
  // it, which in a container without an init may be never: a rank of an MPI job killed with
  // SIGKILL stays one once its launcher is gone. Its state (field 3 of /proc/<pid>/stat,
  // after the command name's closing parenthesis) is Z, or X while it is being reaped.
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return true;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

std::string MakeTemporaryName(absl::string_view final_name, TemporaryKind kind) {
  static std::atomic<uint64_t> counter{0};
  // The nonce keeps two saves of one process apart; the time keeps restarts apart.
  const uint64_t nonce =
      static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())) ^ (counter.fetch_add(1) << 48);
  return absl::StrCat(final_name, TagOf(kind), ::getpid(), ".", absl::Hex(nonce), ".", HostName());
}

std::optional<TemporaryName> ParseTemporaryName(absl::string_view name) {
  TemporaryKind kind = TemporaryKind::kInProgress;
  size_t at = absl::string_view::npos;
  for (TemporaryKind candidate :
       {TemporaryKind::kInProgress, TemporaryKind::kReplaced, TemporaryKind::kDeleting}) {
    at = name.find(TagOf(candidate));
    if (at != absl::string_view::npos) {
      kind = candidate;
      break;
    }
  }
  if (at == absl::string_view::npos || at == 0) return std::nullopt;
  const absl::string_view rest = name.substr(at + kInProgressTag.size());
  std::vector<absl::string_view> parts = absl::StrSplit(rest, absl::MaxSplits('.', 2));
  int64_t pid;
  if (parts.size() != 3 || !absl::SimpleAtoi(parts[0], &pid) || parts[2].empty()) {
    return std::nullopt;
  }
  return TemporaryName{std::string(name.substr(0, at)), kind, pid, std::string(parts[2])};
}

absl::StatusOr<int> CleanupStaleTemporaries(const std::string& named_root,
                                            const CleanupOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string root, ResolveRoot(fs, named_root));
  CAIRN_ASSIGN_OR_RETURN(const std::vector<DirEntry> entries, fs.ListDirEntries(root));
  const absl::Time now = absl::Now();
  int removed = 0;
  for (const DirEntry& entry : entries) {
    const std::optional<TemporaryName> temporary = ParseTemporaryName(entry.name);
    if (!temporary) continue;
    const std::string path = JoinPath(root, entry.name);
    bool stale = temporary->host == HostName() && !ProcessAlive(temporary->pid);
    if (!stale) {
      absl::StatusOr<FileInfo> info = fs.Stat(path);
      if (!info.ok()) continue;
      stale = now - info->modification_time > options.max_age;
    }
    if (!stale) continue;
    absl::Status status = DeleteRecursively(fs, path);
    if (!status.ok() && !absl::IsNotFound(status)) return status;
    ++removed;
  }
  return removed;
}

}  // namespace cairn
