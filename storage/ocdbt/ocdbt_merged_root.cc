#include "cairn/storage/ocdbt/ocdbt_merged_root.h"

#include <algorithm>
#include <deque>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/btree_writer.h"
#include "cairn/storage/ocdbt/internal/data_file_writer.h"
#include "cairn/storage/ocdbt/internal/database_files.h"
#include "cairn/storage/ocdbt/internal/database_writer.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/storage/ocdbt/internal/manifest_writer.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"

namespace cairn {
namespace {

using ocdbt_internal::BtreeNode;
using ocdbt_internal::DataFileId;
using ocdbt_internal::DataReference;
using ocdbt_internal::KeyToWrite;

absl::Status CheckSubdir(const std::string& subdir) {
  bool plain = !subdir.empty() && subdir.front() != '/';
  for (absl::string_view part : absl::StrSplit(subdir, '/')) {
    plain = plain && !part.empty() && part != "." && part != "..";
  }
  if (!plain) {
    return absl::InvalidArgumentError(absl::StrCat(
        "process database \"", subdir, "\" is not a relative path below the root database"));
  }
  return absl::OkStatus();
}

// Reads the leaves of the process databases below one root, every key whole, with the data
// files of out-of-line values named as the root sees them.
class ProcessLeaves {
 public:
  ProcessLeaves(Filesystem* fs, const std::string& root) : files_(fs, root) {}

  // Appends the keys of the latest generation of the database in `subdir`.
  absl::Status Collect(const std::string& subdir, std::vector<KeyToWrite>* out);

 private:
  absl::Status Walk(const DataFileId& file, const DataReference& ref, uint8_t height,
                    const std::string& prefix, std::vector<KeyToWrite>* out);
  // One stable copy per distinct file, for KeyToWrite::file.
  const DataFileId* Intern(const DataFileId& file);

  ocdbt_internal::DatabaseFiles files_;
  uint64_t max_node_bytes_ = 0;
  std::deque<DataFileId> interned_;
  absl::flat_hash_map<std::string, const DataFileId*> by_path_;
};

const DataFileId* ProcessLeaves::Intern(const DataFileId& file) {
  const std::string key = absl::StrCat(file.base_path.size(), ":", file.path());
  auto it = by_path_.find(key);
  if (it != by_path_.end()) return it->second;
  interned_.push_back(file);
  by_path_.emplace(key, &interned_.back());
  return &interned_.back();
}

absl::Status ProcessLeaves::Collect(const std::string& subdir, std::vector<KeyToWrite>* out) {
  const std::string base = subdir + "/";
  const std::string manifest_path = base + ocdbt_internal::kManifestFileName;
  CAIRN_ASSIGN_OR_RETURN(std::string encoded,
                         files_.ReadWhole(manifest_path, ocdbt_internal::kMaxDecodedManifestBytes));
  absl::StatusOr<ocdbt_internal::Manifest> manifest = ocdbt_internal::DecodeManifest(encoded);
  if (!manifest.ok()) return Annotate(manifest.status(), files_.FullPath(manifest_path));
  if (manifest->config.manifest_kind != OcdbtConfig::ManifestKind::kSingle) {
    return absl::UnimplementedError(
        absl::StrCat(files_.FullPath(manifest_path),
                     " is a numbered manifest; process databases have one file"));
  }
  const ocdbt_internal::GenerationReference& latest = manifest->versions.back();
  if (latest.version.empty) return absl::OkStatus();
  // The manifest's table was read as if at the root: its paths are below the process directory.
  DataFileId root_file = manifest->files[latest.root.file];
  root_file.base_path = base + root_file.base_path;
  max_node_bytes_ = manifest->config.max_decoded_node_bytes;
  return Walk(root_file, latest.root, latest.version.root_height, "", out);
}

absl::Status ProcessLeaves::Walk(const DataFileId& file, const DataReference& ref, uint8_t height,
                                 const std::string& prefix, std::vector<KeyToWrite>* out) {
  const std::string path = file.path();
  CAIRN_ASSIGN_OR_RETURN(std::string encoded, files_.ReadRange(path, ref.offset, ref.length));
  absl::StatusOr<BtreeNode> node =
      ocdbt_internal::DecodeBtreeNode(encoded, file.base_path, max_node_bytes_);
  const std::string where =
      absl::StrCat("B+tree node at offset ", ref.offset, " of ", files_.FullPath(path));
  if (!node.ok()) return Annotate(node.status(), where);
  if (node->height != height) {
    return absl::DataLossError(
        absl::StrCat(where, ": height ", node->height, " where ", height, " was expected"));
  }
  for (const auto& child : node->children) {
    CAIRN_RETURN_IF_ERROR(Walk(node->files[child.location.file], child.location, height - 1,
                               prefix + child.key.substr(0, child.subtree_common_prefix_length),
                               out));
  }
  for (auto& leaf : node->leaves) {
    KeyToWrite key;
    key.key = prefix + leaf.key;
    key.inline_value = leaf.inline_value;
    if (leaf.inline_value) {
      key.value = std::move(leaf.value);
    } else {
      key.file = Intern(node->files[leaf.location.file]);
      key.offset = leaf.location.offset;
      key.length = leaf.location.length;
    }
    out->push_back(std::move(key));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteMergedOcdbtRoot(const std::string& root,
                                  const std::vector<std::string>& process_subdirs,
                                  const OcdbtWriterOptions& options) {
  for (const std::string& subdir : process_subdirs) CAIRN_RETURN_IF_ERROR(CheckSubdir(subdir));
  CAIRN_ASSIGN_OR_RETURN(ocdbt_internal::DatabaseDir target,
                         ocdbt_internal::PrepareDatabaseDir(root, options));
  ProcessLeaves leaves(target.fs, target.dir);
  std::vector<KeyToWrite> keys;
  std::vector<size_t> ends;  // where each process's keys end in `keys`
  for (const std::string& subdir : process_subdirs) {
    CAIRN_RETURN_IF_ERROR(leaves.Collect(subdir, &keys));
    ends.push_back(keys.size());
  }
  // Each process's keys are sorted already: merge the runs, keeping track of whose key is whose
  // for the message about a key written by two.
  std::vector<std::pair<size_t, size_t>> order;  // (index into keys, process)
  order.reserve(keys.size());
  for (size_t p = 0, i = 0; p < ends.size(); ++p) {
    for (; i < ends[p]; ++i) order.emplace_back(i, p);
  }
  std::stable_sort(order.begin(), order.end(), [&](const auto& a, const auto& b) {
    return keys[a.first].key < keys[b.first].key;
  });
  std::vector<KeyToWrite> merged;
  merged.reserve(keys.size());
  for (size_t i = 0; i < order.size(); ++i) {
    KeyToWrite& key = keys[order[i].first];
    if (!merged.empty() && key.key == merged.back().key) {
      return absl::InvalidArgumentError(
          absl::StrCat("key \"", key.key, "\" is in both ", process_subdirs[order[i - 1].second],
                       " and ", process_subdirs[order[i].second], " below ", target.dir));
    }
    merged.push_back(std::move(key));
  }
  keys.clear();
  ocdbt_internal::DataFileWriter data_files(target.fs, target.dir, options.target_data_file_bytes,
                                            options.sync);
  return ocdbt_internal::CommitDatabase(*target.fs, target.dir, options, std::move(merged),
                                        data_files);
}

}  // namespace cairn
