#include "cairn/utils/verifying_filesystem.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// A file's verified contents.
class VerifiedFile final : public ReadableFile {
 public:
  VerifiedFile(std::string path, std::string contents)
      : path_(std::move(path)), contents_(std::move(contents)) {}

  absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
    if (offset >= contents_.size()) return 0;
    const size_t count = std::min<uint64_t>(n, contents_.size() - offset);
    std::memcpy(scratch, contents_.data() + offset, count);
    return count;
  }
  absl::StatusOr<uint64_t> Size() const override { return contents_.size(); }
  const std::string& path() const override { return path_; }

 private:
  const std::string path_;
  const std::string contents_;
};

}  // namespace

VerifyingFilesystem::VerifyingFilesystem(Filesystem* inner, std::string dir,
                                         std::map<std::string, FileDigest> digests,
                                         std::string source)
    : ForwardingFilesystem(inner),
      prefix_(std::move(dir) + "/"),
      digests_(std::move(digests)),
      source_(std::move(source)) {}

absl::StatusOr<std::unique_ptr<ReadableFile>> VerifyingFilesystem::NewReadableFile(
    const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, inner()->NewReadableFile(path));
  if (!absl::StartsWith(path, prefix_)) return file;
  const auto expected = digests_.find(path.substr(prefix_.size()));
  if (expected == digests_.end()) return file;
  const FileDigest& digest = expected->second;
  CAIRN_ASSIGN_OR_RETURN(const uint64_t size, file->Size());
  if (size != digest.size) {
    return absl::DataLossError(absl::StrCat(path, " is ", size, " bytes, but ", source_,
                                            " recorded ", digest.size,
                                            ": the file is damaged or was replaced"));
  }
  // The size was checked against the recorded one, which the commit wrote for a file it had
  // just written itself; the same bound guards this allocation.
  std::string contents(size, '\0');
  uint64_t done = 0;
  while (done < size) {
    CAIRN_ASSIGN_OR_RETURN(const size_t n, file->ReadAt(done, size - done, contents.data() + done));
    if (n == 0) {
      return absl::DataLossError(absl::StrCat(path, " ended after ", done,
                                              " bytes while being read; ", source_, " recorded ",
                                              digest.size));
    }
    done += n;
  }
  if (Checksum64(contents) != digest.checksum) {
    return absl::DataLossError(absl::StrCat(path, " does not match the checksum that ", source_,
                                            " recorded for it: the file is damaged"));
  }
  return std::unique_ptr<ReadableFile>(new VerifiedFile(path, std::move(contents)));
}

}  // namespace cairn
