#include "cairn/steps/internal/holder_record.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <iterator>
#include <optional>
#include <vector>

#include "absl/strings/match.h"
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

// What a record says, from its name or from an earlier version's JSON contents. A field the
// record lacks is unknown, and an unknown field never makes the record stale.
struct HolderRecord {
  std::optional<std::string> host;
  std::optional<int64_t> pid;
  int64_t start_ticks = 0;  // 0: unknown
  std::optional<absl::Time> acquired;
  std::optional<absl::Time> expires;
};

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

bool RecordIsLive(const HolderRecord& record, absl::Time now) {
  if (record.expires && *record.expires < now) return false;
  if (!record.host || !record.pid) return true;
  if (*record.host != HostName()) return true;  // cannot check another machine
  if (!ProcessAlive(*record.pid)) return false;
  if (record.start_ticks != 0) {
    const int64_t now_ticks = ProcessStartTicks(*record.pid);
    if (now_ticks != 0 && now_ticks != record.start_ticks) return false;  // pid reused
  }
  return true;
}

bool ParseHex(absl::string_view text, uint64_t* value) {
  return !text.empty() && absl::SimpleHexAtoi(text, value);
}

// The record a name of the form MakeHolderRecordName writes carries; nullopt for other names.
std::optional<HolderRecord> ParseRecordName(absl::string_view name) {
  const size_t dot = name.find('.');
  if (dot == absl::string_view::npos) return std::nullopt;
  // pid, start ticks, nonce, acquired, expires, then the host, which may itself hold dots.
  std::vector<absl::string_view> fields =
      absl::StrSplit(name.substr(dot + 1), absl::MaxSplits('.', 5));
  int64_t pid = 0;
  int64_t ticks = 0;
  uint64_t nonce = 0, acquired = 0, expires = 0;
  if (fields.size() != 6 || !absl::SimpleAtoi(fields[0], &pid) ||
      !absl::SimpleAtoi(fields[1], &ticks) || !ParseHex(fields[2], &nonce) ||
      !ParseHex(fields[3], &acquired) || !ParseHex(fields[4], &expires) || fields[5].empty()) {
    return std::nullopt;
  }
  HolderRecord record;
  record.host = std::string(fields[5]);
  record.pid = pid;
  record.start_ticks = ticks;
  record.acquired = absl::FromUnixNanos(static_cast<int64_t>(acquired));
  record.expires = absl::FromUnixNanos(static_cast<int64_t>(expires));
  return record;
}

// An earlier version's record: a JSON object as the file's contents.
std::optional<HolderRecord> ParseRecordJson(absl::string_view text) {
  const nlohmann::json json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_object()) return std::nullopt;
  HolderRecord record;
  const auto host = json.find("host");
  const auto pid = json.find("pid");
  if (host != json.end() && host->is_string() && pid != json.end() && pid->is_number_integer()) {
    record.host = host->get<std::string>();
    record.pid = pid->get<int64_t>();
  }
  const auto start = json.find("start_ticks");
  if (start != json.end() && start->is_number_integer()) record.start_ticks = start->get<int64_t>();
  const auto acquired = json.find("acquired_nsecs");
  if (acquired != json.end() && acquired->is_number_integer()) {
    record.acquired = absl::FromUnixNanos(acquired->get<int64_t>());
  }
  const auto expires = json.find("expires_nsecs");
  if (expires != json.end() && expires->is_number_integer()) {
    record.expires = absl::FromUnixNanos(expires->get<int64_t>());
  }
  return record;
}

}  // namespace

std::string MakeHolderRecordName(absl::string_view kind, absl::Time now, absl::Duration ttl) {
  static std::atomic<uint64_t> nonce{0};
  // Read each time, not cached: a forked child is another process with its own start time.
  const int64_t pid = ::getpid();
  return absl::StrCat(kind, ".", pid, ".", ProcessStartTicks(pid), ".",
                      absl::Hex(nonce.fetch_add(1)), ".", absl::Hex(absl::ToUnixNanos(now)), ".",
                      absl::Hex(absl::ToUnixNanos(now + ttl)), ".", HostName());
}

bool IsHolderRecordOf(absl::string_view kind, absl::string_view name) {
  return name.size() > kind.size() && absl::StartsWith(name, kind) && name[kind.size()] == '.';
}

absl::Status CreateHolderRecord(Filesystem& fs, const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(const std::unique_ptr<WritableFile> file, fs.NewWritableFile(path));
  return file->Close();
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

absl::Status WriteHolderRecord(Filesystem& fs, const std::string& step_dir,
                               const std::string& name) {
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  const std::string path = JoinPath(locked, name);
  // Each retry means another holder released in the meantime; a handful always suffices.
  constexpr int kAttempts = 100;
  absl::Status written;
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    absl::Status made = fs.CreateDir(locked);
    if (!made.ok() && !absl::IsAlreadyExists(made)) return made;  // NotFound: the step is gone
    written = CreateHolderRecord(fs, path);
    if (!absl::IsNotFound(written)) return written;
    fs.DeleteFile(path).IgnoreError();  // a file created before LOCKED went, if any
  }
  return written;
}

absl::StatusOr<HolderState> ReadHolderState(Filesystem& fs, const std::string& dir,
                                            const std::string& name, absl::Time now,
                                            absl::Duration unparseable_ttl) {
  const std::string path = JoinPath(dir, name);
  std::optional<HolderRecord> record = ParseRecordName(name);
  if (record) {
    // The name alone decides, but a record that was removed meanwhile holds nothing.
    if (!RecordIsLive(*record, now)) return HolderState::kStale;
    CAIRN_ASSIGN_OR_RETURN(const bool exists, PathExists(fs, path));
    return exists ? HolderState::kLive : HolderState::kAbsent;
  }
  absl::StatusOr<std::string> text = ReadFileToString(fs, path, kMaxRecordBytes);
  if (absl::IsNotFound(text.status())) return HolderState::kAbsent;
  if (text.ok()) record = ParseRecordJson(*text);
  if (record) return RecordIsLive(*record, now) ? HolderState::kLive : HolderState::kStale;
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  if (absl::IsNotFound(info.status())) return HolderState::kAbsent;
  if (!info.ok()) return info.status();
  return now - info->modification_time > unparseable_ttl ? HolderState::kStale : HolderState::kLive;
}

absl::StatusOr<HolderRecordInfo> DescribeHolderRecord(Filesystem& fs, const std::string& dir,
                                                      const std::string& name, absl::Time now,
                                                      absl::Duration unparseable_ttl) {
  HolderRecordInfo info;
  CAIRN_ASSIGN_OR_RETURN(info.state, ReadHolderState(fs, dir, name, now, unparseable_ttl));
  if (info.state == HolderState::kAbsent) return info;
  std::optional<HolderRecord> record = ParseRecordName(name);
  if (!record) {
    absl::StatusOr<std::string> text = ReadFileToString(fs, JoinPath(dir, name), kMaxRecordBytes);
    if (text.ok()) record = ParseRecordJson(*text);
  }
  if (record) {
    info.host = record->host;
    info.pid = record->pid;
    info.acquired = record->acquired;
    info.expires = record->expires;
  }
  return info;
}

}  // namespace cairn::internal
