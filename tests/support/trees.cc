#include "tests/support/trees.h"

#include <cstring>

#include "absl/strings/str_cat.h"

namespace cairn::testing {

Array RandomBytes(DType dtype, Shape shape, uint64_t seed) {
  Array array = Array::Allocate(dtype, std::move(shape)).value();
  uint64_t state = seed * 0x9E3779B97F4A7C15ull + 1;
  unsigned char* out = static_cast<unsigned char*>(array.mutable_data());
  for (uint64_t i = 0; i < array.byte_size(); ++i) {
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    out[i] = static_cast<unsigned char>(state);
  }
  if (dtype == DType::kBool) {
    for (uint64_t i = 0; i < array.byte_size(); ++i) out[i] &= 1;
  }
  return array;
}

Tree SampleTree() {
  Tree tree = Tree::Dict();
  Tree& params = tree.Set("params", Tree::Dict());
  Tree& layer1 = params.Set("layer1", Tree::Dict());
  layer1.Set("kernel", Tree::FromArray(RandomBytes(DType::kFloat32, {8, 4}, 1)));
  layer1.Set("bias", Tree::FromArray(Iota<float>({4})));
  Tree& layer2 = params.Set("layer2", Tree::Dict());
  layer2.Set("kernel", Tree::FromArray(RandomBytes(DType::kFloat32, {4, 2}, 2)));
  layer2.Set("bias", Tree::FromArray(Iota<float>({2})));
  Tree& opt = tree.Set("opt_state", Tree::List());
  opt.Append(Tree::FromArray(Iota<int32_t>({16})));
  opt.Append(Tree::FromArray(Iota<double>({3, 3})));
  Tree& pair = tree.Set("pair", Tree::Tuple());
  pair.Append(Tree::Int(-7));
  pair.Append(Tree::None());
  tree.Set("step", Tree::Int(101));
  tree.Set("lr", Tree::Double(0.25));
  tree.Set("done", Tree::Bool(true));
  tree.Set("name", Tree::String("run-1"));
  tree.Set("blob", Tree::Bytes(std::string("\0\1\2", 3)));
  return tree;
}

namespace {

::testing::AssertionResult Compare(const Tree& a, const Tree& b, const KeyPath& path) {
  auto fail = [&](const std::string& why) {
    return ::testing::AssertionFailure() << "at " << path.ToString() << ": " << why;
  };
  if (a.kind() != b.kind()) {
    return fail(absl::StrCat(TreeKindName(a.kind()), " vs ", TreeKindName(b.kind())));
  }
  switch (a.kind()) {
    case Tree::Kind::kDict:
      if (a.keys() != b.keys()) return fail("keys differ");
      for (size_t i = 0; i < a.size(); ++i) {
        auto r = Compare(a[i], b[i], path.Child(a.keys()[i]));
        if (!r) return r;
      }
      return ::testing::AssertionSuccess();
    case Tree::Kind::kList:
    case Tree::Kind::kTuple:
      if (a.size() != b.size()) return fail("lengths differ");
      for (size_t i = 0; i < a.size(); ++i) {
        auto r = Compare(a[i], b[i], path.Child(i));
        if (!r) return r;
      }
      return ::testing::AssertionSuccess();
    case Tree::Kind::kArray:
      if (!a.array().ContentEquals(b.array())) {
        return fail(absl::StrCat("arrays differ: ", DTypeName(a.array().dtype()),
                                 ShapeToString(a.array().shape()), " vs ",
                                 DTypeName(b.array().dtype()), ShapeToString(b.array().shape())));
      }
      return ::testing::AssertionSuccess();
    case Tree::Kind::kInt:
      return a.int_value() == b.int_value() ? ::testing::AssertionSuccess() : fail("ints differ");
    case Tree::Kind::kDouble: {
      const double x = a.double_value(), y = b.double_value();
      return std::memcmp(&x, &y, sizeof(double)) == 0 ? ::testing::AssertionSuccess()
                                                      : fail("doubles differ");
    }
    case Tree::Kind::kBool:
      return a.bool_value() == b.bool_value() ? ::testing::AssertionSuccess()
                                              : fail("bools differ");
    case Tree::Kind::kString:
    case Tree::Kind::kBytes:
      return a.string_value() == b.string_value() ? ::testing::AssertionSuccess()
                                                  : fail("strings differ");
    default:
      return ::testing::AssertionSuccess();
  }
}

}  // namespace

::testing::AssertionResult TreesEqual(const Tree& a, const Tree& b) {
  return Compare(a, b, KeyPath());
}

}  // namespace cairn::testing
