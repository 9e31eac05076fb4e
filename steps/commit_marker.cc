#include "cairn/steps/commit_marker.h"

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "cairn/steps/checkpoint.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// Line 1 is for people; the listing follows, then the checksum of everything above it:
//   committed by cairn
//   files <count>
//   <size> <checksum, 16 hex digits> <path, C-escaped>     (one line per file)
//   checksum <16 hex digits>                               (of every byte before this line)
// The previous version's checksum covered the lines from "files" on; such markers still load
// when their first line is exactly kFirstLine.
constexpr char kFirstLine[] = "committed by cairn";
constexpr uint64_t kMaxMarkerBytes = uint64_t{64} << 20;
constexpr uint64_t kMaxListedFiles = 1'000'000;

std::string Hex16(uint64_t value) { return absl::StrCat(absl::Hex(value, absl::kZeroPad16)); }

bool ParseHex16(absl::string_view text, uint64_t* value) {
  return text.size() == 16 && absl::SimpleHexAtoi(text, value);
}

// Whether `text` has a cairn marker's structure: more than one line, or its one line is a
// listing's. Only a one-line text (what Orbax writes) or an empty file vouches for the commit
// alone, so that damage anywhere in a cairn marker, its first line included, is reported.
bool HasListingStructure(absl::string_view text) {
  absl::ConsumeSuffix(&text, "\n");
  return text.find('\n') != absl::string_view::npos || absl::StartsWith(text, "files ") ||
         absl::StartsWith(text, "checksum ");
}

// A listed path is only ever compared with paths cairn builds, never opened, but one that could
// not have been written inside the checkpoint marks the listing as damaged all the same.
bool IsPlausiblePath(absl::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string FormatCommitMarker(const ListedFiles& files) {
  std::string listing = absl::StrCat("files ", files.size(), "\n");
  for (const auto& [path, digest] : files) {
    absl::StrAppend(&listing, digest.size, " ", Hex16(digest.checksum), " ", absl::CEscape(path),
                    "\n");
  }
  const std::string covered = absl::StrCat(kFirstLine, "\n", listing);
  return absl::StrCat(covered, "checksum ", Hex16(Checksum64(covered)), "\n");
}

absl::StatusOr<std::optional<ListedFiles>> ReadCommitMarker(Filesystem& fs,
                                                            const std::string& dir) {
  const std::string path = JoinPath(dir, kCommitMarkerFileName);
  absl::StatusOr<FileInfo> info = fs.Stat(path);
  // No marker (or `dir` is no directory): nothing to verify; the caller explains what is wrong.
  if (absl::IsNotFound(info.status()) || absl::IsFailedPrecondition(info.status())) {
    return std::nullopt;
  }
  CAIRN_RETURN_IF_ERROR(info.status());
  // A link or a directory under the marker's name would vouch for a checkpoint unverified.
  if (!info->is_file()) {
    return absl::DataLossError(
        absl::StrCat(path, " is ", info->is_symlink() ? "a symlink" : "not a regular file",
                     ": the checkpoint's commit cannot be trusted; it is treated as damaged"));
  }
  if (info->size > kMaxMarkerBytes) {
    return absl::DataLossError(
        absl::StrCat(path, " is larger than any commit marker cairn writes: it is damaged"));
  }
  CAIRN_ASSIGN_OR_RETURN(const std::string contents, ReadFileToString(fs, path, kMaxMarkerBytes));
  const absl::string_view text = contents;
  if (!HasListingStructure(text)) return std::nullopt;

  const auto damaged = [&path](absl::string_view why) {
    return absl::DataLossError(
        absl::StrCat(path, " is damaged (", why, "); the checkpoint's files cannot be verified"));
  };
  const size_t checksum_at = text.rfind("checksum ");
  if (checksum_at == absl::string_view::npos ||
      (checksum_at != 0 && text[checksum_at - 1] != '\n')) {
    return damaged("no checksum line");
  }
  const absl::string_view covered = text.substr(0, checksum_at);
  absl::string_view checksum_line = text.substr(checksum_at + 9);
  if (checksum_line.empty() || checksum_line.back() != '\n') return damaged("unterminated");
  checksum_line.remove_suffix(1);
  uint64_t checksum = 0;
  if (!ParseHex16(checksum_line, &checksum)) return damaged("malformed checksum line");
  const size_t first_end = covered.find('\n');
  if (first_end == absl::string_view::npos) return damaged("no listing");
  const absl::string_view listing = covered.substr(first_end + 1);
  const bool matches =
      Checksum64(covered) == checksum ||
      (covered.substr(0, first_end) == kFirstLine && Checksum64(listing) == checksum);
  if (!matches) return damaged("its checksum does not match");

  std::vector<absl::string_view> lines = absl::StrSplit(listing, '\n');
  if (lines.empty() || !lines.back().empty()) return damaged("unterminated listing");
  lines.pop_back();
  uint64_t count = 0;
  if (lines.empty() || !absl::ConsumePrefix(&lines[0], "files ") ||
      !absl::SimpleAtoi(lines[0], &count) || count > kMaxListedFiles || count != lines.size() - 1) {
    return damaged("malformed file count");
  }
  ListedFiles files;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::vector<absl::string_view> fields = absl::StrSplit(lines[i], absl::MaxSplits(' ', 2));
    FileDigest digest;
    std::string file;
    if (fields.size() != 3 || !absl::SimpleAtoi(fields[0], &digest.size) ||
        digest.size > kMaxListedFileBytes || !ParseHex16(fields[1], &digest.checksum) ||
        !absl::CUnescape(fields[2], &file) || !IsPlausiblePath(file) ||
        !files.emplace(file, digest).second) {
      return damaged(absl::StrCat("malformed entry on line ", i + 2));
    }
  }
  return files;
}

}  // namespace cairn
