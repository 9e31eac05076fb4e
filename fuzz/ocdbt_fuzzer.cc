// Fuzzes the OCDBT decoders: the input is decoded as a manifest, a version tree node and a
// B+tree node (each framing is checked, so most inputs stop at the checksum; the seeds from the
// golden files and the input's own checksum repair below reach the bodies).
#include <cstddef>
#include <cstdint>
#include <string>

#include "cairn/storage/ocdbt/internal/btree_node.h"
#include "cairn/storage/ocdbt/internal/manifest.h"
#include "cairn/utils/crc32c.h"

namespace cairn::fuzz {
namespace {

// Rewrites the length and checksum so that the decoders' bodies, not their framing, are fuzzed.
std::string Reframe(const uint8_t* data, size_t size) {
  std::string object(reinterpret_cast<const char*>(data), size);
  if (object.size() < 18) return object;
  const uint64_t length = object.size();
  for (int i = 0; i < 8; ++i) object[4 + i] = static_cast<char>(length >> (8 * i));
  const uint32_t crc = Crc32c(object.data(), object.size() - 4);
  for (int i = 0; i < 4; ++i) object[object.size() - 4 + i] = static_cast<char>(crc >> (8 * i));
  return object;
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cairn;
  for (const std::string& input :
       {std::string(reinterpret_cast<const char*>(data), size), fuzz::Reframe(data, size)}) {
    ocdbt_internal::DecodeManifest(input).status().IgnoreError();
    ocdbt_internal::DecodeVersionTreeNode(input, "p/").status().IgnoreError();
    ocdbt_internal::DecodeBtreeNode(input, "p/", 1 << 20).status().IgnoreError();
  }
  return 0;
}
