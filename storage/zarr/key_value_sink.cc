#include "cairn/storage/zarr/key_value_sink.h"

#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/storage/zarr/internal/key_check.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// `status` with `where` in front of its message, unless the message names it already.
absl::Status Naming(absl::Status status, const std::string& where) {
  if (status.ok() || absl::StrContains(status.message(), where)) return status;
  return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
}

}  // namespace

absl::Status KeyValueSink::PutParts(std::string key, absl::Span<const absl::string_view> parts) {
  if (parts.size() == 1) return Put(std::move(key), parts[0]);
  return Put(std::move(key), absl::StrJoin(parts, ""));
}

DirectoryKeyValueSink::DirectoryKeyValueSink(Filesystem& fs, std::string dir, bool sync)
    : fs_(fs), dir_(std::move(dir)), sync_(sync) {}

std::string DirectoryKeyValueSink::Describe(absl::string_view key) const {
  return JoinPath(dir_, key);
}

absl::Status DirectoryKeyValueSink::Put(std::string key, absl::string_view value) {
  return PutParts(std::move(key), absl::MakeConstSpan(&value, 1));
}

absl::Status DirectoryKeyValueSink::EnsureDirectory(const std::string& path) {
  {
    absl::MutexLock lock(&mu_);
    if (made_.contains(path)) return absl::OkStatus();
  }
  // Concurrent puts may create the same directory: CreateDirs accepts one that appeared.
  CAIRN_RETURN_IF_ERROR(CreateDirs(fs_, path, sync_));
  absl::MutexLock lock(&mu_);
  made_.insert(path);
  return absl::OkStatus();
}

absl::Status DirectoryKeyValueSink::PutParts(std::string key,
                                             absl::Span<const absl::string_view> parts) {
  CAIRN_RETURN_IF_ERROR(Naming(zarr_internal::CheckKeyComponents(key), dir_));
  const std::string path = Describe(key);
  const std::string parent = ParentPath(path);
  CAIRN_RETURN_IF_ERROR(Naming(EnsureDirectory(parent), path));
  absl::StatusOr<std::unique_ptr<WritableFile>> file = fs_.NewWritableFile(path);
  CAIRN_RETURN_IF_ERROR(Naming(file.status(), path));
  for (absl::string_view part : parts) {
    CAIRN_RETURN_IF_ERROR(Naming((*file)->Append(part), path));
  }
  if (sync_) CAIRN_RETURN_IF_ERROR(Naming((*file)->Sync(), path));
  CAIRN_RETURN_IF_ERROR(Naming((*file)->Close(), path));
  if (sync_) CAIRN_RETURN_IF_ERROR(Naming(fs_.SyncDir(parent), path));
  return absl::OkStatus();
}

InMemoryKeyValueSink::InMemoryKeyValueSink(std::string name) : name_(std::move(name)) {}

absl::Status InMemoryKeyValueSink::Put(std::string key, absl::string_view value) {
  absl::MutexLock lock(&mu_);
  values_[std::move(key)] = std::string(value);
  return absl::OkStatus();
}

std::string InMemoryKeyValueSink::Describe(absl::string_view key) const {
  return absl::StrCat("key \"", key, "\" in ", name_);
}

std::map<std::string, std::string> InMemoryKeyValueSink::values() const {
  absl::MutexLock lock(&mu_);
  return values_;
}

std::unique_ptr<KeyValueSource> InMemoryKeyValueSink::AsSource() const {
  return InMemoryKeyValueSource(values(), name_);
}

}  // namespace cairn
