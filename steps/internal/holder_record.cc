#include "cairn/steps/internal/holder_record.h"

#include <unistd.h>

#include <fstream>
#include <iterator>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "nlohmann/json.hpp"

namespace cairn::internal {
namespace {

constexpr uint64_t kMaxRecordBytes = 4096;

// The start time of process `pid` in clock ticks since boot (field 22 of /proc/<pid>/stat),
// which tells a live holder from a new process that reused its pid. 0 when unknown.
int64_t ProcessStartTicks(int64_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces; the fields after it follow its closing ')'.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos) return 0;
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(stat).substr(close + 1), ' ', absl::SkipEmpty());
  int64_t ticks = 0;
  // After ')', field 3 is fields[0]; field 22 is fields[19].
  if (fields.size() < 20 || !absl::SimpleAtoi(fields[19], &ticks)) return 0;
  return ticks;
}

bool RecordIsLive(const nlohmann::json& record, absl::Time now) {
  const auto expires = record.find("expires_nsecs");
  if (expires != record.end() && expires->is_number_integer() &&
      absl::FromUnixNanos(expires->get<int64_t>()) < now) {
    return false;
  }
  const auto host = record.find("host");
  const auto pid = record.find("pid");
  if (host == record.end() || !host->is_string() || pid == record.end() ||
      !pid->is_number_integer()) {
    return true;
  }
  if (host->get<std::string>() != HostName()) return true;  // cannot check another machine
  const int64_t holder = pid->get<int64_t>();
  if (!ProcessAlive(holder)) return false;
  const auto start = record.find("start_ticks");
  if (start != record.end() && start->is_number_integer() && start->get<int64_t>() != 0) {
    const int64_t now_ticks = ProcessStartTicks(holder);
    if (now_ticks != 0 && now_ticks != start->get<int64_t>()) return false;  // pid reused
  }
  return true;
}

}  // namespace

std::string MakeHolderRecord(absl::Time now, absl::Duration ttl) {
  // Read each time, not cached: a forked child is another process with its own start time.
  const int64_t pid = ::getpid();
  return nlohmann::json{{"host", HostName()},
                        {"pid", pid},
                        {"start_ticks", ProcessStartTicks(pid)},
                        {"acquired_nsecs", absl::ToUnixNanos(now)},
                        {"expires_nsecs", absl::ToUnixNanos(now + ttl)}}
      .dump();
}

absl::Status CheckLockedDir(Filesystem& fs, const std::string& step_dir) {
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  absl::StatusOr<FileInfo> info = fs.Stat(locked);
  if (absl::IsNotFound(info.status())) return absl::OkStatus();
  CAIRN_RETURN_IF_ERROR(info.status());
  if (info->is_directory()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      locked, " is ", info->is_symlink() ? "a symlink" : "not a directory",
      ": leases are kept only inside the step; remove it to lease or delete the step"));
}

absl::Status WriteHolderRecord(Filesystem& fs, const std::string& step_dir, const std::string& name,
                               const std::string& record) {
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  const std::string path = JoinPath(locked, name);
  // Each retry means another holder released in the meantime; a handful always suffices.
  constexpr int kAttempts = 100;
  absl::Status written;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    absl::Status made = fs.CreateDir(locked);
    if (!made.ok() && !absl::IsAlreadyExists(made)) return made;  // NotFound: the step is gone
    written = WriteStringToFile(fs, path, record, /*sync=*/false);
    if (!absl::IsNotFound(written)) return written;
    fs.DeleteFile(path).IgnoreError();  // a file created before LOCKED went, if any
  }
  return written;
}

absl::StatusOr<HolderState> ReadHolderState(Filesystem& fs, const std::string& path, absl::Time now,
                                            absl::Duration unparseable_ttl) {
  absl::StatusOr<std::string> text = ReadFileToString(fs, path, kMaxRecordBytes);
  if (absl::IsNotFound(text.status())) return HolderState::kAbsent;
  const nlohmann::json record =
      text.ok() ? nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false)
                : nlohmann::json(nlohmann::json::value_t::discarded);
  if (!record.is_discarded() && record.is_object()) {
    return RecordIsLive(record, now) ? HolderState::kLive : HolderState::kStale;
  }
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (absl::IsNotFound(info.status())) return HolderState::kAbsent;
  if (!info.ok()) return info.status();
  return now - info->modification_time > unparseable_ttl ? HolderState::kStale : HolderState::kLive;
}

}  // namespace cairn::internal
