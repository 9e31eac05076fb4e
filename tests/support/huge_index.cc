#include "tests/support/huge_index.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"

namespace cairn::testing {
namespace {

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutFixed(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

// Appends field `number` as a length-delimited field holding `body`.
void PutBytes(int number, const std::string& body, std::string* out) {
  PutVarint(static_cast<uint64_t>(number) << 3 | 2, out);
  PutVarint(body.size(), out);
  out->append(body);
}

void PutVarintField(int number, uint64_t v, std::string* out) {
  PutVarint(static_cast<uint64_t>(number) << 3, out);
  PutVarint(v, out);
}

std::string Packed(uint64_t v) {
  std::string out;
  PutVarint(v, &out);
  return out;
}

}  // namespace

absl::Status WriteIndexOfEmptyChunks(Filesystem& fs, const std::string& dir, uint64_t rows) {
  std::string shard;
  PutBytes(1, Packed(0), &shard);     // origin
  PutBytes(2, Packed(rows), &shard);  // shape
  shard.reserve(shard.size() + 2 * rows);
  for (uint64_t i = 0; i < rows; ++i) shard.append("\x22\x00", 2);  // chunks: empty entries
  std::string leaf;
  PutVarintField(1, 1, &leaf);       // dtype bool
  PutVarintField(2, 1, &leaf);       // stored dtype bool
  PutBytes(3, Packed(rows), &leaf);  // global shape
  PutVarintField(4, 1, &leaf);       // one row per chunk
  PutBytes(7, shard, &leaf);
  shard.clear();
  shard.shrink_to_fit();
  std::string node;
  PutBytes(5, leaf, &node);
  leaf.clear();
  leaf.shrink_to_fit();
  std::string data_file;
  PutBytes(1, "p0.dat", &data_file);
  std::string payload;
  PutVarintField(1, kTreeFormatVersion, &payload);
  PutBytes(2, node, &payload);
  node.clear();
  node.shrink_to_fit();
  PutBytes(3, data_file, &payload);
  PutVarintField(6, 1, &payload);  // process count
  PutVarintField(7, 1, &payload);  // aggregated layout

  std::string contents = "CAIRNIDX";
  PutFixed(kTreeFormatVersion, 4, &contents);
  PutFixed(0, 4, &contents);
  PutFixed(payload.size(), 8, &contents);
  PutFixed(Checksum64(payload), 8, &contents);
  PutFixed(Checksum64(contents.data(), 32), 8, &contents);
  contents.append(payload);
  payload.clear();
  payload.shrink_to_fit();
  return WriteStringToFile(fs, JoinPath(dir, kTreeIndexFileName), contents, /*sync=*/false);
}

}  // namespace cairn::testing
