#include "cairn/storage/zarr/key_value_source.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cairn/storage/zarr/internal/key_check.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

// A listing gives up past this many keys rather than grow without bound.
constexpr size_t kMaxListedKeys = size_t{1} << 24;

class DirectorySource final : public KeyValueSource {
 public:
  DirectorySource(Filesystem& fs, std::string dir, uint64_t max_value_bytes)
      : fs_(fs), dir_(std::move(dir)), max_value_bytes_(max_value_bytes) {}

  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    return ReadRange(key, 0, kToEnd, false);
  }

  absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset, uint64_t length,
                                        bool from_end) const override {
    CAIRN_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Describe(key);
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs_.NewReadableFile(path));
    CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    CAIRN_ASSIGN_OR_RETURN(auto range, ResolveValueRange(size, offset, length, from_end, path));
    const uint64_t wanted = range.second - range.first;
    if (wanted > max_value_bytes_) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": ", wanted, " bytes to read, more than the limit of ", max_value_bytes_));
    }
    std::string out(wanted, '\0');
    CAIRN_RETURN_IF_ERROR(ReadExactly(*file, range.first, wanted, out.data()));
    return out;
  }

  absl::Status ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                             char* out) const override {
    CAIRN_RETURN_IF_ERROR(CheckKey(key));
    const std::string path = Describe(key);
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs_.NewReadableFile(path));
    CAIRN_ASSIGN_OR_RETURN(uint64_t size, file->Size());
    CAIRN_ASSIGN_OR_RETURN(auto range, ResolveValueRange(size, offset, length, false, path));
    if (length > max_value_bytes_) {
      return absl::FailedPreconditionError(absl::StrCat(
          path, ": ", length, " bytes to read, more than the limit of ", max_value_bytes_));
    }
    return ReadExactly(*file, range.first, length, out);
  }

  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const override {
    CAIRN_RETURN_IF_ERROR(CheckKey(key));
    CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<ReadableFile> file, fs_.NewReadableFile(Describe(key)));
    return file->Size();
  }

  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    // The directory the prefix's last '/' names, and the start of the names in it.
    const size_t slash = prefix.rfind('/');
    const absl::string_view sub = slash == prefix.npos ? "" : prefix.substr(0, slash);
    const absl::string_view start = slash == prefix.npos ? prefix : prefix.substr(slash + 1);
    if (!sub.empty()) CAIRN_RETURN_IF_ERROR(CheckKey(sub));
    std::vector<std::string> keys;
    const std::string base = sub.empty() ? "" : absl::StrCat(sub, "/");
    absl::Status status = Walk(base, start, &keys);
    if (absl::IsNotFound(status)) return std::vector<std::string>{};
    CAIRN_RETURN_IF_ERROR(status);
    std::sort(keys.begin(), keys.end());
    return keys;
  }

  std::string Describe(absl::string_view key) const override { return JoinPath(dir_, key); }

 private:
  static absl::Status ReadExactly(const ReadableFile& file, uint64_t offset, uint64_t length,
                                  char* out) {
    CAIRN_ASSIGN_OR_RETURN(size_t got, file.ReadAt(offset, length, out));
    if (got != length) {
      return absl::DataLossError(absl::StrCat(file.path(), ": read ", got, " of ", length,
                                              " bytes at offset ", offset,
                                              " (the file shrank while it was read)"));
    }
    return absl::OkStatus();
  }

  static absl::Status CheckKey(absl::string_view key) {
    return zarr_internal::CheckKeyComponents(key);
  }

  // Adds the files below `base` (a key prefix ending in '/', or "") whose names start with
  // `start`; symlinks and other non-files are not keys.
  absl::Status Walk(const std::string& base, absl::string_view start,
                    std::vector<std::string>* keys) const {
    CAIRN_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, fs_.ListDirEntries(JoinPath(dir_, base)));
    for (const DirEntry& entry : entries) {
      if (!absl::StartsWith(entry.name, start)) continue;
      const std::string key = base + entry.name;
      if (entry.type == FileInfo::Type::kFile) {
        if (keys->size() >= kMaxListedKeys) {
          return absl::ResourceExhaustedError(
              absl::StrCat(Describe(base), ": more than ", kMaxListedKeys, " keys"));
        }
        keys->push_back(key);
      } else if (entry.type == FileInfo::Type::kDirectory) {
        CAIRN_RETURN_IF_ERROR(Walk(key + "/", "", keys));
      }
    }
    return absl::OkStatus();
  }

  Filesystem& fs_;
  std::string dir_;
  uint64_t max_value_bytes_;
};

class OcdbtSource final : public KeyValueSource {
 public:
  explicit OcdbtSource(std::shared_ptr<const OcdbtReader> reader) : reader_(std::move(reader)) {}

  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    return reader_->Read(key);
  }

  absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset, uint64_t length,
                                        bool from_end) const override {
    CAIRN_ASSIGN_OR_RETURN(uint64_t size, reader_->ValueSize(key));
    CAIRN_ASSIGN_OR_RETURN(auto range,
                           ResolveValueRange(size, offset, length, from_end, Describe(key)));
    return reader_->ReadRange(key, range.first, range.second - range.first);
  }

  absl::Status ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                             char* out) const override {
    return reader_->ReadRangeInto(key, offset, length, out);
  }

  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const override {
    return reader_->ValueSize(key);
  }

  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    return reader_->ListKeys(prefix);
  }

  std::string Describe(absl::string_view key) const override {
    return absl::StrCat("key \"", key, "\" of the OCDBT database ", reader_->dir());
  }

 private:
  std::shared_ptr<const OcdbtReader> reader_;
};

class InMemorySource final : public KeyValueSource {
 public:
  InMemorySource(std::map<std::string, std::string> values, std::string name)
      : values_(std::move(values)), name_(std::move(name)) {}

  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    CAIRN_ASSIGN_OR_RETURN(const std::string* value, Find(key));
    return *value;
  }

  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const override {
    CAIRN_ASSIGN_OR_RETURN(const std::string* value, Find(key));
    return value->size();
  }

  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    std::vector<std::string> keys;
    for (auto it = values_.lower_bound(std::string(prefix));
         it != values_.end() && absl::StartsWith(it->first, prefix); ++it) {
      keys.push_back(it->first);
    }
    return keys;
  }

  std::string Describe(absl::string_view key) const override {
    return absl::StrCat("key \"", key, "\" in ", name_);
  }

 private:
  absl::StatusOr<const std::string*> Find(absl::string_view key) const {
    auto it = values_.find(std::string(key));
    if (it == values_.end()) return absl::NotFoundError(absl::StrCat(Describe(key), " is absent"));
    return &it->second;
  }

  std::map<std::string, std::string> values_;
  std::string name_;
};

}  // namespace

absl::StatusOr<std::pair<uint64_t, uint64_t>> ResolveValueRange(uint64_t size, uint64_t offset,
                                                                uint64_t length, bool from_end,
                                                                absl::string_view where) {
  auto out_of_range = [&] {
    return absl::OutOfRangeError(absl::StrCat(
        where, ": ", length == KeyValueSource::kToEnd ? "the rest" : absl::StrCat(length, " bytes"),
        " at ", offset, from_end ? " bytes from the end" : "", " reach past the end of its ", size,
        " bytes"));
  };
  if (offset > size) return out_of_range();
  const uint64_t begin = from_end ? size - offset : offset;
  if (length == KeyValueSource::kToEnd) return std::make_pair(begin, size);
  if (length > size - begin) return out_of_range();
  return std::make_pair(begin, begin + length);
}

absl::StatusOr<uint64_t> KeyValueSource::ValueSize(absl::string_view key) const {
  CAIRN_ASSIGN_OR_RETURN(std::string value, Read(key));
  return value.size();
}

absl::StatusOr<std::string> KeyValueSource::ReadRange(absl::string_view key, uint64_t offset,
                                                      uint64_t length, bool from_end) const {
  CAIRN_ASSIGN_OR_RETURN(std::string value, Read(key));
  CAIRN_ASSIGN_OR_RETURN(auto range,
                         ResolveValueRange(value.size(), offset, length, from_end, Describe(key)));
  if (range.first == 0 && range.second == value.size()) return value;
  return value.substr(range.first, range.second - range.first);
}

absl::Status KeyValueSource::ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                                           char* out) const {
  CAIRN_ASSIGN_OR_RETURN(std::string bytes, ReadRange(key, offset, length, false));
  if (bytes.size() != length) {
    return absl::OutOfRangeError(absl::StrCat(Describe(key), ": ", length, " bytes at ", offset,
                                              " reach past the end of its value"));
  }
  if (length > 0) std::memcpy(out, bytes.data(), length);
  return absl::OkStatus();
}

std::unique_ptr<KeyValueSource> DirectoryKeyValueSource(Filesystem& fs, std::string dir,
                                                        uint64_t max_value_bytes) {
  return std::make_unique<DirectorySource>(fs, std::move(dir), max_value_bytes);
}

std::unique_ptr<KeyValueSource> OcdbtKeyValueSource(std::shared_ptr<const OcdbtReader> reader) {
  return std::make_unique<OcdbtSource>(std::move(reader));
}

std::unique_ptr<KeyValueSource> InMemoryKeyValueSource(std::map<std::string, std::string> values,
                                                       std::string name) {
  return std::make_unique<InMemorySource>(std::move(values), std::move(name));
}

}  // namespace cairn
