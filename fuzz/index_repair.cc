#include "fuzz/index_repair.h"

#include <cstring>
#include <vector>

#include "cairn/storage/index.pb.h"
#include "cairn/storage/internal/index_file.h"
#include "cairn/utils/checksum.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/stubs/logging.h"

namespace cairn::fuzz {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'I', 'D', 'X'};

void PutU64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}

// Sets the checksum of every chunk of `leaf` that lies inside its data file.
bool RepairLeaf(const format::TreeIndex& index, format::ArrayLeaf* leaf,
                const DataFileLookup& data_file) {
  bool changed = false;
  for (format::Shard& shard : *leaf->mutable_shards()) {
    for (format::Chunk& chunk : *shard.mutable_chunks()) {
      if (chunk.file() >= static_cast<uint32_t>(index.data_files_size())) continue;
      const std::optional<absl::string_view> data =
          data_file(index.data_files(chunk.file()).name());
      if (!data || chunk.offset() > data->size() ||
          chunk.stored_size() > data->size() - chunk.offset()) {
        continue;
      }
      const uint64_t checksum = Checksum64(data->substr(chunk.offset(), chunk.stored_size()));
      if (checksum != chunk.checksum()) {
        chunk.set_checksum(checksum);
        changed = true;
      }
    }
  }
  return changed;
}

}  // namespace

std::string RepairIndexFrame(absl::string_view file) {
  std::string repaired(file);
  if (repaired.size() < kIndexHeaderSize) return repaired;
  const absl::string_view payload = file.substr(kIndexHeaderSize);
  std::memcpy(&repaired[0], kMagic, sizeof(kMagic));
  PutU64(&repaired[16], payload.size());
  PutU64(&repaired[24], Checksum64(payload));
  PutU64(&repaired[32], Checksum64(repaired.data(), 32));
  return repaired;
}

std::optional<std::string> RepairIndexChecksums(absl::string_view file,
                                                const DataFileLookup& data_file) {
  if (file.size() < kIndexHeaderSize) return std::nullopt;
  const absl::string_view payload = file.substr(kIndexHeaderSize);
  format::TreeIndex index;
  google::protobuf::io::CodedInputStream coded(reinterpret_cast<const uint8_t*>(payload.data()),
                                               static_cast<int>(payload.size()));
  coded.SetRecursionLimit(1000);
  if (!index.ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) return std::nullopt;

  // Walks the tree with an explicit stack: a hostile tree may be deep.
  bool changed = false;
  std::vector<format::Node*> pending = {index.mutable_root()};
  while (!pending.empty()) {
    format::Node* node = pending.back();
    pending.pop_back();
    switch (node->kind_case()) {
      case format::Node::kDict:
        for (format::Node& value : *node->mutable_dict()->mutable_values())
          pending.push_back(&value);
        break;
      case format::Node::kList:
        for (format::Node& item : *node->mutable_list()->mutable_items()) pending.push_back(&item);
        break;
      case format::Node::kTuple:
        for (format::Node& item : *node->mutable_tuple()->mutable_items()) pending.push_back(&item);
        break;
      case format::Node::kArray:
        changed = RepairLeaf(index, node->mutable_array(), data_file) || changed;
        break;
      default:
        break;
    }
  }
  if (!changed) return RepairIndexFrame(file);
  std::string repaired(file.substr(0, kIndexHeaderSize));
  repaired += index.SerializeAsString();
  return RepairIndexFrame(repaired);
}

void SilenceProtobufLogs() { google::protobuf::SetLogHandler(nullptr); }

}  // namespace cairn::fuzz
