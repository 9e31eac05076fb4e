// Ranged reads of OCDBT values (OcdbtReader::ReadRange, ValueSize), which the zarr layer uses to
// read a shard's index without the shard: only the requested bytes of an out-of-line value are
// read from its data file, so one inner chunk costs its index and its own bytes.
#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/forwarding_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_encoder.h"
#include "tests/support/zarr_fixtures.h"

namespace cairn {
namespace {

using ocdbt_test::DatabaseBuilder;
using ::testing::HasSubstr;

constexpr char kDir[] = "/db";

// Counts the bytes read from files opened through it.
class ByteCountingFilesystem final : public ForwardingFilesystem {
 public:
  using ForwardingFilesystem::ForwardingFilesystem;
  uint64_t bytes() const { return bytes_.load(); }
  void Reset() { bytes_ = 0; }

  absl::StatusOr<std::unique_ptr<ReadableFile>> NewReadableFile(const std::string& path) override {
    auto file = ForwardingFilesystem::NewReadableFile(path);
    if (!file.ok()) return file.status();
    return std::unique_ptr<ReadableFile>(new File(*std::move(file), &bytes_));
  }

 private:
  class File final : public ReadableFile {
   public:
    File(std::unique_ptr<ReadableFile> inner, std::atomic<uint64_t>* bytes)
        : inner_(std::move(inner)), bytes_(bytes) {}
    absl::StatusOr<size_t> ReadAt(uint64_t offset, size_t n, char* scratch) const override {
      auto got = inner_->ReadAt(offset, n, scratch);
      if (got.ok()) *bytes_ += *got;
      return got;
    }
    absl::StatusOr<uint64_t> Size() const override { return inner_->Size(); }
    const std::string& path() const override { return inner_->path(); }

   private:
    std::unique_ptr<ReadableFile> inner_;
    std::atomic<uint64_t>* bytes_;
  };
  std::atomic<uint64_t> bytes_{0};
};

class ZarrOcdbtRangeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    OcdbtConfig config;
    config.max_inline_value_bytes = 16;
    config.max_decoded_node_bytes = 1 << 20;
    config.version_tree_arity_log2 = 4;
    DatabaseBuilder db(kDir, config);
    for (int i = 0; i < 200000; ++i) big_.push_back(static_cast<char>('a' + i % 23));
    kvs_ = {{"p/c/0", big_}, {"p/zarr.json", "{}"}, {"small", "0123456789"}};
    db.WriteManifest({DatabaseBuilder::Version(1, db.BuildTree(kvs_, 4), 1)});
    ASSERT_TRUE(db.Flush(fs_).ok());
  }

  std::unique_ptr<OcdbtReader> Open(Filesystem* fs) {
    OcdbtReaderOptions options;
    options.filesystem = fs;
    auto reader = OcdbtReader::Open(kDir, options);
    EXPECT_TRUE(reader.ok()) << reader.status();
    return reader.ok() ? *std::move(reader) : nullptr;
  }

  MemoryFilesystem fs_;
  std::string big_;
  std::map<std::string, std::string> kvs_;
};

TEST_F(ZarrOcdbtRangeTest, OutOfLineRangeReadsOnlyItsBytes) {
  ByteCountingFilesystem counting(&fs_);
  auto reader = Open(&counting);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->Read("small").ok());  // brings the tree's nodes into the cache
  counting.Reset();
  auto tail = reader->ReadRange("p/c/0", big_.size() - 100, 100);
  ASSERT_TRUE(tail.ok()) << tail.status();
  EXPECT_EQ(*tail, big_.substr(big_.size() - 100));
  EXPECT_EQ(counting.bytes(), 100u);
  EXPECT_EQ(reader->ValueSize("p/c/0").value(), big_.size());
}

TEST_F(ZarrOcdbtRangeTest, InlineValuesAndEmptyRanges) {
  auto reader = Open(&fs_);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->ReadRange("small", 3, 4).value(), "3456");
  EXPECT_EQ(reader->ReadRange("small", 10, 0).value(), "");
  EXPECT_EQ(reader->ValueSize("small").value(), 10u);
  EXPECT_EQ(reader->ReadRange("p/c/0", 5, 0).value(), "");
}

TEST_F(ZarrOcdbtRangeTest, RangesPastTheEndAreOutOfRange) {
  auto reader = Open(&fs_);
  ASSERT_NE(reader, nullptr);
  for (auto [offset, length] : std::vector<std::pair<uint64_t, uint64_t>>{
           {8, 3}, {11, 0}, {UINT64_MAX, 1}, {1, UINT64_MAX}}) {
    auto got = reader->ReadRange("small", offset, length);
    EXPECT_TRUE(absl::IsOutOfRange(got.status())) << got.status();
    EXPECT_THAT(got.status().message(), HasSubstr("\"small\""));
  }
  auto got = reader->ReadRange("p/c/0", big_.size(), 1);
  EXPECT_TRUE(absl::IsOutOfRange(got.status())) << got.status();
  EXPECT_TRUE(absl::IsNotFound(reader->ReadRange("absent", 0, 0).status()));
  EXPECT_TRUE(absl::IsNotFound(reader->ValueSize("absent").status()));
}

TEST_F(ZarrOcdbtRangeTest, KeyValueSourceRangesFromEitherEnd) {
  std::shared_ptr<const OcdbtReader> reader = Open(&fs_);
  ASSERT_NE(reader, nullptr);
  auto source = OcdbtKeyValueSource(reader);
  EXPECT_EQ(source->ReadRange("p/c/0", 16, 16, /*from_end=*/true).value(),
            big_.substr(big_.size() - 16, 16));
  EXPECT_EQ(source->ReadRange("p/c/0", 10, KeyValueSource::kToEnd, /*from_end=*/false).value(),
            big_.substr(10));
  EXPECT_EQ(source->ReadRange("small", 4, KeyValueSource::kToEnd, /*from_end=*/true).value(),
            "6789");
  EXPECT_TRUE(absl::IsOutOfRange(source->ReadRange("small", 11, 1, true).status()));
  EXPECT_EQ(source->Read("p/zarr.json").value(), "{}");
  EXPECT_TRUE(absl::IsNotFound(source->Read("p/.zarray").status()));
  EXPECT_EQ(source->List("p/").value(), (std::vector<std::string>{"p/c/0", "p/zarr.json"}));
  EXPECT_THAT(source->Describe("p/c/0"), HasSubstr("/db"));
  EXPECT_THAT(source->Describe("p/c/0"), HasSubstr("p/c/0"));
}

TEST_F(ZarrOcdbtRangeTest, RangesReadIntoCallerMemory) {
  ByteCountingFilesystem counting(&fs_);
  std::shared_ptr<const OcdbtReader> reader = Open(&counting);
  ASSERT_NE(reader, nullptr);
  ASSERT_TRUE(reader->Read("small").ok());  // brings the tree's nodes into the cache
  counting.Reset();
  std::string out(300, '-');
  ASSERT_TRUE(reader->ReadRangeInto("p/c/0", 1000, 300, out.data()).ok());
  EXPECT_EQ(out, big_.substr(1000, 300));
  EXPECT_EQ(counting.bytes(), 300u);
  ASSERT_TRUE(reader->ReadRangeInto("small", 2, 3, out.data()).ok());
  EXPECT_EQ(out.substr(0, 4), "234" + big_.substr(1003, 1));
  EXPECT_TRUE(reader->ReadRangeInto("small", 10, 0, nullptr).ok());
  auto past = reader->ReadRangeInto("p/c/0", big_.size() - 1, 2, out.data());
  EXPECT_TRUE(absl::IsOutOfRange(past)) << past;
  EXPECT_THAT(past.message(), HasSubstr("\"p/c/0\""));
  EXPECT_TRUE(absl::IsOutOfRange(reader->ReadRangeInto("small", 1, UINT64_MAX, out.data())));
  EXPECT_TRUE(absl::IsNotFound(reader->ReadRangeInto("absent", 0, 0, out.data())));

  // Every source: OCDBT, files below a directory, and memory (the default, through ReadRange).
  MemoryFilesystem files;
  ASSERT_TRUE(files.CreateDir("/dir").ok());
  {
    auto file = files.NewWritableFile("/dir/small");
    ASSERT_TRUE(file.ok());
    ASSERT_TRUE((*file)->Append("0123456789").ok());
    ASSERT_TRUE((*file)->Close().ok());
  }
  std::vector<std::shared_ptr<const KeyValueSource>> sources = {
      OcdbtKeyValueSource(reader), DirectoryKeyValueSource(files, "/dir"),
      InMemoryKeyValueSource({{"small", "0123456789"}})};
  for (const auto& source : sources) {
    SCOPED_TRACE(source->Describe("small"));
    std::string got(4, '-');
    ASSERT_TRUE(source->ReadRangeInto("small", 6, 4, got.data()).ok());
    EXPECT_EQ(got, "6789");
    EXPECT_TRUE(absl::IsOutOfRange(source->ReadRangeInto("small", 7, 4, got.data())));
    EXPECT_TRUE(absl::IsNotFound(source->ReadRangeInto("absent", 0, 1, got.data())));
  }
}

// Forwards to another source and records where ReadRangeInto was asked to write.
class RecordingSource final : public KeyValueSource {
 public:
  explicit RecordingSource(std::shared_ptr<const KeyValueSource> inner)
      : inner_(std::move(inner)) {}
  absl::StatusOr<std::string> Read(absl::string_view key) const override {
    return inner_->Read(key);
  }
  absl::StatusOr<uint64_t> ValueSize(absl::string_view key) const override {
    return inner_->ValueSize(key);
  }
  absl::StatusOr<std::string> ReadRange(absl::string_view key, uint64_t offset, uint64_t length,
                                        bool from_end) const override {
    return inner_->ReadRange(key, offset, length, from_end);
  }
  absl::Status ReadRangeInto(absl::string_view key, uint64_t offset, uint64_t length,
                             char* out) const override {
    targets.push_back(out);
    return inner_->ReadRangeInto(key, offset, length, out);
  }
  absl::StatusOr<std::vector<std::string>> List(absl::string_view prefix) const override {
    return inner_->List(prefix);
  }
  std::string Describe(absl::string_view key) const override { return inner_->Describe(key); }

  mutable std::vector<const char*> targets;  // single-threaded use only

 private:
  std::shared_ptr<const KeyValueSource> inner_;
};

TEST(ZarrOcdbtShardTest, WholeRawInnerChunksAreReadStraightIntoTheDestination) {
  // A (16, 8) int32 array in one shard of (4, 8) inner chunks, uncompressed: each inner chunk
  // is a run of whole rows, contiguous in a destination of the array's width.
  const nlohmann::json meta =
      zarr_test::ArrayJson(DType::kInt32, {16, 8}, {16, 8},
                           nlohmann::json::array({zarr_test::ShardingCodec(
                               {4, 8}, nlohmann::json::array({zarr_test::BytesCodecs()[0]}))}));
  auto recording = std::make_shared<RecordingSource>(
      zarr_test::MemorySource(zarr_test::VectorArrayKeys(meta, DType::kInt32, "w/")));
  auto array = ZarrArray::Open(recording, "w/");
  ASSERT_TRUE(array.ok()) << array.status();
  auto whole = (*array)->ReadAll();
  ASSERT_TRUE(whole.ok()) << whole.status();
  const char* base = static_cast<const char*>(whole->data());
  EXPECT_EQ(recording->targets,
            (std::vector<const char*>{base, base + 128, base + 256, base + 384}));

  // Rows 4..11 into an (8, 8) destination: both inner chunks land in it directly. Columns
  // 0..3 of every row are not contiguous: those go through scratch memory.
  for (const auto& [origin, shape, direct] : std::vector<std::tuple<Shape, Shape, bool>>{
           {{4, 0}, {8, 8}, true}, {{4, 0}, {8, 4}, false}}) {
    recording->targets.clear();
    Array out = Array::Allocate(DType::kInt32, shape).value();
    std::vector<ZarrChunkRead> reads;
    ASSERT_TRUE((*array)->Plan(origin, out, {}, "w", &reads).ok());
    for (const auto& read : reads) ASSERT_TRUE((*array)->Execute(read).ok());
    const char* data = static_cast<const char*>(out.data());
    ASSERT_EQ(recording->targets.size(), 2u);
    EXPECT_EQ(recording->targets[0] == data, direct);
    for (int64_t r = 0; r < shape[0]; ++r) {
      for (int64_t c = 0; c < shape[1]; ++c) {
        EXPECT_EQ(out.values<int32_t>()[r * shape[1] + c],
                  whole->values<int32_t>()[(r + origin[0]) * 8 + c]);
      }
    }
  }
}

TEST(ZarrOcdbtShardTest, OneInnerChunkReadsTheIndexAndThatChunkOnly) {
  // A (64, 64) float64 array in one shard of (8, 8) inner chunks, stored out of line.
  const nlohmann::json meta =
      zarr_test::ArrayJson(DType::kFloat64, {64, 64}, {64, 64},
                           nlohmann::json::array({zarr_test::ShardingCodec(
                               {8, 8}, nlohmann::json::array({zarr_test::BytesCodecs()[0]}))}));
  const auto keys = zarr_test::VectorArrayKeys(meta, DType::kFloat64, "w/");
  MemoryFilesystem fs;
  OcdbtConfig config;
  config.max_inline_value_bytes = 16;
  config.max_decoded_node_bytes = 1 << 20;
  config.version_tree_arity_log2 = 4;
  DatabaseBuilder db(kDir, config);
  db.WriteManifest({DatabaseBuilder::Version(1, db.BuildTree(keys, 4), 1)});
  ASSERT_TRUE(db.Flush(fs).ok());

  ByteCountingFilesystem counting(&fs);
  OcdbtReaderOptions options;
  options.filesystem = &counting;
  std::shared_ptr<const OcdbtReader> reader = OcdbtReader::Open(kDir, options).value();
  auto array = ZarrArray::Open(OcdbtKeyValueSource(reader), "w/");
  ASSERT_TRUE(array.ok()) << array.status();
  ASSERT_TRUE(reader->ValueSize("w/c/0/0").ok());  // the lookup's nodes are cached now
  counting.Reset();
  Array out = Array::Allocate(DType::kFloat64, {2, 2}).value();
  std::vector<ZarrChunkRead> reads;
  ASSERT_TRUE((*array)->Plan({9, 9}, out, {}, "w", &reads).ok());
  ASSERT_EQ(reads.size(), 1u);
  ASSERT_TRUE((*array)->Execute(reads[0]).ok());
  const uint64_t index = 64 * 16 + 4, chunk = 8 * 8 * 8;
  EXPECT_EQ(counting.bytes(), index + chunk);
  EXPECT_LT(counting.bytes(), keys.at("w/c/0/0").size() / 10);
  EXPECT_EQ(out.values<double>()[0], (9 * 64 + 9) * 0.25 - 3);
}

}  // namespace
}  // namespace cairn
