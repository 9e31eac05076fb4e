#include "cairn/storage/tree_comparison.h"

#include <algorithm>
#include <cmath>
#include <complex>
#include <map>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/shape.h"

namespace cairn {
namespace {

void Walk(const Tree& a, const Tree& b, KeyPath& path, StructureDifference& out) {
  const std::string kind_a = NodeKindName(a);
  const std::string kind_b = NodeKindName(b);
  if (kind_a != kind_b) {
    out.kind_changes.push_back(KindChange{path, kind_a, kind_b});
    return;
  }
  if (a.kind() == Tree::Kind::kDict) {
    for (size_t i = 0; i < a.size(); ++i) {
      path.Push(a.keys()[i]);
      if (const Tree* other = b.Find(a.keys()[i])) {
        Walk(a[i], *other, path, out);
      } else {
        out.only_in_a.push_back(path);
      }
      path.Pop();
    }
    for (size_t i = 0; i < b.size(); ++i) {
      if (a.Find(b.keys()[i]) != nullptr) continue;
      path.Push(b.keys()[i]);
      out.only_in_b.push_back(path);
      path.Pop();
    }
    return;
  }
  if (a.is_container()) {
    const size_t common = std::min(a.size(), b.size());
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
      path.Push(i);
      if (i < common) {
        Walk(a[i], b[i], path, out);
      } else if (i < a.size()) {
        out.only_in_a.push_back(path);
      } else {
        out.only_in_b.push_back(path);
      }
      path.Pop();
    }
    return;
  }
  if (a.kind() == Tree::Kind::kNone) return;
  out.common_leaves.push_back(CommonLeaf{path, &a, &b});
}

constexpr size_t kBlock = 16384;

// One differing element: its |a - b| and the magnitude it is relative to.
void Record(double abs, double scale, uint64_t index, ArrayDifference& out) {
  if (out.equal) out.first_differing = index;
  out.equal = false;
  ++out.differing;
  const double rel = scale != 0 ? abs / scale : abs;
  if (!(abs <= out.max_abs)) out.max_abs = abs;  // a NaN, once there, stays
  if (!(rel <= out.max_rel)) out.max_rel = rel;
}

}  // namespace

std::string NodeKindName(const Tree& node) {
  switch (node.kind()) {
    case Tree::Kind::kArray:
    case Tree::Kind::kArraySpec:
      return "array";
    case Tree::Kind::kTypeOnly:
      return std::string(LeafTypeName(node.type_only()));
    default:
      return std::string(TreeKindName(node.kind()));
  }
}

StructureDifference CompareStructure(const Tree& a, const Tree& b) {
  StructureDifference out;
  KeyPath path;
  Walk(a, b, path, out);
  return out;
}

absl::StatusOr<ArrayDifference> CompareArrays(const Array& a, const Array& b) {
  if (a.dtype() != b.dtype() || a.shape() != b.shape()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot compare ", DTypeName(a.dtype()),
                                                   ShapeToString(a.shape()), " with ",
                                                   DTypeName(b.dtype()), ShapeToString(b.shape())));
  }
  ArrayDifference out;
  const uint64_t n = a.num_elements();
  const size_t width = DTypeSize(a.dtype());
  const char* pa = static_cast<const char*>(a.data());
  const char* pb = static_cast<const char*>(b.data());
  const bool complex = IsComplex(a.dtype());
  // Integers past 2^53 can cast to one float64: their bytes tell them apart.
  const bool exact_bytes = IsInteger(a.dtype()) || a.dtype() == DType::kBool;
  std::vector<std::complex<double>> ca(complex ? kBlock : 0), cb(complex ? kBlock : 0);
  std::vector<double> da(complex ? 0 : kBlock), db(complex ? 0 : kBlock);
  for (uint64_t start = 0; start < n; start += kBlock) {
    const size_t count = static_cast<size_t>(std::min<uint64_t>(kBlock, n - start));
    const char* block_a = pa + start * width;
    const char* block_b = pb + start * width;
    if (std::equal(block_a, block_a + count * width, block_b)) continue;
    if (complex) {
      CastElements(a.dtype(), block_a, DType::kComplex128, ca.data(), count);
      CastElements(b.dtype(), block_b, DType::kComplex128, cb.data(), count);
    } else {
      CastElements(a.dtype(), block_a, DType::kFloat64, da.data(), count);
      CastElements(b.dtype(), block_b, DType::kFloat64, db.data(), count);
    }
    for (size_t i = 0; i < count; ++i) {
      if (std::equal(block_a + i * width, block_a + (i + 1) * width, block_b + i * width)) {
        continue;
      }
      if (complex) {
        if (ca[i] == cb[i]) continue;
        const double scale = cb[i] != 0.0 ? std::abs(cb[i]) : std::abs(ca[i]);
        Record(std::abs(ca[i] - cb[i]), scale, start + i, out);
        continue;
      }
      if (std::isnan(da[i]) && std::isnan(db[i])) continue;
      if (da[i] == db[i] && !exact_bytes) continue;  // +0 and -0
      const double scale = db[i] != 0 ? std::fabs(db[i]) : std::fabs(da[i]);
      Record(std::fabs(da[i] - db[i]), scale, start + i, out);
    }
  }
  return out;
}

}  // namespace cairn
