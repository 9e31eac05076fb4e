// A test-only OCDBT writer, written from the format description and kept apart from the reader
// (it shares no code with storage/ocdbt/), to build databases the golden files do not cover:
// B+trees of any height, out-of-line values, version trees, numbered manifests and subtrees
// under other processes' directories.
#ifndef CAIRN_TESTS_SUPPORT_OCDBT_ENCODER_H_
#define CAIRN_TESTS_SUPPORT_OCDBT_ENCODER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "cairn/storage/ocdbt/ocdbt_types.h"
#include "cairn/utils/filesystem.h"

namespace cairn::ocdbt_test {

std::string Varint(uint64_t value);
// Magic, length, version 0, compression, `body` (zstd-compressed when the config says so) and
// the CRC-32C.
std::string FrameObject(uint32_t magic, const std::string& body, const OcdbtConfig& config);
std::string EncodeConfig(const OcdbtConfig& config);

// A data file as a referring object names it: base path + relative path, both relative to the
// referring object's own inherited path.
struct FileRef {
  std::string base_path;
  std::string relative_path;
  bool operator<(const FileRef& o) const {
    return base_path != o.base_path ? base_path < o.base_path : relative_path < o.relative_path;
  }
  bool operator==(const FileRef& o) const {
    return base_path == o.base_path && relative_path == o.relative_path;
  }
};

struct ByteRange {
  FileRef file;
  uint64_t offset = 0;
  uint64_t length = 0;
};

struct Stats {
  uint64_t num_keys = 0;
  uint64_t num_tree_bytes = 0;
  uint64_t num_indirect_value_bytes = 0;
};

struct VersionEntry {
  uint64_t generation = 0;
  uint8_t root_height = 0;
  bool empty = false;
  ByteRange root;
  Stats stats;
  uint64_t commit_time_nanos = 0;
};

struct VersionNodeEntry {
  uint64_t generation = 0;
  ByteRange location;
  uint64_t num_generations = 0;
  uint64_t commit_time_nanos = 0;
  uint8_t height = 0;  // stored only in the manifest
};

// Bodies, unframed.
std::string EncodeManifestBody(const OcdbtConfig& config, const std::vector<VersionEntry>& versions,
                               const std::vector<VersionNodeEntry>& version_nodes);
std::string EncodeVersionLeafBody(uint8_t arity_log2, const std::vector<VersionEntry>& versions);
std::string EncodeVersionInteriorBody(uint8_t arity_log2, uint8_t height,
                                      const std::vector<VersionNodeEntry>& children);

struct LeafEntry {
  std::string key;    // relative to the node's prefix
  std::string value;  // inline
  bool out_of_line = false;
  ByteRange location;  // when out_of_line; location.length is the value's length
};
struct ChildEntry {
  std::string key;
  size_t subtree_common_prefix_length = 0;
  ByteRange location;
  Stats stats;
};
std::string EncodeLeafBody(const std::vector<LeafEntry>& entries);
std::string EncodeInteriorBody(uint8_t height, const std::vector<ChildEntry>& entries);

// A B+tree (or part of one) that has been written.
struct Subtree {
  std::string first_key;  // full key
  std::string prefix;     // every key below starts with it
  ByteRange location;     // relative to the directory the subtree was built in
  uint8_t height = 0;
  Stats stats;
};

// Builds databases in memory and writes them out through a Filesystem.
class DatabaseBuilder {
 public:
  DatabaseBuilder(std::string dir, OcdbtConfig config) : dir_(std::move(dir)), config_(config) {}
  const OcdbtConfig& config() const { return config_; }

  // A B+tree of `kvs` with at most `fanout` entries per node. Nodes and out-of-line values
  // (longer than max_inline_value_bytes) are appended to `<sub_dir>d/nodes` and
  // `<sub_dir>d/values`; the top node has no prefix, as a root must not.
  Subtree BuildTree(const std::map<std::string, std::string>& kvs, size_t fanout,
                    const std::string& sub_dir = "");
  // One interior node over `children` (each built in the sub_dir paired with it, which becomes
  // its base path), written to `<sub_dir>d/nodes`. A `root` has no prefix: its keys are whole.
  Subtree BuildInterior(const std::vector<std::pair<Subtree, std::string>>& children,
                        const std::string& sub_dir = "", bool root = false);

  static VersionEntry Version(uint64_t generation, const Subtree& tree, uint64_t commit_nanos);
  static VersionEntry EmptyVersion(uint64_t generation, uint64_t commit_nanos);

  // The manifest of `versions` (generations 1..N, oldest first): the newest leaf's worth inline,
  // older ones in version tree nodes written to d/versions. Numbered: manifest.ocdbt holds the
  // configuration and manifest.<generation as 16 hex digits> the rest.
  void WriteManifest(const std::vector<VersionEntry>& versions, bool numbered = false);

  // Appends `bytes` to `relative` (below the database directory) and returns where they went.
  ByteRange Append(const std::string& relative, const std::string& bytes);
  void Put(const std::string& relative, const std::string& bytes) { files_[relative] = bytes; }
  const std::map<std::string, std::string>& files() const { return files_; }

  // Creates the directory and every file built so far.
  absl::Status Flush(Filesystem& fs) const;

 private:
  Subtree WriteLeaf(const std::vector<std::pair<std::string, std::string>>& kvs,
                    const std::string& sub_dir, bool root);
  VersionNodeEntry WriteVersionNode(const std::vector<VersionEntry>& versions, uint8_t height,
                                    uint64_t first, uint64_t last);
  std::string NodeFileName(const std::string& sub_dir) const;

  std::string dir_;
  OcdbtConfig config_;
  std::map<std::string, std::string> files_;
};

}  // namespace cairn::ocdbt_test

#endif  // CAIRN_TESTS_SUPPORT_OCDBT_ENCODER_H_
