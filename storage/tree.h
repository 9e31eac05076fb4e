// Tree: the state cairn saves and loads, a nest of dicts (ordered, string keys), lists, tuples
// and None whose leaves are arrays or scalars (int64, double, bool, string, bytes).
//
// The same type describes what to load (an "abstract" tree): its leaves may also be an
// ArraySpec (dtype, shape, region, destination buffer), a type alone, "as saved", or a
// placeholder that skips a leaf or a whole subtree. A concrete tree is a valid abstract tree too.
#ifndef CAIRN_STORAGE_TREE_H_
#define CAIRN_STORAGE_TREE_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "cairn/storage/array.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/key_path.h"
#include "cairn/storage/shape.h"

namespace cairn {

// The kinds of leaf a type-only abstract leaf can ask for.
enum class LeafType { kArray, kInt, kDouble, kBool, kString, kBytes };
absl::string_view LeafTypeName(LeafType type);

// How one array was stored; filled in by ReadMetadata, ignored by Load.
struct ArrayStorageInfo {
  DType stored_dtype = DType::kFloat32;
  Shape chunk_shape;  // the shape of a full chunk
  bool compressed = false;
  bool byte_shuffled = false;  // bytes shuffled into planes before compression
  int compression_level = 0;
  uint64_t stored_bytes = 0;  // bytes on disk over all chunks
  int num_shards = 0;
};

// An abstract array leaf. Unset fields are taken from the checkpoint.
struct ArraySpec {
  // Load as this dtype, casting from the stored one.
  std::optional<DType> dtype;
  // The shape to return. Without `origin` it is the requested global shape (a mismatch is an
  // error unless padding and truncation are enabled); with `origin` it is the extent of the
  // region global[origin : origin + shape] to read.
  std::optional<Shape> shape;
  std::optional<Shape> origin;
  // A writable array to load into (load into existing tensors without a second allocation); its
  // dtype and shape are the request's when `dtype` / `shape` are unset, and must agree otherwise.
  std::optional<Array> destination;
  // Set by ReadMetadata: how the array is stored.
  std::optional<ArrayStorageInfo> storage;
};

class Tree {
 public:
  enum class Kind {
    kNone,
    kDict,
    kList,
    kTuple,  // structure
    kArray,
    kInt,
    kDouble,
    kBool,
    kString,
    kBytes,  // concrete leaves
    kArraySpec,
    kTypeOnly,
    kAsSaved,
    kPlaceholder,  // abstract leaves
  };

  // A container's children in order, as a range of trees. Each child lives in its own
  // allocation, so a reference to one (what Set and Append return) stays valid while siblings
  // are added; replacing a key's value keeps its node too.
  template <typename T>
  class ChildRange {
   public:
    using Nodes = std::conditional_t<std::is_const_v<T>, const std::vector<std::unique_ptr<Tree>>,
                                     std::vector<std::unique_ptr<Tree>>>;
    class iterator {
     public:
      using iterator_category = std::random_access_iterator_tag;
      using value_type = Tree;
      using difference_type = std::ptrdiff_t;
      using pointer = T*;
      using reference = T&;
      using Base = decltype(std::declval<Nodes&>().begin());
      explicit iterator(Base it) : it_(it) {}
      T& operator*() const { return **it_; }
      T* operator->() const { return it_->get(); }
      iterator& operator++() {
        ++it_;
        return *this;
      }
      bool operator==(const iterator& other) const { return it_ == other.it_; }
      bool operator!=(const iterator& other) const { return it_ != other.it_; }

     private:
      Base it_;
    };
    explicit ChildRange(Nodes& nodes) : nodes_(&nodes) {}
    iterator begin() const { return iterator(nodes_->begin()); }
    iterator end() const { return iterator(nodes_->end()); }
    size_t size() const { return nodes_->size(); }
    bool empty() const { return nodes_->empty(); }
    T& operator[](size_t i) const { return *(*nodes_)[i]; }

   private:
    Nodes* nodes_;
  };

  // None.
  Tree();
  // Deep copies; moves take the children's nodes along.
  Tree(const Tree& other);
  Tree& operator=(const Tree& other);
  Tree(Tree&&) = default;
  Tree& operator=(Tree&&) = default;
  ~Tree() = default;

  static Tree None() { return Tree(); }
  static Tree Dict();
  // A dict from parallel keys and values in one step: O(n), where n calls to Set cost O(n^2).
  // InvalidArgument when the lengths differ or a key repeats.
  static absl::StatusOr<Tree> DictFrom(std::vector<std::string> keys, std::vector<Tree> values);
  static Tree List();
  static Tree Tuple();
  static Tree FromArray(Array array);
  static Tree Int(int64_t value);
  static Tree Double(double value);
  static Tree Bool(bool value);
  static Tree String(std::string value);
  static Tree Bytes(std::string value);
  static Tree Spec(ArraySpec spec);
  static Tree TypeOnly(LeafType type);
  static Tree AsSaved();
  static Tree Placeholder();

  Kind kind() const { return kind_; }
  bool is_container() const;  // dict, list or tuple
  bool is_abstract_leaf() const;

  // Dict access. Set appends a new key or replaces an existing one in place (a linear search);
  // returns the child, which stays where it is while the dict grows.
  Tree& Set(absl::string_view key, Tree value);
  const Tree* Find(absl::string_view key) const;
  Tree* FindMutable(absl::string_view key);
  const std::vector<std::string>& keys() const { return keys_; }

  // List and tuple access (and dict values, in key order).
  Tree& Append(Tree value);
  ChildRange<const Tree> children() const { return ChildRange<const Tree>(children_); }
  ChildRange<Tree> mutable_children() { return ChildRange<Tree>(children_); }
  size_t size() const { return children_.size(); }
  const Tree& operator[](size_t i) const { return *children_[i]; }

  // Leaf access; each requires the matching kind.
  const Array& array() const { return std::get<Array>(value_); }
  Array& mutable_array() { return std::get<Array>(value_); }
  int64_t int_value() const { return std::get<int64_t>(value_); }
  double double_value() const { return std::get<double>(value_); }
  bool bool_value() const { return std::get<bool>(value_); }
  const std::string& string_value() const {
    return std::get<std::string>(value_);
  }  // string, bytes
  const ArraySpec& spec() const { return *std::get<std::shared_ptr<const ArraySpec>>(value_); }
  LeafType type_only() const { return std::get<LeafType>(value_); }

  // Calls `fn` on every leaf (anything that is not a container) in order, with its path.
  void ForEachLeaf(const std::function<void(const KeyPath&, const Tree&)>& fn) const;

  // A short human-readable rendering, for tests and debugging.
  std::string DebugString() const;

 private:
  explicit Tree(Kind kind) : kind_(kind) {}

  Kind kind_;
  std::vector<std::string> keys_;                // dict keys, parallel to children_
  std::vector<std::unique_ptr<Tree>> children_;  // one node each: references stay valid
  // A spec is held apart and shared by copies (it is immutable): inline it would make every node
  // of every tree, concrete ones included, as large as an ArraySpec.
  std::variant<std::monostate, Array, int64_t, double, bool, std::string,
               std::shared_ptr<const ArraySpec>, LeafType>
      value_;
};

absl::string_view TreeKindName(Tree::Kind kind);

}  // namespace cairn

#endif  // CAIRN_STORAGE_TREE_H_
