// Fuzzes the zarr layer: the input is a format byte (odd: zarr.json, even: .zarray), a metadata
// text up to the first NUL, and the bytes every chunk (and shard) key holds. Metadata that opens
// is planned and read over a small region, with a small chunk limit, through a source in memory.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"

namespace cairn::fuzz {
namespace {

// Every key but the metadata's holds the same chunk bytes.
class FuzzSource final : public KeyValueSource {
 public:
  FuzzSource(std::string metadata_key, std::string metadata, std::string chunk)
      : metadata_key_(std::move(metadata_key)),
        metadata_(std::move(metadata)),
        chunk_(std::move(chunk)) {}

  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    if (key == metadata_key_) return metadata_;
    if (key == "zarr.json" || key == ".zarray") return absl::NotFoundError("absent");
    return chunk_;
  }
  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    return std::vector<std::string>{metadata_key_, "0", "0.0", "c/0", "c/0/0", "c.1.0", "1/2"};
  }
  std::string Describe(absl::string_view key) const override { return absl::StrCat("fuzz:", key); }

 private:
  std::string metadata_key_, metadata_, chunk_;
};

void Run(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const std::string input(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t nul = input.find('\0');
  const std::string metadata = input.substr(0, nul);
  const std::string chunk = nul == input.npos ? "" : input.substr(nul + 1);
  auto source =
      std::make_shared<FuzzSource>(data[0] & 1 ? "zarr.json" : ".zarray", metadata, chunk);
  auto array = ZarrArray::Open(source, "");
  if (!array.ok()) return;
  const ZarrMetadata& meta = (*array)->metadata();
  // A region of at most 16 elements per dimension and 4096 in all, from the array's start.
  Shape region;
  uint64_t elements = 1;
  for (int64_t dim : meta.shape) {
    const int64_t extent = std::min<int64_t>({dim, 16, static_cast<int64_t>(4096 / elements)});
    region.push_back(std::max<int64_t>(extent, 0));
    elements *= std::max<int64_t>(extent, 1);
  }
  absl::StatusOr<Array> out = Array::Allocate(meta.dtype, region);
  if (!out.ok()) return;
  ZarrReadOptions options;
  options.max_chunk_bytes = 1 << 20;
  options.every_chunk_stored = (data[0] & 2) != 0;
  options.saturate_casts = (data[0] & 4) != 0;
  std::vector<ZarrChunkRead> reads;
  if (!(*array)->Plan(Shape(region.size(), 0), *out, options, "fuzz", &reads).ok()) return;
  for (size_t i = 0; i < reads.size() && i < 64; ++i) {
    (*array)->Execute(reads[i]).IgnoreError();
  }
  (*array)->CountStoredElements(Shape(region.size(), 0), region).status().IgnoreError();
}

}  // namespace
}  // namespace cairn::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  cairn::fuzz::Run(data, size);
  return 0;
}
