#include "fuzz/archive.h"

#include <algorithm>

#include "absl/strings/str_split.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn::fuzz {
namespace {

constexpr size_t kMaxPathDepth = 8;

void PutLittleEndian(uint64_t value, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((value >> (8 * i)) & 0xff));
}

// Reads a `bytes`-byte little-endian number from the front of `in`; false if it is too short.
bool TakeLittleEndian(absl::string_view* in, int bytes, uint64_t* value) {
  if (in->size() < static_cast<size_t>(bytes)) return false;
  *value = 0;
  for (int i = 0; i < bytes; ++i) {
    *value |= uint64_t{static_cast<unsigned char>((*in)[i])} << (8 * i);
  }
  in->remove_prefix(bytes);
  return true;
}

bool IsCleanRelativePath(absl::string_view path) {
  const std::vector<absl::string_view> parts = absl::StrSplit(path, '/');
  if (parts.size() > kMaxPathDepth) return false;
  for (absl::string_view part : parts) {
    if (part.empty() || part == "." || part == ".." || part.find('\0') != absl::string_view::npos) {
      return false;
    }
  }
  return true;
}

absl::Status PackInto(Filesystem& fs, const std::string& dir, const std::string& prefix,
                      std::vector<ArchiveEntry>* out) {
  CAIRN_ASSIGN_OR_RETURN(std::vector<DirEntry> entries, fs.ListDirEntries(dir));
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  for (const DirEntry& entry : entries) {
    const std::string path = JoinPath(dir, entry.name);
    const std::string relative = prefix.empty() ? entry.name : prefix + "/" + entry.name;
    if (entry.type == FileInfo::Type::kDirectory) {
      CAIRN_RETURN_IF_ERROR(PackInto(fs, path, relative, out));
    } else if (entry.type == FileInfo::Type::kFile) {
      CAIRN_ASSIGN_OR_RETURN(std::string data, ReadFileToString(fs, path, kMaxArchiveBytes));
      out->push_back(ArchiveEntry{relative, std::move(data)});
    }
  }
  return absl::OkStatus();
}

}  // namespace

std::string EncodeArchive(const Archive& archive) {
  std::string out(1, static_cast<char>(archive.options));
  for (const ArchiveEntry& entry : archive.entries) {
    PutLittleEndian(entry.path.size(), 2, &out);
    out += entry.path;
    PutLittleEndian(entry.data.size(), 4, &out);
    out += entry.data;
  }
  return out;
}

Archive DecodeArchive(absl::string_view bytes) {
  Archive archive;
  if (bytes.empty()) return archive;
  archive.options = static_cast<uint8_t>(bytes[0]);
  bytes.remove_prefix(1);
  size_t total = 0;
  while (archive.entries.size() < kMaxArchiveEntries) {
    uint64_t path_size, data_size;
    if (!TakeLittleEndian(&bytes, 2, &path_size) || bytes.size() < path_size) break;
    const absl::string_view path = bytes.substr(0, path_size);
    bytes.remove_prefix(path_size);
    if (!TakeLittleEndian(&bytes, 4, &data_size) || bytes.size() < data_size) break;
    if (data_size > kMaxArchiveBytes - total) break;
    total += data_size;
    archive.entries.push_back(
        ArchiveEntry{std::string(path), std::string(bytes.substr(0, data_size))});
    bytes.remove_prefix(data_size);
  }
  return archive;
}

void UnpackArchive(Filesystem& fs, const std::string& root,
                   const std::vector<ArchiveEntry>& entries) {
  for (const ArchiveEntry& entry : entries) {
    if (!IsCleanRelativePath(entry.path)) continue;
    const std::string path = JoinPath(root, entry.path);
    if (!CreateDirs(fs, ParentPath(path)).ok()) continue;
    WriteStringToFile(fs, path, entry.data, /*sync=*/false).IgnoreError();
  }
}

absl::StatusOr<std::vector<ArchiveEntry>> PackDirectory(Filesystem& fs, const std::string& root) {
  std::vector<ArchiveEntry> entries;
  CAIRN_RETURN_IF_ERROR(PackInto(fs, root, "", &entries));
  return entries;
}

}  // namespace cairn::fuzz
