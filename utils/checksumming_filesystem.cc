#include "cairn/utils/checksumming_filesystem.h"

#include <atomic>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/utils/status_macros.h"

namespace cairn {

class ChecksummingFilesystem::File final : public WritableFile {
 public:
  File(std::unique_ptr<WritableFile> inner, ChecksummingFilesystem* owner)
      : inner_(std::move(inner)), owner_(owner) {}

  // Append is called by one thread at a time (WritableFile's contract); WriteAt may be called
  // from several at once, so it only raises a flag.
  absl::Status Append(absl::string_view data) override {
    CAIRN_RETURN_IF_ERROR(inner_->Append(data));
    checksum_.Update(data);
    size_ += data.size();
    return absl::OkStatus();
  }
  absl::Status WriteAt(uint64_t offset, absl::string_view data) override {
    // Written out of order: not a file this wrapper can vouch for.
    out_of_order_.store(true, std::memory_order_relaxed);
    return inner_->WriteAt(offset, data);
  }
  absl::Status Sync() override { return inner_->Sync(); }
  void StartWriteback(uint64_t offset, uint64_t size) override {
    inner_->StartWriteback(offset, size);
  }
  absl::Status Close() override {
    CAIRN_RETURN_IF_ERROR(inner_->Close());
    if (!out_of_order_.load(std::memory_order_relaxed)) {
      owner_->Record(inner_->path(), FileDigest{size_, checksum_.Digest()});
    }
    return absl::OkStatus();
  }
  const std::string& path() const override { return inner_->path(); }

 private:
  std::unique_ptr<WritableFile> inner_;
  ChecksummingFilesystem* const owner_;
  StreamingChecksum64 checksum_;
  uint64_t size_ = 0;
  std::atomic<bool> out_of_order_{false};
};

absl::StatusOr<std::unique_ptr<WritableFile>> ChecksummingFilesystem::NewWritableFile(
    const std::string& path) {
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, inner()->NewWritableFile(path));
  {
    // The file was truncated: whatever was recorded of it is gone.
    absl::MutexLock lock(&mu_);
    digests_.erase(path);
  }
  return std::unique_ptr<WritableFile>(new File(std::move(file), this));
}

absl::Status ChecksummingFilesystem::DeleteFile(const std::string& path) {
  CAIRN_RETURN_IF_ERROR(inner()->DeleteFile(path));
  absl::MutexLock lock(&mu_);
  digests_.erase(path);
  return absl::OkStatus();
}

absl::Status ChecksummingFilesystem::Rename(const std::string& from, const std::string& to) {
  CAIRN_RETURN_IF_ERROR(inner()->Rename(from, to));
  absl::MutexLock lock(&mu_);
  // A file, or a directory with every recorded file below it, moves; what was at `to` is gone.
  const std::string to_prefix = to + "/";
  for (auto it = digests_.begin(); it != digests_.end();) {
    it = it->first == to || absl::StartsWith(it->first, to_prefix) ? digests_.erase(it)
                                                                   : std::next(it);
  }
  const std::string from_prefix = from + "/";
  std::vector<std::pair<std::string, FileDigest>> moved;
  for (auto it = digests_.begin(); it != digests_.end();) {
    if (it->first == from) {
      moved.emplace_back(to, it->second);
    } else if (absl::StartsWith(it->first, from_prefix)) {
      moved.emplace_back(absl::StrCat(to_prefix, it->first.substr(from_prefix.size())), it->second);
    } else {
      ++it;
      continue;
    }
    it = digests_.erase(it);
  }
  for (auto& [path, digest] : moved) digests_[path] = digest;
  return absl::OkStatus();
}

void ChecksummingFilesystem::Record(const std::string& path, const FileDigest& digest) {
  absl::MutexLock lock(&mu_);
  digests_[path] = digest;
}

std::map<std::string, FileDigest> ChecksummingFilesystem::DigestsBelow(
    const std::string& dir) const {
  const std::string prefix = dir + "/";
  std::map<std::string, FileDigest> below;
  absl::MutexLock lock(&mu_);
  for (auto it = digests_.lower_bound(prefix);
       it != digests_.end() && absl::StartsWith(it->first, prefix); ++it) {
    below.emplace(it->first.substr(prefix.size()), it->second);
  }
  return below;
}

}  // namespace cairn
