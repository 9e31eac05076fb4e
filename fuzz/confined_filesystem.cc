#include "fuzz/confined_filesystem.h"

#include <cstdio>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace cairn::fuzz {

ConfinedFilesystem::ConfinedFilesystem(Filesystem* inner, std::string root)
    : ForwardingFilesystem(inner), root_(std::move(root)) {}

void ConfinedFilesystem::Refuse(const std::string& path, const char* operation) const {
  std::fprintf(stderr, "loading %s did %s on '%s'\n", root_.c_str(), operation, path.c_str());
  __builtin_trap();
}

void ConfinedFilesystem::CheckInside(const std::string& path, const char* operation) const {
  if (path == root_) return;
  absl::string_view rest = path;
  if (!absl::ConsumePrefix(&rest, root_) || !absl::ConsumePrefix(&rest, "/")) {
    Refuse(path, operation);
  }
  for (absl::string_view part : absl::StrSplit(rest, '/')) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != absl::string_view::npos) {
      Refuse(path, operation);
    }
  }
}

absl::StatusOr<std::unique_ptr<WritableFile>> ConfinedFilesystem::NewWritableFile(
    const std::string& path) {
  Refuse(path, "a write");
}

absl::StatusOr<std::unique_ptr<ReadableFile>> ConfinedFilesystem::NewReadableFile(
    const std::string& path) {
  CheckInside(path, "a read");
  return inner()->NewReadableFile(path);
}

absl::StatusOr<FileInfo> ConfinedFilesystem::Stat(const std::string& path) {
  CheckInside(path, "a stat");
  return inner()->Stat(path);
}

absl::StatusOr<std::vector<std::string>> ConfinedFilesystem::ListDir(const std::string& path) {
  CheckInside(path, "a listing");
  return inner()->ListDir(path);
}

absl::StatusOr<std::vector<DirEntry>> ConfinedFilesystem::ListDirEntries(const std::string& path) {
  CheckInside(path, "a listing");
  return inner()->ListDirEntries(path);
}

absl::Status ConfinedFilesystem::CreateDir(const std::string& path) { Refuse(path, "a mkdir"); }
absl::Status ConfinedFilesystem::DeleteFile(const std::string& path) { Refuse(path, "a delete"); }
absl::Status ConfinedFilesystem::DeleteDir(const std::string& path) { Refuse(path, "a rmdir"); }
absl::Status ConfinedFilesystem::Rename(const std::string& from, const std::string& to) {
  Refuse(from, "a rename");
}
absl::Status ConfinedFilesystem::SyncDir(const std::string& path) { Refuse(path, "a sync"); }

}  // namespace cairn::fuzz
