// LoadTree: matches the abstract tree against the stored tree (of any format, through the
// StoredTree seam), plans the reads, runs them in parallel. Also ReadTreeMetadata and HoldsTree,
// which read no array data.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cairn/storage/internal/box_copy.h"
#include "cairn/storage/internal/stored_tree.h"
#include "cairn/storage/orbax/internal/orbax_stored_tree.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/filesystem.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/status_macros.h"
#include "cairn/utils/thread_pool.h"

namespace cairn {
namespace {

Shape ToShape(const google::protobuf::RepeatedField<uint64_t>& dims) {
  return Shape(dims.begin(), dims.end());
}

absl::string_view NodeKindName(const format::Node& node) {
  switch (node.kind_case()) {
    case format::Node::kDict:
      return "dict";
    case format::Node::kList:
      return "list";
    case format::Node::kTuple:
      return "tuple";
    case format::Node::kNone:
      return "None";
    case format::Node::kArray:
      return "array";
    case format::Node::kIntValue:
      return "int";
    case format::Node::kDoubleValue:
      return "double";
    case format::Node::kBoolValue:
      return "bool";
    case format::Node::kStringValue:
      return "string";
    case format::Node::kBytesValue:
      return "bytes";
    default:
      return "nothing";
  }
}

// The origin of a whole array of rank `rank`: made once for common ranks (a load of many small
// arrays would otherwise allocate one per array), else in `storage`.
const Shape& ZeroOrigin(size_t rank, Shape* storage) {
  static const std::vector<Shape>* const zeros = [] {
    auto* made = new std::vector<Shape>();
    for (size_t r = 0; r <= 8; ++r) made->push_back(Shape(r, 0));
    return made;
  }();
  if (rank < zeros->size()) return (*zeros)[rank];
  storage->assign(rank, 0);
  return *storage;
}

// Abstract dicts of up to this many keys find them in the stored dict by a scan.
constexpr size_t kScannedKeys = 8;

// The default allocation budget of a load (StoreLoadOptions::max_allocation_bytes).
constexpr uint64_t kAllocationPerFilledByte = 4;
constexpr uint64_t kAllocationSlackBytes = uint64_t{1} << 30;

absl::Status Mismatch(const KeyPath& path, absl::string_view expected, const format::Node& node) {
  return absl::InvalidArgumentError(absl::StrCat("structure mismatch at ", path.ToString(),
                                                 ": the abstract tree expects ", expected,
                                                 ", the checkpoint has ", NodeKindName(node)));
}

class TreeLoader {
 public:
  TreeLoader(StoredTree& stored, const StoreLoadOptions& options)
      : stored_(stored),
        options_(options),
        pool_(options.pool ? options.pool : ThreadPool::Shared()),
        parallelism_(options.parallelism > 0 ? options.parallelism : pool_->num_threads()) {}

  absl::StatusOr<Tree> Load(const Tree& abstract) {
    if (options_.map_arrays && options_.map_report != nullptr) *options_.map_report = MapReport();
    KeyPath path;
    CAIRN_ASSIGN_OR_RETURN(Tree result, Match(abstract, stored_.root(), path));
    CAIRN_RETURN_IF_ERROR(stored_.ExecutePlanned(pool_, parallelism_));
    return result;
  }

 private:
  // `path` is the key path of `node`, extended and restored on the way down (an error returns
  // with it extended).
  absl::StatusOr<Tree> Match(const Tree& abstract, const format::Node& node, KeyPath& path) {
    switch (abstract.kind()) {
      case Tree::Kind::kPlaceholder:
        return Tree::Placeholder();
      case Tree::Kind::kAsSaved:
        return AsSaved(node, path);
      case Tree::Kind::kNone:
        if (node.kind_case() != format::Node::kNone) return Mismatch(path, "None", node);
        return Tree::None();
      case Tree::Kind::kDict:
        return MatchDict(abstract, node, path);
      case Tree::Kind::kList:
      case Tree::Kind::kTuple:
        return MatchSequence(abstract, node, path);
      case Tree::Kind::kArray: {
        const Array& target = abstract.array();
        ArraySpec spec;
        spec.dtype = target.dtype();
        spec.shape = target.shape();
        if (target.placement()) spec.origin = target.placement()->origin;
        if (target.is_writable()) spec.destination = target;
        return LoadArray(spec, node, path);
      }
      case Tree::Kind::kArraySpec:
        return LoadArray(abstract.spec(), node, path);
      case Tree::Kind::kInt:
        return LoadScalar(LeafType::kInt, node, path);
      case Tree::Kind::kDouble:
        return LoadScalar(LeafType::kDouble, node, path);
      case Tree::Kind::kBool:
        return LoadScalar(LeafType::kBool, node, path);
      case Tree::Kind::kString:
        return LoadScalar(LeafType::kString, node, path);
      case Tree::Kind::kBytes:
        return LoadScalar(LeafType::kBytes, node, path);
      case Tree::Kind::kTypeOnly:
        if (abstract.type_only() == LeafType::kArray) return LoadArray(ArraySpec(), node, path);
        return LoadScalar(abstract.type_only(), node, path);
    }
    return absl::InternalError("unknown tree kind");
  }

  absl::StatusOr<Tree> MatchDict(const Tree& abstract, const format::Node& node, KeyPath& path) {
    if (node.kind_case() != format::Node::kDict) return Mismatch(path, "a dict", node);
    const format::Dict& dict = node.dict();
    // An abstract tree made from the saved one lists its keys in the stored order, so the key
    // at the same position is tried first. Otherwise a few keys are looked for by a scan, many
    // through a map of the stored keys, built on the first miss: a partial load of one array
    // out of 100,000 would spend more on hashing every stored key.
    const bool scan = abstract.size() <= kScannedKeys;
    absl::flat_hash_map<absl::string_view, int> stored;
    const auto find = [&](size_t position, const std::string& key) {
      if (position < static_cast<size_t>(dict.keys_size()) &&
          dict.keys(static_cast<int>(position)) == key) {
        return static_cast<int>(position);
      }
      if (!scan) {
        if (stored.empty()) {
          for (int i = 0; i < dict.keys_size(); ++i) stored[dict.keys(i)] = i;
        }
        const auto it = stored.find(key);
        return it == stored.end() ? -1 : it->second;
      }
      for (int i = 0; i < dict.keys_size(); ++i) {
        if (dict.keys(i) == key) return i;
      }
      return -1;
    };
    std::vector<Tree> values;
    values.reserve(abstract.size());
    for (size_t i = 0; i < abstract.size(); ++i) {
      const std::string& key = abstract.keys()[i];
      const int found = find(i, key);
      if (found < 0) {
        return absl::NotFoundError(
            absl::StrCat("structure mismatch at ", path.Child(key).ToString(),
                         ": the checkpoint has no such key (it has: ",
                         absl::StrJoin(dict.keys().begin(), dict.keys().end(), ", "), ")"));
      }
      path.Push(key);
      CAIRN_ASSIGN_OR_RETURN(Tree child, Match(abstract[i], dict.values(found), path));
      path.Pop();
      values.push_back(std::move(child));
    }
    if (!options_.partial && abstract.size() != static_cast<size_t>(dict.keys_size())) {
      for (const std::string& key : dict.keys()) {
        if (abstract.Find(key) == nullptr) {
          return absl::InvalidArgumentError(absl::StrCat(
              "structure mismatch at ", path.Child(key).ToString(),
              ": the checkpoint has this key but the abstract tree does not; add it, put a "
              "placeholder there, or load with the partial option"));
        }
      }
    }
    return Tree::DictFrom(abstract.keys(), std::move(values));
  }

  absl::StatusOr<Tree> MatchSequence(const Tree& abstract, const format::Node& node,
                                     KeyPath& path) {
    const bool list = abstract.kind() == Tree::Kind::kList;
    if (node.kind_case() != (list ? format::Node::kList : format::Node::kTuple)) {
      return Mismatch(path, list ? "a list" : "a tuple", node);
    }
    const format::Sequence& seq = list ? node.list() : node.tuple();
    if (static_cast<size_t>(seq.items_size()) != abstract.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("structure mismatch at ", path.ToString(), ": the abstract tree has ",
                       abstract.size(), " elements, the checkpoint has ", seq.items_size()));
    }
    Tree result = list ? Tree::List() : Tree::Tuple();
    for (size_t i = 0; i < abstract.size(); ++i) {
      path.Push(i);
      CAIRN_ASSIGN_OR_RETURN(Tree child, Match(abstract[i], seq.items(i), path));
      path.Pop();
      result.Append(std::move(child));
    }
    return result;
  }

  absl::StatusOr<Tree> AsSaved(const format::Node& node, KeyPath& path) {
    switch (node.kind_case()) {
      case format::Node::kDict: {
        const format::Dict& dict = node.dict();
        std::vector<Tree> values;
        values.reserve(dict.values_size());
        for (int i = 0; i < dict.keys_size(); ++i) {
          path.Push(dict.keys(i));
          CAIRN_ASSIGN_OR_RETURN(Tree child, AsSaved(dict.values(i), path));
          path.Pop();
          values.push_back(std::move(child));
        }
        return Tree::DictFrom({dict.keys().begin(), dict.keys().end()}, std::move(values));
      }
      case format::Node::kList:
      case format::Node::kTuple: {
        const bool list = node.kind_case() == format::Node::kList;
        const format::Sequence& seq = list ? node.list() : node.tuple();
        Tree result = list ? Tree::List() : Tree::Tuple();
        for (int i = 0; i < seq.items_size(); ++i) {
          path.Push(static_cast<size_t>(i));
          CAIRN_ASSIGN_OR_RETURN(Tree child, AsSaved(seq.items(i), path));
          path.Pop();
          result.Append(std::move(child));
        }
        return result;
      }
      case format::Node::kNone:
        return Tree::None();
      case format::Node::kArray: {
        CAIRN_ASSIGN_OR_RETURN(const format::ArrayLeaf* leaf, stored_.ResolveArray(node, path));
        if (std::optional<LeafType> scalar = stored_.ScalarType(*leaf)) {
          return LoadScalar(*scalar, node, path);
        }
        return LoadArray(ArraySpec(), node, path);
      }
      case format::Node::kIntValue:
        return Tree::Int(node.int_value());
      case format::Node::kDoubleValue:
        return Tree::Double(node.double_value());
      case format::Node::kBoolValue:
        return Tree::Bool(node.bool_value());
      case format::Node::kStringValue:
        return Tree::String(node.string_value());
      case format::Node::kBytesValue:
        return Tree::Bytes(node.bytes_value());
      default:
        return absl::DataLossError(absl::StrCat("empty node at ", path.ToString()));
    }
  }

  absl::StatusOr<Tree> LoadArray(const ArraySpec& spec, const format::Node& node,
                                 const KeyPath& path) {
    if (node.kind_case() != format::Node::kArray) {
      if (node.kind_case() == format::Node::kIntValue ||
          node.kind_case() == format::Node::kDoubleValue ||
          node.kind_case() == format::Node::kBoolValue) {
        return ScalarAsArray(spec, node, path);
      }
      return Mismatch(path, "an array", node);
    }
    CAIRN_ASSIGN_OR_RETURN(const format::ArrayLeaf* resolved, stored_.ResolveArray(node, path));
    const format::ArrayLeaf& leaf = *resolved;
    std::string where = path.ToString();
    const DType stored = static_cast<DType>(leaf.stored_dtype());
    const Shape global = ToShape(leaf.global_shape());
    const std::optional<Array>& destination = spec.destination;
    if (destination && !destination->is_writable()) {
      return absl::InvalidArgumentError(
          absl::StrCat("the destination for ", where, " is read-only; borrow it mutably"));
    }
    const DType dtype = spec.dtype    ? *spec.dtype
                        : destination ? destination->dtype()
                                      : static_cast<DType>(leaf.dtype());
    const Shape& shape = spec.shape ? *spec.shape : destination ? destination->shape() : global;
    if (destination && (destination->dtype() != dtype || destination->shape() != shape)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the destination for ", where, " is ", DTypeName(destination->dtype()),
                       ShapeToString(destination->shape()), " but ", DTypeName(dtype),
                       ShapeToString(shape), " was requested"));
    }
    absl::Status castable = CheckCastable(stored, dtype);
    if (!castable.ok()) return Annotate(castable, absl::StrCat("loading ", where));
    CAIRN_RETURN_IF_ERROR(Annotate(NumElements(shape).status(), absl::StrCat("loading ", where)));
    if (shape.size() != global.size()) {
      return absl::InvalidArgumentError(
          absl::StrCat("requested shape ", ShapeToString(shape), " at ", where,
                       " has a different rank than the stored shape ", ShapeToString(global)));
    }
    Shape zeros;
    const Shape& origin = spec.origin ? *spec.origin : ZeroOrigin(global.size(), &zeros);
    if (origin.size() != global.size()) {
      return absl::InvalidArgumentError(absl::StrCat("region origin ", ShapeToString(origin),
                                                     " at ", where, " has the wrong rank for ",
                                                     ShapeToString(global)));
    }
    bool inside = true;
    for (size_t d = 0; d < global.size(); ++d) {
      if (origin[d] < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("region origin ", ShapeToString(origin), " at ", where, " is negative"));
      }
      inside = inside && origin[d] <= global[d] && shape[d] <= global[d] - origin[d];
    }
    const bool exact = !spec.origin ? shape == global : inside;
    if (!exact && !options_.enable_padding_and_truncation) {
      if (spec.origin) {
        return absl::InvalidArgumentError(
            absl::StrCat("requested region ", ShapeToString(shape), " at ", ShapeToString(origin),
                         " lies outside the stored shape ", ShapeToString(global), " at ", where,
                         "; enable padding and truncation to allow it"));
      }
      return absl::InvalidArgumentError(absl::StrCat(
          "requested shape ", ShapeToString(shape), " is not compatible with the stored shape ",
          ShapeToString(global), " at ", where, "; enable padding and truncation to allow it"));
    }
    CAIRN_ASSIGN_OR_RETURN(const uint64_t filled, stored_.Prepare(leaf, origin, shape, where));
    if (options_.map_arrays) {
      MapFallback reason = MapFallback::kDestination;
      if (!destination) {
        if (dtype != stored) {
          reason = MapFallback::kCast;
        } else if (std::any_of(origin.begin(), origin.end(), [](int64_t o) { return o != 0; })) {
          reason = MapFallback::kRegion;
        } else if (shape != global) {
          reason = MapFallback::kPadding;
        } else {
          using Mapped = std::variant<Array, MapFallback>;
          CAIRN_ASSIGN_OR_RETURN(Mapped mapped, stored_.MapArray(leaf, where));
          if (Array* view = std::get_if<Array>(&mapped)) {
            if (options_.map_report != nullptr) options_.map_report->mapped.push_back(where);
            return Tree::FromArray(std::move(*view));
          }
          reason = std::get<MapFallback>(mapped);
        }
      }
      if (options_.map_report != nullptr) options_.map_report->fallbacks[where] = reason;
    }
    Array result;
    if (destination) {
      result = *destination;
    } else {
      CAIRN_RETURN_IF_ERROR(Charge(filled, dtype, shape, where));
      CAIRN_ASSIGN_OR_RETURN(
          result, options_.memory != nullptr
                      ? ArrayAllocator::AllocateUninitialized(dtype, shape, *options_.memory)
                      : ArrayAllocator::AllocateUninitialized(dtype, shape));
    }
    CAIRN_ASSIGN_OR_RETURN(const bool covered, stored_.Plan(leaf, result, origin, std::move(where),
                                                            options_.saturate_casts));
    if (!covered && result.byte_size() > 0)
      std::memset(result.mutable_data(), 0, result.byte_size());
    return Tree::FromArray(std::move(result));
  }

  // Counts an array of `shape` about to be allocated, of which stored chunks fill `filled`
  // elements, against the load's allocation budget (StoreLoadOptions).
  absl::Status Charge(uint64_t filled, DType dtype, const Shape& shape, const std::string& where) {
    CAIRN_ASSIGN_OR_RETURN(const uint64_t bytes, ByteSize(dtype, shape));
    const uint64_t width = DTypeSize(dtype);
    filled_bytes_ = SaturatingAdd(filled_bytes_, std::min(filled, bytes / width) * width);
    allocated_bytes_ = SaturatingAdd(allocated_bytes_, bytes);
    const uint64_t budget =
        options_.max_allocation_bytes
            ? *options_.max_allocation_bytes
            : SaturatingAdd(filled_bytes_ > UINT64_MAX / kAllocationPerFilledByte
                                ? UINT64_MAX
                                : filled_bytes_ * kAllocationPerFilledByte,
                            kAllocationSlackBytes);
    if (allocated_bytes_ <= budget) return absl::OkStatus();
    return absl::ResourceExhaustedError(absl::StrCat(
        "loading ", where, " (", bytes, " bytes) would bring the load's array allocations to ",
        allocated_bytes_, " bytes, past its budget of ", budget, " bytes",
        options_.max_allocation_bytes
            ? " (StoreLoadOptions::max_allocation_bytes)"
            : absl::StrCat(" (4 times the ", filled_bytes_,
                           " bytes its stored chunks fill, plus 1 GiB); the checkpoint holds "
                           "less data than it asks for: raise "
                           "StoreLoadOptions::max_allocation_bytes to allow it")));
  }

  static uint64_t SaturatingAdd(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
  }

  // A stored int, double or bool asked for as an array: a 0-d array.
  absl::StatusOr<Tree> ScalarAsArray(const ArraySpec& spec, const format::Node& node,
                                     const KeyPath& path) {
    if (spec.shape && !spec.shape->empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("requested shape ", ShapeToString(*spec.shape), " at ", path.ToString(),
                       " but the checkpoint holds a ", NodeKindName(node), " scalar"));
    }
    Array natural;
    switch (node.kind_case()) {
      case format::Node::kIntValue:
        natural = Array::FromValues<int64_t>({node.int_value()});
        break;
      case format::Node::kDoubleValue:
        natural = Array::FromValues<double>({node.double_value()});
        break;
      default:
        natural = Array::FromValues<bool>({node.bool_value()});
        break;
    }
    const DType dtype = spec.dtype ? *spec.dtype : natural.dtype();
    CAIRN_ASSIGN_OR_RETURN(Array result, ArrayAllocator::AllocateUninitialized(dtype, Shape{}));
    if (!options_.saturate_casts &&
        FindUnrepresentable(natural.dtype(), natural.data(), dtype, 1) == 0) {
      return UnrepresentableValueError(path.ToString(), Shape{}, natural.dtype(), natural.data(), 0,
                                       dtype);
    }
    CastElements(natural.dtype(), natural.data(), dtype, result.mutable_data(), 1);
    return Tree::FromArray(std::move(result));
  }

  absl::StatusOr<Tree> LoadScalar(LeafType type, const format::Node& node, const KeyPath& path) {
    const std::string where = path.ToString();
    switch (type) {
      case LeafType::kString:
      case LeafType::kBytes: {
        const bool text = node.kind_case() == format::Node::kStringValue;
        if (!text && node.kind_case() != format::Node::kBytesValue) {
          return Mismatch(path, LeafTypeName(type), node);
        }
        std::string value = text ? node.string_value() : node.bytes_value();
        return type == LeafType::kString ? Tree::String(std::move(value))
                                         : Tree::Bytes(std::move(value));
      }
      default:
        break;
    }
    double number;
    switch (node.kind_case()) {
      case format::Node::kIntValue:
        if (type == LeafType::kInt) return Tree::Int(node.int_value());
        number = static_cast<double>(node.int_value());
        break;
      case format::Node::kDoubleValue:
        number = node.double_value();
        break;
      case format::Node::kBoolValue:
        number = node.bool_value() ? 1 : 0;
        break;
      case format::Node::kArray: {
        // A single-element array (numpy's 0-d arrays, say) loads as a scalar. Integers go
        // through int64 so that large values stay exact.
        CAIRN_ASSIGN_OR_RETURN(const format::ArrayLeaf* resolved, stored_.ResolveArray(node, path));
        const format::ArrayLeaf& leaf = *resolved;
        if (type == LeafType::kInt && IsInteger(static_cast<DType>(leaf.dtype()))) {
          CAIRN_ASSIGN_OR_RETURN(Array one, ReadOne(leaf, DType::kInt64, path));
          return Tree::Int(one.values<int64_t>()[0]);
        }
        CAIRN_ASSIGN_OR_RETURN(Array one, ReadOne(leaf, DType::kFloat64, path));
        number = one.values<double>()[0];
        break;
      }
      default:
        return Mismatch(path, LeafTypeName(type), node);
    }
    if (type == LeafType::kDouble) return Tree::Double(number);
    if (type == LeafType::kBool) return Tree::Bool(number != 0);
    if (!options_.saturate_casts &&
        FindUnrepresentable(DType::kFloat64, &number, DType::kInt64, 1) == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "cannot load ", where, " as an int: it is ", number,
          ", which an int cannot hold (set StoreLoadOptions::saturate_casts to clamp such values "
          "to the range)"));
    }
    int64_t value;
    CastElements(DType::kFloat64, &number, DType::kInt64, &value, 1);
    return Tree::Int(value);
  }

  // Reads the only element of a stored array now, as `dtype` (with the reads planned so far).
  absl::StatusOr<Array> ReadOne(const format::ArrayLeaf& leaf, DType dtype, const KeyPath& path) {
    const Shape global = ToShape(leaf.global_shape());
    CAIRN_ASSIGN_OR_RETURN(const uint64_t count, NumElements(global));
    if (count != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot load the array ", ShapeToString(global), " at ", path.ToString(),
                       " as a scalar: only single-element arrays can be"));
    }
    CAIRN_RETURN_IF_ERROR(CheckCastable(static_cast<DType>(leaf.stored_dtype()), dtype));
    CAIRN_ASSIGN_OR_RETURN(Array one, Array::Allocate(dtype, global));
    std::string where = path.ToString();
    const Shape origin(global.size(), 0);
    CAIRN_RETURN_IF_ERROR(stored_.Prepare(leaf, origin, global, where).status());
    CAIRN_RETURN_IF_ERROR(
        stored_.Plan(leaf, one, origin, std::move(where), options_.saturate_casts).status());
    CAIRN_RETURN_IF_ERROR(stored_.ExecutePlanned(pool_, parallelism_));
    return one;
  }

  StoredTree& stored_;
  const StoreLoadOptions& options_;
  ThreadPool* pool_;
  const int parallelism_;
  uint64_t filled_bytes_ = 0;     // of the arrays allocated so far, what stored chunks fill
  uint64_t allocated_bytes_ = 0;  // allocated for arrays so far
};

// The stored tree as an abstract tree: arrays as ArraySpecs with their storage, scalars as
// type-only leaves. An array whose own metadata cannot be read (a format that keeps it apart
// from the tree's, such as Orbax's) is a type-only array leaf: loading it reports why.
Tree MetadataNode(StoredTree& stored, const format::Node& node, KeyPath& path) {
  switch (node.kind_case()) {
    case format::Node::kDict: {
      const format::Dict& dict = node.dict();
      std::vector<Tree> values;
      values.reserve(dict.values_size());
      for (int i = 0; i < dict.keys_size(); ++i) {
        path.Push(dict.keys(i));
        values.push_back(MetadataNode(stored, dict.values(i), path));
        path.Pop();
      }
      // Keys were validated unique when the tree was read.
      return Tree::DictFrom({dict.keys().begin(), dict.keys().end()}, std::move(values)).value();
    }
    case format::Node::kList:
    case format::Node::kTuple: {
      const bool list = node.kind_case() == format::Node::kList;
      Tree result = list ? Tree::List() : Tree::Tuple();
      size_t i = 0;
      for (const format::Node& item : (list ? node.list() : node.tuple()).items()) {
        path.Push(i++);
        result.Append(MetadataNode(stored, item, path));
        path.Pop();
      }
      return result;
    }
    case format::Node::kArray: {
      absl::StatusOr<const format::ArrayLeaf*> leaf = stored.ResolveArray(node, path);
      if (!leaf.ok()) return Tree::TypeOnly(LeafType::kArray);
      if (std::optional<LeafType> scalar = stored.ScalarType(**leaf)) {
        return Tree::TypeOnly(*scalar);
      }
      ArraySpec spec;
      spec.dtype = static_cast<DType>((*leaf)->dtype());
      spec.shape = ToShape((*leaf)->global_shape());
      spec.storage = stored.StorageInfo(**leaf);
      return Tree::Spec(std::move(spec));
    }
    case format::Node::kIntValue:
      return Tree::TypeOnly(LeafType::kInt);
    case format::Node::kDoubleValue:
      return Tree::TypeOnly(LeafType::kDouble);
    case format::Node::kBoolValue:
      return Tree::TypeOnly(LeafType::kBool);
    case format::Node::kStringValue:
      return Tree::TypeOnly(LeafType::kString);
    case format::Node::kBytesValue:
      return Tree::TypeOnly(LeafType::kBytes);
    default:
      return Tree::None();
  }
}

}  // namespace

absl::string_view MapFallbackName(MapFallback reason) {
  switch (reason) {
    case MapFallback::kDestination:
      return "destination given";
    case MapFallback::kCast:
      return "cast";
    case MapFallback::kRegion:
      return "region";
    case MapFallback::kPadding:
      return "padded or truncated";
    case MapFallback::kCompressed:
      return "compressed";
    case MapFallback::kLayout:
      return "chunks not one run of one file";
    case MapFallback::kEmpty:
      return "empty";
    case MapFallback::kFormat:
      return "not cairn's format";
    case MapFallback::kFilesystem:
      return "filesystem cannot map";
  }
  return "unknown";
}

absl::StatusOr<Tree> LoadTree(const std::string& named_dir, const Tree& abstract,
                              const StoreLoadOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<StoredTree> stored, OpenStoredTree(fs, dir, options));
  return TreeLoader(*stored, options).Load(abstract);
}

absl::StatusOr<StoreMetadata> ReadTreeMetadata(const std::string& named_dir,
                                               const StoreLoadOptions& options) {
  Filesystem& fs = options.filesystem ? *options.filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  CAIRN_ASSIGN_OR_RETURN(std::unique_ptr<StoredTree> stored, OpenStoredTree(fs, dir, options));
  StoreMetadata metadata;
  KeyPath path;
  metadata.tree = MetadataNode(*stored, stored->root(), path);
  CAIRN_RETURN_IF_ERROR(stored->DescribeStore(&metadata));
  return metadata;
}

absl::StatusOr<bool> HoldsTree(const std::string& named_dir, Filesystem* filesystem) {
  Filesystem& fs = filesystem ? *filesystem : *Filesystem::Default();
  CAIRN_ASSIGN_OR_RETURN(const std::string dir, ResolveAbove(fs, named_dir));
  CAIRN_ASSIGN_OR_RETURN(const bool cairn, PathExists(fs, JoinPath(dir, kTreeIndexFileName)));
  if (cairn) return true;
  return HoldsOrbaxTree(fs, dir);
}

}  // namespace cairn
