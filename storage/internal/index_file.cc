#include "cairn/storage/internal/index_file.h"

#include <cstdint>
#include <cstring>
#include <limits>
#include <list>
#include <memory>
#include <optional>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cairn/storage/dtype.h"
#include "cairn/storage/internal/chunk_layout.h"
#include "cairn/storage/internal/index_census.h"
#include "cairn/storage/internal/shard_overlap.h"
#include "cairn/storage/pytree_store.h"
#include "cairn/storage/shape.h"
#include "cairn/utils/checksum.h"
#include "cairn/utils/filesystem_util.h"
#include "cairn/utils/json_parse.h"
#include "cairn/utils/large_block_allocator.h"
#include "cairn/utils/status_macros.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace cairn {
namespace {

constexpr char kMagic[8] = {'C', 'A', 'I', 'R', 'N', 'I', 'D', 'X'};
// Nesting allowed when parsing: each tree level costs two messages (Node and Dict/Sequence).
constexpr int kProtoRecursionLimit = 1000;
// Parsing builds a message for every entry the payload holds, however small it is on disk (an
// empty chunk record is 2 bytes on disk and 64 in memory). A payload whose parse would take more
// than this many bytes per byte of it, plus the slack, is refused unparsed. Valid indexes take
// about 4 bytes per byte when chunk records dominate them and up to about 8 when small leaves
// do (30 for a list of empty dicts, which only the slack admits).
constexpr uint64_t kParseBytesPerIndexByte = 8;
constexpr uint64_t kParseSlackBytes = uint64_t{64} << 20;
// The most a zstd frame can expand: an RLE block of 4 bytes decodes to at most 128 KiB.
constexpr uint64_t kMaxZstdExpansion = 32768;

void PutU32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
void PutU64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= uint32_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= uint64_t{static_cast<unsigned char>(in[i])} << (8 * i);
  return v;
}

bool IsPlainFileName(absl::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  for (char c : name) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

absl::Status Corrupt(const std::string& file, absl::string_view what) {
  return absl::DataLossError(absl::StrCat("corrupt index ", file, ": ", what));
}

Shape ToShape(const google::protobuf::RepeatedField<uint64_t>& dims) {
  Shape shape;
  shape.reserve(dims.size());
  for (uint64_t d : dims) shape.push_back(static_cast<int64_t>(d));
  return shape;
}

// Validates the nodes below `node`; `path` names it in messages.
class IndexValidator {
 public:
  IndexValidator(const format::TreeIndex& index, const std::string& file)
      : index_(index), file_(file) {}

  // Validates `node`, found at path_.
  absl::Status Node(const format::Node& node) {
    const KeyPath& path = path_;
    switch (node.kind_case()) {
      case format::Node::kDict: {
        const format::Dict& dict = node.dict();
        if (dict.keys_size() != dict.values_size()) {
          return Corrupt(file_, absl::StrCat("dict at ", path.ToString(), " has ", dict.keys_size(),
                                             " keys but ", dict.values_size(), " values"));
        }
        absl::flat_hash_set<absl::string_view> seen;
        seen.reserve(dict.keys_size());
        for (int i = 0; i < dict.keys_size(); ++i) {
          path_.Push(dict.keys(i));
          absl::Status key_status = ValidateDictKey(dict.keys(i), path_);
          if (!key_status.ok()) return Corrupt(file_, key_status.message());
          if (!seen.insert(dict.keys(i)).second) {
            return Corrupt(file_, absl::StrCat("duplicate key at ", path_.ToString()));
          }
          CAIRN_RETURN_IF_ERROR(Node(dict.values(i)));
          path_.Pop();
        }
        return absl::OkStatus();
      }
      case format::Node::kList:
      case format::Node::kTuple: {
        const format::Sequence& seq =
            node.kind_case() == format::Node::kList ? node.list() : node.tuple();
        for (int i = 0; i < seq.items_size(); ++i) {
          path_.Push(static_cast<size_t>(i));
          CAIRN_RETURN_IF_ERROR(Node(seq.items(i)));
          path_.Pop();
        }
        return absl::OkStatus();
      }
      case format::Node::kArray:
        return Array(node.array());
      case format::Node::KIND_NOT_SET:
        return Corrupt(file_, absl::StrCat("node at ", path.ToString(), " has no kind"));
      default:
        return absl::OkStatus();  // scalars and None carry no numbers to check
    }
  }

 private:
  absl::Status Array(const format::ArrayLeaf& array) {
    if (!IsValidDType(static_cast<int>(array.dtype())) ||
        !IsValidDType(static_cast<int>(array.stored_dtype()))) {
      return Corrupt(file_, absl::StrCat("unknown dtype at ", Where()));
    }
    const DType stored = static_cast<DType>(array.stored_dtype());
    const Shape global = ToShape(array.global_shape());
    for (uint64_t d : array.global_shape()) {
      if (d > (uint64_t{1} << 62)) return Corrupt(file_, absl::StrCat("bad shape at ", Where()));
    }
    if (!ByteSize(stored, global).ok() ||
        !ByteSize(static_cast<DType>(array.dtype()), global).ok()) {
      return Corrupt(file_, absl::StrCat("shape ", ShapeToString(global), " at ", Where(),
                                         " has a byte size that overflows"));
    }
    if (array.chunk_rows() == 0)
      return Corrupt(file_, absl::StrCat("zero chunk rows at ", Where()));
    if (array.compression() != format::COMPRESSION_NONE &&
        array.compression() != format::COMPRESSION_ZSTD &&
        (array.compression() != format::COMPRESSION_ZSTD_SHUFFLED ||
         index_.format_version() < kShuffledFormatVersion)) {
      return Corrupt(file_, absl::StrCat("unknown compression at ", Where()));
    }
    for (const format::Shard& shard : array.shards()) {
      CAIRN_RETURN_IF_ERROR(Shard(array, shard, global, stored));
    }
    absl::StatusOr<std::optional<std::pair<int, int>>> overlap =
        internal::FindOverlappingShards(array);
    if (!overlap.ok()) {
      return Corrupt(file_, absl::StrCat(overlap.status().message(), " at ", Where()));
    }
    if (overlap->has_value()) {
      return Corrupt(file_, absl::StrCat("shards ", (*overlap)->first, " and ", (*overlap)->second,
                                         " at ", Where(), " overlap; shards never do"));
    }
    return absl::OkStatus();
  }

  absl::Status Shard(const format::ArrayLeaf& array, const format::Shard& shard,
                     const Shape& global, DType stored) {
    if (shard.origin_size() != static_cast<int>(global.size()) ||
        shard.shape_size() != static_cast<int>(global.size())) {
      return Corrupt(file_, absl::StrCat("shard rank differs from the array's at ", Where()));
    }
    for (size_t d = 0; d < global.size(); ++d) {
      const uint64_t origin = shard.origin(d);
      const uint64_t extent = shard.shape(d);
      if (origin > static_cast<uint64_t>(global[d]) ||
          extent > static_cast<uint64_t>(global[d]) - origin) {
        return Corrupt(file_, absl::StrCat("shard lies outside the array at ", Where()));
      }
    }
    if (shard.process_index() >= index_.process_count()) {
      return Corrupt(file_, absl::StrCat("shard of an unknown process at ", Where()));
    }
    const Shape shape = ToShape(shard.shape());
    const uint64_t expected_chunks = NumChunks(shape, array.chunk_rows());
    if (static_cast<uint64_t>(shard.chunks_size()) != expected_chunks) {
      return Corrupt(file_, absl::StrCat("shard at ", Where(), " has ", shard.chunks_size(),
                                         " chunks, expected ", expected_chunks));
    }
    const uint64_t row_bytes = RowElements(shape) * DTypeSize(stored);
    for (int c = 0; c < shard.chunks_size(); ++c) {
      const format::Chunk& chunk = shard.chunks(c);
      if (chunk.file() >= static_cast<uint32_t>(index_.data_files_size())) {
        return Corrupt(file_, absl::StrCat("chunk ", c, " at ", Where(), " names no data file"));
      }
      const uint64_t file_size = index_.data_files(chunk.file()).size();
      if (chunk.offset() > file_size || chunk.stored_size() > file_size - chunk.offset()) {
        return Corrupt(file_,
                       absl::StrCat("chunk ", c, " at ", Where(), " lies outside its data file"));
      }
      const uint64_t raw = ChunkRowRange(shape, array.chunk_rows(), c).size() * row_bytes;
      // A compressed chunk too small to decode to its raw size would still have its raw size
      // allocated before it is read.
      if (array.compression() == format::COMPRESSION_NONE
              ? chunk.stored_size() != raw
              : chunk.stored_size() < (raw + kMaxZstdExpansion - 1) / kMaxZstdExpansion) {
        return Corrupt(file_, absl::StrCat("chunk ", c, " at ", Where(), " has size ",
                                           chunk.stored_size(), " for ", raw, " bytes of data"));
      }
    }
    return absl::OkStatus();
  }

  // The current node's path, rendered only for error messages.
  std::string Where() const { return path_.ToString(); }

  const format::TreeIndex& index_;
  const std::string& file_;
  KeyPath path_;
};

}  // namespace

absl::Status ValidateDictKey(absl::string_view key, const KeyPath& path) {
  if (key.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("empty dict key at ", path.ToString()));
  }
  if (key == "." || key == ".." || key.find('/') != absl::string_view::npos ||
      key.find('\0') != absl::string_view::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("dict key at ", path.ToString(),
                     " is not allowed: keys may not be '.', '..' or contain '/' or NUL"));
  }
  return absl::OkStatus();
}

absl::Status ValidateTreeIndex(const format::TreeIndex& index, const std::string& file) {
  if (index.format_version() < kFirstTreeFormatVersion ||
      index.format_version() > kTreeFormatVersion) {
    return Corrupt(
        file, absl::StrCat("unknown format version ", index.format_version(), " in the index"));
  }
  if (index.layout() != format::LAYOUT_AGGREGATED && index.layout() != format::LAYOUT_PER_LEAF) {
    return Corrupt(file, "unknown layout");
  }
  if (index.process_count() == 0) return Corrupt(file, "process count is zero");
  absl::flat_hash_set<absl::string_view> names;
  for (const format::DataFile& data_file : index.data_files()) {
    if (!IsPlainFileName(data_file.name())) {
      return Corrupt(file, absl::StrCat("data file name '", absl::CHexEscape(data_file.name()),
                                        "' is not a plain file name"));
    }
    if (!names.insert(data_file.name()).second) {
      return Corrupt(file, absl::StrCat("data file ", data_file.name(), " is listed twice"));
    }
    if (data_file.process_index() >= index.process_count()) {
      return Corrupt(file, absl::StrCat("data file ", data_file.name(), " of an unknown process"));
    }
  }
  if (!index.custom_metadata_json().empty()) {
    absl::Status custom =
        ParseJsonFromDisk(index.custom_metadata_json(), "its custom metadata").status();
    if (!custom.ok()) return Corrupt(file, custom.message());
  }
  if (!index.has_root()) return Corrupt(file, "no root node");
  return IndexValidator(index, file).Node(index.root());
}

namespace {

std::string IndexTempPath(const std::string& dir) {
  return JoinPath(dir, std::string(kTreeIndexFileName) + ".tmp");
}

}  // namespace

absl::Status WriteIndexFile(Filesystem& fs, const std::string& dir, const format::TreeIndex& index,
                            bool sync) {
  CAIRN_RETURN_IF_ERROR(StageIndexFile(fs, dir, index, sync));
  return PublishIndexFile(fs, dir, sync);
}

absl::Status StageIndexFile(Filesystem& fs, const std::string& dir, const format::TreeIndex& index,
                            bool sync) {
  // Serialised straight behind its header, into a kept huge-page block never zeroed
  // (utils/large_block_allocator.h): the index of 100,000 leaves is 5.4 MB, and a string for
  // the payload and another for the file cost a zeroing, a copy and the page faults of both.
  const size_t payload_size = index.ByteSizeLong();
  if (payload_size > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return absl::InternalError(absl::StrCat("cannot serialise the index for ", dir, ": its ",
                                            payload_size, " bytes pass protobuf's 2 GiB limit"));
  }
  const size_t size = kIndexHeaderSize + payload_size;
  struct Release {
    size_t size;
    void operator()(char* block) const { LargeBlockAllocator<char>().deallocate(block, size); }
  };
  const std::unique_ptr<char, Release> contents(LargeBlockAllocator<char>().allocate(size),
                                                Release{size});
  char* const payload = contents.get() + kIndexHeaderSize;
  index.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(payload));
  std::memset(contents.get(), 0, kIndexHeaderSize);
  std::memcpy(contents.get(), kMagic, sizeof(kMagic));
  PutU32(contents.get() + 8, index.format_version());
  PutU32(contents.get() + 12, 0);  // flags, reserved
  PutU64(contents.get() + 16, payload_size);
  PutU64(contents.get() + 24, Checksum64(payload, payload_size));
  PutU64(contents.get() + 32, Checksum64(contents.get(), 32));
  return WriteStringToFile(fs, IndexTempPath(dir), absl::string_view(contents.get(), size), sync);
}

absl::Status PublishIndexFile(Filesystem& fs, const std::string& dir, bool sync) {
  CAIRN_RETURN_IF_ERROR(fs.Rename(IndexTempPath(dir), JoinPath(dir, kTreeIndexFileName)));
  if (sync) CAIRN_RETURN_IF_ERROR(fs.SyncDir(dir));
  return absl::OkStatus();
}

namespace {

// An index file whose header and payload checksums were checked, not yet parsed.
struct CheckedIndex {
  std::string path;
  std::string contents;  // header and payload
  uint32_t version = 0;

  absl::string_view payload() const { return absl::string_view(contents).substr(kIndexHeaderSize); }
};

absl::StatusOr<CheckedIndex> ReadCheckedIndex(Filesystem& fs, const std::string& dir,
                                              uint64_t max_bytes) {
  CheckedIndex checked;
  checked.path = JoinPath(dir, kTreeIndexFileName);
  const std::string& path = checked.path;
  CAIRN_ASSIGN_OR_RETURN(checked.contents,
                         ReadFileToString(fs, path, max_bytes + kIndexHeaderSize));
  const std::string& contents = checked.contents;
  if (contents.size() < kIndexHeaderSize) {
    return Corrupt(path, absl::StrCat("the file has ", contents.size(),
                                      " bytes, fewer than its header's ", kIndexHeaderSize));
  }
  if (std::memcmp(contents.data(), kMagic, sizeof(kMagic)) != 0) {
    return Corrupt(path, "it does not start with the cairn index magic");
  }
  if (GetU64(&contents[32]) != Checksum64(contents.data(), 32)) {
    return Corrupt(path, "header checksum mismatch");
  }
  checked.version = GetU32(&contents[8]);
  if (checked.version > kTreeFormatVersion || checked.version == 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        path, " has format version ", checked.version, "; this build of cairn reads versions 1 to ",
        kTreeFormatVersion, ": upgrade cairn to read it"));
  }
  const uint64_t payload_size = GetU64(&contents[16]);
  if (payload_size != contents.size() - kIndexHeaderSize) {
    return Corrupt(path, absl::StrCat("the header announces ", payload_size,
                                      " payload bytes but the file holds ",
                                      contents.size() - kIndexHeaderSize, " (truncated?)"));
  }
  if (payload_size > static_cast<uint64_t>(INT32_MAX)) {
    return Corrupt(path, "the payload is larger than 2 GiB");
  }
  if (GetU64(&contents[24]) != Checksum64(checked.payload())) {
    return Corrupt(path, "payload checksum mismatch");
  }
  return checked;
}

uint64_t CountChunks(const format::Node& node) {
  uint64_t n = 0;
  switch (node.kind_case()) {
    case format::Node::kDict:
      for (const format::Node& child : node.dict().values()) n += CountChunks(child);
      break;
    case format::Node::kList:
      for (const format::Node& child : node.list().items()) n += CountChunks(child);
      break;
    case format::Node::kTuple:
      for (const format::Node& child : node.tuple().items()) n += CountChunks(child);
      break;
    case format::Node::kArray:
      for (const format::Shard& shard : node.array().shards()) n += shard.chunks_size();
      break;
    default:
      break;
  }
  return n;
}

absl::StatusOr<std::unique_ptr<ParsedIndex>> ParseCheckedIndex(const CheckedIndex& checked) {
  const std::string& path = checked.path;
  const absl::string_view payload_view = checked.payload();
  const uint64_t payload_size = payload_view.size();
  const std::optional<uint64_t> parse_bytes =
      EstimateIndexParseBytes(payload_view, kProtoRecursionLimit);
  if (!parse_bytes.has_value()) return Corrupt(path, "the payload does not parse");
  if (*parse_bytes > kParseBytesPerIndexByte * payload_size + kParseSlackBytes) {
    return Corrupt(path,
                   absl::StrCat("parsing its ", payload_size, " bytes would take ", *parse_bytes,
                                " bytes of memory, more than ", kParseBytesPerIndexByte,
                                " times its size plus 64 MiB: it holds more entries "
                                "than an index of its size can"));
  }
  auto parsed = std::make_unique<ParsedIndex>();
  parsed->index = google::protobuf::Arena::CreateMessage<format::TreeIndex>(&parsed->arena);
  google::protobuf::io::ArrayInputStream stream(payload_view.data(),
                                                static_cast<int>(payload_size));
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetRecursionLimit(kProtoRecursionLimit);
  if (!parsed->index->ParseFromCodedStream(&coded) || !coded.ConsumedEntireMessage()) {
    return Corrupt(path, "the payload does not parse");
  }
  if (parsed->index->format_version() != checked.version) {
    return Corrupt(path, absl::StrCat("format version ", parsed->index->format_version(),
                                      " in the index differs from its header's ", checked.version));
  }
  CAIRN_RETURN_IF_ERROR(ValidateTreeIndex(*parsed->index, path));
  parsed->num_chunks = CountChunks(parsed->index->root());
  return parsed;
}

// The indexes parsed last, by their payload: a load of one array out of a 100,000-leaf tree
// spends almost all its time parsing and validating the index, which repeated loads of one step
// (a server loading arrays on demand, an evaluation walking the leaves) would otherwise redo.
// An entry serves only a payload equal byte for byte, read and checksummed anew each time, so a
// step replaced under the same path is parsed afresh.
class IndexCache {
 public:
  std::shared_ptr<const ParsedIndex> Find(absl::string_view payload) {
    absl::MutexLock lock(&mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->payload == payload) {
        entries_.splice(entries_.begin(), entries_, it);  // most recently used first
        return entries_.front().parsed;
      }
    }
    return nullptr;
  }

  void Insert(absl::string_view payload, std::shared_ptr<const ParsedIndex> parsed) {
    if (payload.size() < kMinPayloadBytes || payload.size() > kMaxPayloadBytes) return;
    absl::MutexLock lock(&mu_);
    entries_.push_front(Entry{std::string(payload), std::move(parsed)});
    bytes_ += payload.size();
    while (entries_.size() > kMaxEntries || bytes_ > kMaxPayloadBytes) {
      bytes_ -= entries_.back().payload.size();
      entries_.pop_back();
    }
  }

 private:
  // Smaller indexes parse in well under a millisecond; the bound on the payloads kept also
  // bounds the parsed indexes, at most kParseBytesPerIndexByte times as large.
  static constexpr size_t kMinPayloadBytes = 64 << 10;
  static constexpr size_t kMaxPayloadBytes = 32 << 20;
  static constexpr size_t kMaxEntries = 4;

  struct Entry {
    std::string payload;
    std::shared_ptr<const ParsedIndex> parsed;
  };
  absl::Mutex mu_;
  std::list<Entry> entries_ ABSL_GUARDED_BY(mu_);
  size_t bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

IndexCache& SharedIndexCache() {
  static IndexCache* cache = new IndexCache();
  return *cache;
}

}  // namespace

absl::StatusOr<std::unique_ptr<ParsedIndex>> ReadIndexFile(Filesystem& fs, const std::string& dir,
                                                           uint64_t max_bytes) {
  CAIRN_ASSIGN_OR_RETURN(const CheckedIndex checked, ReadCheckedIndex(fs, dir, max_bytes));
  return ParseCheckedIndex(checked);
}

absl::StatusOr<std::shared_ptr<const ParsedIndex>> ReadIndexFileCached(Filesystem& fs,
                                                                       const std::string& dir,
                                                                       uint64_t max_bytes) {
  CAIRN_ASSIGN_OR_RETURN(const CheckedIndex checked, ReadCheckedIndex(fs, dir, max_bytes));
  if (std::shared_ptr<const ParsedIndex> cached = SharedIndexCache().Find(checked.payload())) {
    return cached;
  }
  CAIRN_ASSIGN_OR_RETURN(std::shared_ptr<const ParsedIndex> parsed, ParseCheckedIndex(checked));
  SharedIndexCache().Insert(checked.payload(), parsed);
  return parsed;
}

}  // namespace cairn
