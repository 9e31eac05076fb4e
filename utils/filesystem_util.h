// Helpers built on any Filesystem: paths, recursive create and delete, whole-file reads and
// writes.
#ifndef CAIRN_UTILS_FILESYSTEM_UTIL_H_
#define CAIRN_UTILS_FILESYSTEM_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/utils/filesystem.h"

namespace cairn {

// `a/b` with exactly one slash between them. `b` is always taken relative to `a`: a leading
// slash on it is dropped rather than letting it escape `a`. An empty `b` gives `a`.
// A root of steps as a caller named it, resolved (Filesystem::CanonicalPath): the root itself
// may be a link, nothing below it may.
absl::StatusOr<std::string> ResolveRoot(Filesystem& fs, const std::string& root);
// A checkpoint's (or tree's, or step's) directory as a caller named it, resolved up to its last
// component, which is kept as named: a directory that is itself a link is refused by what comes
// next, as a step that is a link is never listed, so that naming it directly cannot reach what a
// listing would not.
absl::StatusOr<std::string> ResolveAbove(Filesystem& fs, const std::string& dir);

std::string JoinPath(absl::string_view a, absl::string_view b);
// The directory part of `path` ("/a/b" -> "/a", "/a" -> "/", "a" -> ".").
std::string ParentPath(absl::string_view path);
// The last component of `path` ("/a/b" -> "b", "b" -> "b"; trailing slashes are ignored).
std::string BaseName(absl::string_view path);

// mkdir -p: OK if `path` is already a directory; FailedPrecondition if a component is not one.
// Symlinks to directories among the existing components are accepted, as mkdir -p does. With
// `sync`, each directory it creates is made durable in its parent (SyncDir), so that what is
// later saved below it cannot vanish with it in a power loss.
absl::Status CreateDirs(Filesystem& fs, const std::string& path, bool sync = false);
// Removes `path` and everything below it; NotFound if `path` does not exist. Symlinks are
// removed, never followed.
absl::Status DeleteRecursively(Filesystem& fs, const std::string& path);
// Reads a whole file. One larger than `max_size` is refused with FailedPrecondition before
// anything is allocated for it, so a corrupt or hostile file cannot exhaust memory.
absl::StatusOr<std::string> ReadFileToString(Filesystem& fs, const std::string& path,
                                             uint64_t max_size);
// Creates or truncates `path` with `data`; with `sync`, fsyncs the file before closing it.
// Making the new entry durable (SyncDir of the parent) is left to the caller.
absl::Status WriteStringToFile(Filesystem& fs, const std::string& path, absl::string_view data,
                               bool sync);
// Whether anything (file, directory, symlink) exists at `path`; errors other than NotFound are
// returned.
absl::StatusOr<bool> PathExists(Filesystem& fs, const std::string& path);

}  // namespace cairn

#endif  // CAIRN_UTILS_FILESYSTEM_UTIL_H_
