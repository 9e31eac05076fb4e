// JSON text as Python's json.dumps writes it by default (", " and ": " between items, non-ASCII
// escaped as \uXXXX, keys in insertion order), the form of the metadata files Orbax writes, so
// that files cairn writes for Orbax read the same to a person diffing them with Orbax's.
#ifndef CAIRN_STORAGE_ORBAX_INTERNAL_PYTHON_JSON_H_
#define CAIRN_STORAGE_ORBAX_INTERNAL_PYTHON_JSON_H_

#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace cairn::internal {

std::string PythonJsonDumps(const nlohmann::ordered_json& value);

// Python's repr() of a tuple of strings, ('a', 'b') or ('a',): the form of the keys of
// _METADATA's tree_metadata.
std::string PythonTupleRepr(const std::vector<std::string>& items);

}  // namespace cairn::internal

#endif  // CAIRN_STORAGE_ORBAX_INTERNAL_PYTHON_JSON_H_
