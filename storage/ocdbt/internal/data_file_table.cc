#include "cairn/storage/ocdbt/internal/data_file_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "cairn/storage/ocdbt/internal/byte_writer.h"
#include "cairn/utils/status_macros.h"

namespace cairn::ocdbt_internal {

absl::Status ReadDataFileTable(ByteReader& reader, absl::string_view transitive_path,
                               std::vector<DataFileId>* files) {
  files->clear();
  if (transitive_path.size() > kMaxDataFilePathLength) {
    return reader.Error("inherited data file path too long");
  }
  const size_t max_path_length = kMaxDataFilePathLength - transitive_path.size();
  uint64_t num_files;
  CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&num_files, "data file count"));
  // Each file takes at least two bytes (its suffix and base path lengths).
  if (num_files > reader.remaining() / 2) {
    return reader.Error(absl::StrCat("data file count ", num_files, " exceeds what ",
                                     reader.remaining(), " bytes can hold"));
  }
  std::vector<uint64_t> prefix_lengths(num_files, 0);
  std::vector<uint64_t> suffix_lengths(num_files);
  std::vector<uint64_t> base_lengths(num_files);
  for (size_t i = 1; i < num_files; ++i) {
    CAIRN_RETURN_IF_ERROR(
        reader.ReadVarint(&prefix_lengths[i], "data file path prefix length", 65535));
  }
  for (auto& length : suffix_lengths) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&length, "data file path suffix length", 65535));
  }
  for (auto& length : base_lengths) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&length, "data file base path length", 65535));
  }
  files->resize(num_files);
  std::string previous;  // path[i - 1] = base_path + relative_path, without the inherited part
  uint64_t previous_base_length = 0;
  for (size_t i = 0; i < num_files; ++i) {
    const uint64_t prefix = prefix_lengths[i];
    const uint64_t path_length = prefix + suffix_lengths[i];
    if (prefix > previous.size()) {
      return reader.Error(absl::StrCat("data file ", i, ": prefix length ", prefix,
                                       " exceeds the previous path's length ", previous.size()));
    }
    if (path_length > max_path_length) {
      return reader.Error(absl::StrCat("data file ", i, ": path length ", path_length,
                                       " exceeds the limit of ", max_path_length));
    }
    if (base_lengths[i] > path_length) {
      return reader.Error(absl::StrCat("data file ", i, ": base path length ", base_lengths[i],
                                       " exceeds its path length ", path_length));
    }
    // A shared prefix may reach past a base path only when both base paths are the same.
    if (i > 0 && prefix > std::min(previous_base_length, base_lengths[i]) &&
        base_lengths[i] != previous_base_length) {
      return reader.Error(absl::StrCat("data file ", i, ": prefix length ", prefix,
                                       " crosses differing base paths"));
    }
    absl::string_view suffix;
    CAIRN_RETURN_IF_ERROR(reader.ReadBytes(suffix_lengths[i], &suffix, "data file path"));
    std::string path = previous.substr(0, prefix);
    path.append(suffix.data(), suffix.size());
    DataFileId& file = (*files)[i];
    file.base_path = absl::StrCat(transitive_path, path.substr(0, base_lengths[i]));
    file.relative_path = path.substr(base_lengths[i]);
    previous = std::move(path);
    previous_base_length = base_lengths[i];
  }
  return absl::OkStatus();
}

absl::Status ReadDataReferences(ByteReader& reader, size_t num_files, size_t count,
                                bool allow_missing, std::vector<DataReference>* refs) {
  // Three varints of at least one byte each.
  if (count > reader.remaining() / 3) {
    return reader.Error(absl::StrCat("reference count ", count, " exceeds what ",
                                     reader.remaining(), " bytes can hold"));
  }
  refs->assign(count, DataReference{});
  for (DataReference& ref : *refs) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&ref.file, "data file id"));
    if (ref.file >= num_files) {
      return reader.Error(
          absl::StrCat("data file id ", ref.file, " outside the table of ", num_files, " files"));
    }
  }
  for (DataReference& ref : *refs) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&ref.offset, "data file offset"));
  }
  for (DataReference& ref : *refs) {
    CAIRN_RETURN_IF_ERROR(reader.ReadVarint(&ref.length, "data file length"));
  }
  for (const DataReference& ref : *refs) {
    if (allow_missing && IsMissing(ref)) continue;
    if (ref.offset + ref.length < ref.offset) {
      return reader.Error(
          absl::StrCat("offset ", ref.offset, " + length ", ref.length, " overflows 64 bits"));
    }
  }
  return absl::OkStatus();
}

void AppendDataFileTable(const std::vector<DataFileId>& files, std::string* out) {
  std::vector<std::string> paths;
  paths.reserve(files.size());
  for (const DataFileId& file : files) paths.push_back(file.path());
  // What path i shares with path i - 1, within the limit the reader checks: past a base path only
  // when both base paths are the same.
  std::vector<size_t> shared(files.size(), 0);
  for (size_t i = 1; i < files.size(); ++i) {
    const std::string& a = paths[i - 1];
    const std::string& b = paths[i];
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    if (files[i].base_path.size() != files[i - 1].base_path.size()) {
      n = std::min({n, files[i].base_path.size(), files[i - 1].base_path.size()});
    }
    shared[i] = n;
  }
  AppendVarint(out, files.size());
  for (size_t i = 1; i < files.size(); ++i) AppendVarint(out, shared[i]);
  for (size_t i = 0; i < files.size(); ++i) AppendVarint(out, paths[i].size() - shared[i]);
  for (const DataFileId& file : files) AppendVarint(out, file.base_path.size());
  for (size_t i = 0; i < files.size(); ++i) out->append(paths[i], shared[i]);
}

void AppendDataReferences(const std::vector<DataReference>& refs, std::string* out) {
  for (const DataReference& ref : refs) AppendVarint(out, ref.file);
  for (const DataReference& ref : refs) AppendVarint(out, ref.offset);
  for (const DataReference& ref : refs) AppendVarint(out, ref.length);
}

}  // namespace cairn::ocdbt_internal
