// The metadata files an Orbax-format pytree save writes beside its arrays, as Orbax writes them:
// _METADATA (the tree), array_metadatas/process_<n> (what one process wrote), _sharding (where
// jax.Array leaves are restored) and _strings.json (string leaves).
#ifndef CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_METADATA_H_
#define CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_METADATA_H_

#include <map>
#include <string>
#include <vector>

#include "cairn/storage/orbax/internal/orbax_save_leaves.h"
#include "cairn/storage/shape.h"
#include "nlohmann/json.hpp"

namespace cairn::internal {

// `write_shapes` by parameter name: the shape each process wrote of an array leaf.
std::string OrbaxPyTreeMetadataText(const std::vector<OrbaxSaveLeaf>& leaves,
                                    const std::map<std::string, Shape>& write_shapes,
                                    bool use_ocdbt, const nlohmann::json& custom_metadata);

struct OrbaxArrayRecord {
  std::string param_name;
  Shape write_shape;
  Shape chunk_shape;  // the inner chunk
};
std::string OrbaxArrayMetadatasText(const std::vector<OrbaxArrayRecord>& arrays);

// Every parameter recorded as placed on one CPU device.
std::string OrbaxSingleDeviceShardingText(const std::vector<std::string>& param_names);

// {param name: value}.
std::string OrbaxStringsText(const std::map<std::string, std::string>& strings);

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_ORBAX_INTERNAL_ORBAX_SAVE_METADATA_H_
