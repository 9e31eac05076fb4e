// The OCDBT manifest and version tree nodes, decoded, and the manifest encoded: the
// configuration and which B+tree root each generation has.
#ifndef CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_H_
#define CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/ocdbt/internal/data_file_table.h"
#include "cairn/storage/ocdbt/ocdbt_types.h"

namespace cairn::ocdbt_internal {

// The largest decoded manifest or version tree node read: 2^16 versions of ~50 bytes and a
// data file table of long paths fit many times over.
inline constexpr uint64_t kMaxDecodedManifestBytes = uint64_t{64} << 20;
inline constexpr uint8_t kMaxVersionTreeArityLog2 = 16;

struct GenerationReference {
  OcdbtVersion version;
  DataReference root;  // meaningless when version.empty
};

// A version tree node covering generations up to `generation`.
struct VersionNodeReference {
  uint64_t generation = 0;
  DataReference location;
  uint64_t num_generations = 0;
  uint64_t commit_time_nanos = 0;  // of the earliest generation below
  uint8_t height = 0;
};

struct Manifest {
  OcdbtConfig config;
  // Empty for a numbered-kind manifest.ocdbt, which holds the configuration alone.
  std::vector<DataFileId> files;
  std::vector<GenerationReference> versions;        // the newest generations, oldest first
  std::vector<VersionNodeReference> version_nodes;  // older ones, highest node first
};

struct VersionTreeNode {
  uint8_t version_tree_arity_log2 = 0;
  uint8_t height = 0;
  std::vector<DataFileId> files;
  std::vector<GenerationReference> versions;   // height 0
  std::vector<VersionNodeReference> children;  // height > 0; each child has height - 1
};

inline uint8_t MaxVersionTreeHeight(uint8_t arity_log2) { return 63 / arity_log2; }

// `encoded` is the whole manifest file.
absl::StatusOr<Manifest> DecodeManifest(absl::string_view encoded);

// `encoded` is the node's byte range; `transitive_path` the base path of the file it came from.
absl::StatusOr<VersionTreeNode> DecodeVersionTreeNode(absl::string_view encoded,
                                                      absl::string_view transitive_path);

// The unframed body of `manifest`, the inverse of DecodeManifest: the configuration alone for a
// numbered kind, otherwise also the data file table, versions and version node references.
std::string EncodeManifestBody(const Manifest& manifest);

}  // namespace cairn::ocdbt_internal

#endif  // CAIRN_STORAGE_OCDBT_INTERNAL_MANIFEST_H_
