// A test-only writer of Orbax pytree directories in the layout Orbax uses with use_ocdbt false:
// _METADATA, one zarr v2 directory per array (chunks uncompressed, C order, "." separated keys,
// edge chunks stored whole) and _strings.json. Written from Orbax's and zarr's documented formats,
// apart from the reader, to build trees the golden checkpoints do not hold: nested lists,
// scalars, strings, empty containers, many chunks.
#ifndef CAIRN_TESTS_SUPPORT_ORBAX_PYTREE_WRITER_H_
#define CAIRN_TESTS_SUPPORT_ORBAX_PYTREE_WRITER_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "cairn/storage/array.h"
#include "cairn/utils/filesystem.h"
#include "nlohmann/json.hpp"

namespace cairn::orbax_test {

// One level of a key path: a dict key, or a sequence index when `sequence`.
struct Key {
  std::string name;
  bool sequence = false;
};
inline Key K(std::string name) { return Key{std::move(name), false}; }
inline Key I(int index) { return Key{std::to_string(index), true}; }

class OrbaxPyTreeWriter {
 public:
  // An array leaf stored in chunks of `chunks` (the whole array when empty). `value_type` is
  // "jax.Array", "np.ndarray" or "scalar" (a 0-d array).
  void AddArray(std::vector<Key> keys, const Array& array, std::vector<int64_t> chunks = {},
                std::string value_type = "jax.Array");
  void AddString(std::vector<Key> keys, std::string value);
  // A leaf of `value_type` without data: "None", "Dict", "List", "Tuple", or a custom type.
  void AddEmpty(std::vector<Key> keys, std::string value_type);
  // The leaf is recorded with skip_deserialize set.
  void SkipLast();
  // Chunks equal to the fill value (all zero) are not written.
  void OmitZeroChunks() { omit_zero_chunks_ = true; }
  void set_store_array_data_equal_to_fill_value(bool value) { fill_flag_ = value; }
  void set_custom_metadata(nlohmann::json value) { custom_ = std::move(value); }

  // Writes the pytree into `dir` (created).
  absl::Status Write(Filesystem& fs, const std::string& dir) const;

 private:
  struct Leaf {
    std::vector<Key> keys;
    std::string value_type;
    bool skip = false;
    std::optional<Array> array;
    std::vector<int64_t> chunks;
    std::optional<std::string> text;
  };
  static std::string ParamName(const std::vector<Key>& keys);
  absl::Status WriteArray(Filesystem& fs, const std::string& dir, const Leaf& leaf) const;

  std::vector<Leaf> leaves_;
  bool omit_zero_chunks_ = false;
  bool fill_flag_ = true;
  nlohmann::json custom_;
};

}  // namespace cairn::orbax_test

#endif  // CAIRN_TESTS_SUPPORT_ORBAX_PYTREE_WRITER_H_
