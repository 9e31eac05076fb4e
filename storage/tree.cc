#include "cairn/storage/tree.h"

#include <utility>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace cairn {

absl::string_view LeafTypeName(LeafType type) {
  switch (type) {
    case LeafType::kArray:
      return "array";
    case LeafType::kInt:
      return "int";
    case LeafType::kDouble:
      return "double";
    case LeafType::kBool:
      return "bool";
    case LeafType::kString:
      return "string";
    case LeafType::kBytes:
      return "bytes";
  }
  return "unknown";
}

absl::string_view TreeKindName(Tree::Kind kind) {
  switch (kind) {
    case Tree::Kind::kNone:
      return "None";
    case Tree::Kind::kDict:
      return "dict";
    case Tree::Kind::kList:
      return "list";
    case Tree::Kind::kTuple:
      return "tuple";
    case Tree::Kind::kArray:
      return "array";
    case Tree::Kind::kInt:
      return "int";
    case Tree::Kind::kDouble:
      return "double";
    case Tree::Kind::kBool:
      return "bool";
    case Tree::Kind::kString:
      return "string";
    case Tree::Kind::kBytes:
      return "bytes";
    case Tree::Kind::kArraySpec:
      return "array spec";
    case Tree::Kind::kTypeOnly:
      return "type-only leaf";
    case Tree::Kind::kAsSaved:
      return "as-saved leaf";
    case Tree::Kind::kPlaceholder:
      return "placeholder";
  }
  return "unknown";
}

Tree::Tree() : kind_(Kind::kNone) {}

Tree::Tree(const Tree& other) : kind_(other.kind_), keys_(other.keys_), value_(other.value_) {
  children_.reserve(other.children_.size());
  for (const std::unique_ptr<Tree>& child : other.children_) {
    children_.push_back(std::make_unique<Tree>(*child));
  }
}

Tree& Tree::operator=(const Tree& other) {
  if (this != &other) *this = Tree(other);
  return *this;
}

Tree Tree::Dict() { return Tree(Kind::kDict); }
absl::StatusOr<Tree> Tree::DictFrom(std::vector<std::string> keys, std::vector<Tree> values) {
  if (keys.size() != values.size()) {
    return absl::InvalidArgumentError(absl::StrCat("a dict needs as many keys as values, not ",
                                                   keys.size(), " and ", values.size()));
  }
  absl::flat_hash_set<absl::string_view> seen;
  seen.reserve(keys.size());
  for (const std::string& key : keys) {
    if (!seen.insert(key).second) {
      return absl::InvalidArgumentError(absl::StrCat("duplicate dict key '", key, "'"));
    }
  }
  Tree tree(Kind::kDict);
  tree.keys_ = std::move(keys);
  tree.children_.reserve(values.size());
  for (Tree& value : values) tree.children_.push_back(std::make_unique<Tree>(std::move(value)));
  return tree;
}

Tree Tree::List() { return Tree(Kind::kList); }
Tree Tree::Tuple() { return Tree(Kind::kTuple); }

Tree Tree::FromArray(Array array) {
  Tree tree(Kind::kArray);
  tree.value_ = std::move(array);
  return tree;
}
Tree Tree::Int(int64_t value) {
  Tree tree(Kind::kInt);
  tree.value_ = value;
  return tree;
}
Tree Tree::Double(double value) {
  Tree tree(Kind::kDouble);
  tree.value_ = value;
  return tree;
}
Tree Tree::Bool(bool value) {
  Tree tree(Kind::kBool);
  tree.value_ = value;
  return tree;
}
Tree Tree::String(std::string value) {
  Tree tree(Kind::kString);
  tree.value_ = std::move(value);
  return tree;
}
Tree Tree::Bytes(std::string value) {
  Tree tree(Kind::kBytes);
  tree.value_ = std::move(value);
  return tree;
}
Tree Tree::Spec(ArraySpec spec) {
  Tree tree(Kind::kArraySpec);
  tree.value_ = std::make_shared<const ArraySpec>(std::move(spec));
  return tree;
}
Tree Tree::TypeOnly(LeafType type) {
  Tree tree(Kind::kTypeOnly);
  tree.value_ = type;
  return tree;
}
Tree Tree::AsSaved() { return Tree(Kind::kAsSaved); }
Tree Tree::Placeholder() { return Tree(Kind::kPlaceholder); }

bool Tree::is_container() const {
  return kind_ == Kind::kDict || kind_ == Kind::kList || kind_ == Kind::kTuple;
}

bool Tree::is_abstract_leaf() const {
  return kind_ == Kind::kArraySpec || kind_ == Kind::kTypeOnly || kind_ == Kind::kAsSaved ||
         kind_ == Kind::kPlaceholder;
}

Tree& Tree::Set(absl::string_view key, Tree value) {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) {
      *children_[i] = std::move(value);
      return *children_[i];
    }
  }
  keys_.emplace_back(key);
  children_.push_back(std::make_unique<Tree>(std::move(value)));
  return *children_.back();
}

const Tree* Tree::Find(absl::string_view key) const {
  for (size_t i = 0; i < keys_.size(); ++i) {
    if (keys_[i] == key) return children_[i].get();
  }
  return nullptr;
}

Tree* Tree::FindMutable(absl::string_view key) {
  return const_cast<Tree*>(static_cast<const Tree*>(this)->Find(key));
}

Tree& Tree::Append(Tree value) {
  children_.push_back(std::make_unique<Tree>(std::move(value)));
  return *children_.back();
}

namespace {

void VisitLeaves(const Tree& tree, const KeyPath& path,
                 const std::function<void(const KeyPath&, const Tree&)>& fn) {
  switch (tree.kind()) {
    case Tree::Kind::kDict:
      for (size_t i = 0; i < tree.size(); ++i) {
        VisitLeaves(tree.children()[i], path.Child(tree.keys()[i]), fn);
      }
      return;
    case Tree::Kind::kList:
    case Tree::Kind::kTuple:
      for (size_t i = 0; i < tree.size(); ++i) VisitLeaves(tree[i], path.Child(i), fn);
      return;
    default:
      fn(path, tree);
  }
}

void Render(const Tree& tree, std::string* out) {
  switch (tree.kind()) {
    case Tree::Kind::kDict: {
      out->append("{");
      for (size_t i = 0; i < tree.size(); ++i) {
        absl::StrAppend(out, i ? ", " : "", "'", tree.keys()[i], "': ");
        Render(tree[i], out);
      }
      out->append("}");
      return;
    }
    case Tree::Kind::kList:
    case Tree::Kind::kTuple: {
      const bool list = tree.kind() == Tree::Kind::kList;
      out->append(list ? "[" : "(");
      for (size_t i = 0; i < tree.size(); ++i) {
        if (i) out->append(", ");
        Render(tree[i], out);
      }
      out->append(list ? "]" : ")");
      return;
    }
    case Tree::Kind::kArray:
      absl::StrAppend(out, "array(", DTypeName(tree.array().dtype()),
                      ShapeToString(tree.array().shape()), ")");
      return;
    case Tree::Kind::kInt:
      absl::StrAppend(out, tree.int_value());
      return;
    case Tree::Kind::kDouble:
      absl::StrAppend(out, tree.double_value());
      return;
    case Tree::Kind::kBool:
      out->append(tree.bool_value() ? "True" : "False");
      return;
    case Tree::Kind::kString:
      absl::StrAppend(out, "'", absl::CHexEscape(tree.string_value()), "'");
      return;
    case Tree::Kind::kBytes:
      absl::StrAppend(out, "b'", absl::CHexEscape(tree.string_value()), "'");
      return;
    case Tree::Kind::kArraySpec: {
      const ArraySpec& spec = tree.spec();
      absl::StrAppend(out, "spec(", spec.dtype ? DTypeName(*spec.dtype) : "?",
                      spec.shape ? ShapeToString(*spec.shape) : "(?)", ")");
      return;
    }
    case Tree::Kind::kTypeOnly:
      absl::StrAppend(out, "<", LeafTypeName(tree.type_only()), ">");
      return;
    case Tree::Kind::kAsSaved:
      out->append("<as saved>");
      return;
    case Tree::Kind::kPlaceholder:
      out->append("...");
      return;
    case Tree::Kind::kNone:
      out->append("None");
      return;
  }
}

}  // namespace

void Tree::ForEachLeaf(const std::function<void(const KeyPath&, const Tree&)>& fn) const {
  VisitLeaves(*this, KeyPath(), fn);
}

std::string Tree::DebugString() const {
  std::string out;
  Render(*this, &out);
  return out;
}

}  // namespace cairn
