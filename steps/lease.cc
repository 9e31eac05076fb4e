#include "cairn/steps/lease.h"

#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "nlohmann/json.hpp"

namespace cairn {
namespace {

constexpr uint64_t kMaxLeaseBytes = 4096;

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

bool LeaseIsLive(const nlohmann::json& lease, absl::Time now) {
  if (!lease.is_object()) return true;
  const auto expires = lease.find("expires_nsecs");
  if (expires != lease.end() && expires->is_number_integer() &&
      absl::FromUnixNanos(expires->get<int64_t>()) < now) {
    return false;
  }
  const auto host = lease.find("host");
  const auto pid = lease.find("pid");
  if (host == lease.end() || !host->is_string() || pid == lease.end() ||
      !pid->is_number_integer()) {
    return true;
  }
  if (host->get<std::string>() != HostName()) return true;  // cannot check another machine
  const int64_t holder = pid->get<int64_t>();
  if (!ProcessAlive(holder)) return false;
  const auto start = lease.find("start_ticks");
  if (start != lease.end() && start->is_number_integer() && start->get<int64_t>() != 0) {
    const int64_t now_ticks = ProcessStartTicks(holder);
    if (now_ticks != 0 && now_ticks != start->get<int64_t>()) return false;  // pid reused
  }
  return true;
}

}  // namespace

StepLease::StepLease(StepLease&& other) noexcept
    : fs_(other.fs_),
      step_dir_(std::move(other.step_dir_)),
      lease_path_(std::move(other.lease_path_)) {
  other.fs_ = nullptr;
}

StepLease& StepLease::operator=(StepLease&& other) noexcept {
  if (this != &other) {
    Release().IgnoreError();
    fs_ = other.fs_;
    step_dir_ = std::move(other.step_dir_);
    lease_path_ = std::move(other.lease_path_);
    other.fs_ = nullptr;
  }
  return *this;
}

StepLease::~StepLease() { Release().IgnoreError(); }

absl::Status StepLease::Release() {
  if (fs_ == nullptr) return absl::OkStatus();
  Filesystem* fs = fs_;
  fs_ = nullptr;
  absl::Status status = fs->DeleteFile(lease_path_);
  // The step may have been deleted with --force style tools; nothing is left to release then.
  if (absl::IsNotFound(status)) status = absl::OkStatus();
  // Removing LOCKED fails while other leases remain, which is what should happen.
  fs->DeleteDir(JoinPath(step_dir_, kLockedDirName)).IgnoreError();
  return status;
}

absl::StatusOr<StepLease> AcquireLease(const std::string& step_dir, const LeaseOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const FileInfo info, fs.Stat(step_dir));
  if (!info.is_directory()) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot lease ", step_dir, ": not a directory"));
  }
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  absl::Status made = fs.CreateDir(locked);
  if (!made.ok() && !absl::IsAlreadyExists(made)) return made;
  static std::atomic<uint64_t> counter{0};
  const absl::Time now = absl::Now();
  const int64_t pid = ::getpid();
  const std::string path =
      JoinPath(locked, absl::StrCat(HostName(), ".", pid, ".", counter.fetch_add(1), ".",
                                    absl::Hex(absl::ToUnixNanos(now)), ".lease"));
  nlohmann::json lease = {{"host", HostName()},
                          {"pid", pid},
                          {"start_ticks", ProcessStartTicks(pid)},
                          {"acquired_nsecs", absl::ToUnixNanos(now)},
                          {"expires_nsecs", absl::ToUnixNanos(now + options.ttl)}};
  CAIRN_RETURN_IF_ERROR(WriteStringToFile(fs, path, lease.dump(), /*sync=*/false));
  StepLease held;
  held.fs_ = &fs;
  held.step_dir_ = step_dir;
  held.lease_path_ = path;
  return held;
}

absl::StatusOr<bool> IsLocked(const std::string& step_dir, Filesystem* filesystem,
                              absl::Duration corrupt_lease_ttl) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  const std::string locked = JoinPath(step_dir, kLockedDirName);
  absl::StatusOr<std::vector<std::string>> names = fs.ListDir(locked);
  if (absl::IsNotFound(names.status())) return false;
  CAIRN_RETURN_IF_ERROR(names.status());
  const absl::Time now = absl::Now();
  for (const std::string& name : *names) {
    const std::string path = JoinPath(locked, name);
    absl::StatusOr<std::string> text = ReadFileToString(fs, path, kMaxLeaseBytes);
    if (absl::IsNotFound(text.status())) continue;  // released meanwhile
    const nlohmann::json lease =
        text.ok() ? nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false)
                  : nlohmann::json(nlohmann::json::value_t::discarded);
    if (lease.is_discarded() || !lease.is_object()) {
      // Unreadable: keep the step until the file is old enough to be certainly abandoned.
      absl::StatusOr<FileInfo> info = fs.Stat(path);
      if (info.ok() && now - info->modification_time > corrupt_lease_ttl) continue;
      return true;
    }
    if (LeaseIsLive(lease, now)) return true;
  }
  return false;
}

absl::Status UnlockExistingCheckpoints(const std::string& root, const StepListingOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::vector<int64_t> steps, ListSteps(root, options));
  for (int64_t step : steps) {
    const std::string locked = JoinPath(StepPath(root, step, *options.name_format), kLockedDirName);
    absl::Status status = DeleteRecursively(fs, locked);
    if (!status.ok() && !absl::IsNotFound(status)) return status;
  }
  return absl::OkStatus();
}

}  // namespace cairn
