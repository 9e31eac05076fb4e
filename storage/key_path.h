// KeyPath names one node of a tree, as `params.layer1.kernel` or `opt_state[0]`; every error
// about a node carries its path.
#ifndef CAIRN_STORAGE_KEY_PATH_H_
#define CAIRN_STORAGE_KEY_PATH_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"

namespace cairn {

class KeyPath {
 public:
  // One step down the tree: a dict key or a list/tuple index.
  struct Entry {
    bool is_index = false;
    std::string key;
    size_t index = 0;
  };

  KeyPath() = default;

  KeyPath Child(absl::string_view key) const;
  KeyPath Child(size_t index) const;

  // In-place descent and ascent, for walks over large trees that render the path only when
  // something goes wrong.
  void Push(absl::string_view key) { entries_.push_back(Entry{false, std::string(key), 0}); }
  void Push(size_t index) { entries_.push_back(Entry{true, std::string(), index}); }
  void Pop() { entries_.pop_back(); }

  bool is_root() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }

  // `params.layer1.kernel`, `opt_state[0]`, `["odd key"].x`; the root is `<root>`.
  std::string ToString() const;

  friend bool operator==(const KeyPath& a, const KeyPath& b);

 private:
  std::vector<Entry> entries_;
};

}  // namespace cairn

#endif  // CAIRN_STORAGE_KEY_PATH_H_
