// The zarr v3 writer, read back through the zarr reader (storage/zarr/zarr_array.h): every dtype
// with and without zstd, scalars, empty arrays, many inner chunks with edges, regions written
// by separate processes, the golden Orbax arrays re-encoded byte for byte, and the key-value
// sinks' errors.
#include "cairn/storage/zarr/zarr_writer.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/zarr/key_value_sink.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "cairn/utils/fault_injection_filesystem.h"
#include "cairn/utils/memory_filesystem.h"
#include "cairn/utils/thread_pool.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/support/ocdbt_golden.h"
#include "tests/support/trees.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr DType kEveryDType[] = {
    DType::kBool,         DType::kInt8,      DType::kInt16,   DType::kInt32,     DType::kInt64,
    DType::kUInt8,        DType::kUInt16,    DType::kUInt32,  DType::kUInt64,    DType::kFloat16,
    DType::kBFloat16,     DType::kFloat32,   DType::kFloat64, DType::kComplex64, DType::kComplex128,
    DType::kFloat8E4M3FN, DType::kFloat8E5M2};

std::string Bytes(const Array& array) {
  return std::string(static_cast<const char*>(array.data()), array.byte_size());
}

std::unique_ptr<ZarrArray> Open(const InMemoryKeyValueSink& sink, const std::string& prefix) {
  auto array = ZarrArray::Open(sink.AsSource(), prefix);
  EXPECT_TRUE(array.ok()) << array.status();
  return array.ok() ? *std::move(array) : nullptr;
}

// Writes `array`, reads it back whole, and returns the reader for its metadata.
std::unique_ptr<ZarrArray> ExpectRoundTrip(const Array& array, const Zarr3WriteOptions& options) {
  InMemoryKeyValueSink sink;
  absl::Status written = WriteZarr3Array(sink, "p", array, options);
  EXPECT_TRUE(written.ok()) << written;
  auto reader = Open(sink, "p/");
  if (reader == nullptr) return nullptr;
  auto values = reader->ReadAll();
  EXPECT_TRUE(values.ok()) << values.status();
  if (values.ok()) {
    EXPECT_EQ(values->dtype(), array.dtype());
    EXPECT_EQ(values->shape(), array.shape());
    EXPECT_EQ(Bytes(*values), Bytes(array));
  }
  return reader;
}

Zarr3WriteOptions WithCompression(Zarr3Compression compression) {
  Zarr3WriteOptions options;
  options.compression = compression;
  return options;
}

TEST(ZarrWriterTest, EveryDTypeRoundTripsWithEitherCodec) {
  for (Zarr3Compression compression : {Zarr3Compression::kZstd, Zarr3Compression::kNone}) {
    for (DType dtype : kEveryDType) {
      SCOPED_TRACE(DTypeName(dtype));
      auto reader =
          ExpectRoundTrip(testing::RandomBytes(dtype, {5, 3}, 7), WithCompression(compression));
      ASSERT_NE(reader, nullptr);
      EXPECT_EQ(reader->metadata().codecs, compression == Zarr3Compression::kZstd
                                               ? "sharding_indexed(bytes,zstd)"
                                               : "sharding_indexed(bytes)");
      EXPECT_EQ(reader->metadata().fill_value, std::string(DTypeSize(dtype), '\0'));
    }
  }
}

TEST(ZarrWriterTest, ScalarIsOneShardUnderKeyC) {
  InMemoryKeyValueSink sink;
  Array scalar = Array::Allocate(DType::kFloat64, {}).value();
  scalar.mutable_values<double>()[0] = 2.5;
  ASSERT_TRUE(WriteZarr3Array(sink, "s", scalar).ok());
  const auto values = sink.values();
  EXPECT_EQ(values.size(), 2u);
  EXPECT_EQ(values.count("s/c"), 1u);
  auto reader = Open(sink, "s/");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->metadata().shape, Shape{});
  auto read = reader->ReadAll();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->values<double>(), ElementsAre(2.5));
}

TEST(ZarrWriterTest, EmptyArrayWritesOnlyItsMetadata) {
  InMemoryKeyValueSink sink;
  ASSERT_TRUE(WriteZarr3Array(sink, "e", Array::Allocate(DType::kFloat32, {0, 4}).value()).ok());
  EXPECT_EQ(sink.values().size(), 1u);
  auto reader = Open(sink, "e/");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->metadata().shape, (Shape{0, 4}));
  EXPECT_EQ(reader->metadata().chunk_shape, (Shape{1, 4}));  // zarr has no empty chunks
  auto read = reader->ReadAll();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->shape(), (Shape{0, 4}));
}

TEST(ZarrWriterTest, ManyShardsAndInnerChunksWithEdges) {
  ThreadPool pool(3);
  for (Zarr3Compression compression : {Zarr3Compression::kZstd, Zarr3Compression::kNone}) {
    Zarr3WriteOptions options = WithCompression(compression);
    options.shard_shape = Shape{4, 6};
    options.inner_chunk_bytes = 2 * 6 * 4;  // (2, 6) of int32
    options.pool = &pool;
    options.parallelism = 4;
    // Rows 8 and 9 make an edge shard whose second inner chunk lies past the array.
    auto reader = ExpectRoundTrip(testing::RandomBytes(DType::kInt32, {10, 6}, 3), options);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->metadata().chunk_shape, (Shape{4, 6}));
    EXPECT_EQ(reader->metadata().inner_chunk_shape, (Shape{2, 6}));
  }
}

TEST(ZarrWriterTest, InnerChunksStridedThroughTheArray) {
  for (Zarr3Compression compression : {Zarr3Compression::kZstd, Zarr3Compression::kNone}) {
    Zarr3WriteOptions options = WithCompression(compression);
    options.inner_chunk_bytes = 6 * 4;
    // No dimension is sharded: the largest is halved first, then the next.
    auto reader = ExpectRoundTrip(testing::RandomBytes(DType::kInt32, {4, 6}, 4), options);
    ASSERT_NE(reader, nullptr);
    EXPECT_EQ(reader->metadata().inner_chunk_shape, (Shape{2, 3}));
  }
}

TEST(ZarrWriterTest, AShardAboveTheCeilingIsSplitWithoutATarget) {
  Zarr3WriteOptions options;
  options.max_inner_chunk_bytes = 64;
  auto reader = ExpectRoundTrip(testing::RandomBytes(DType::kFloat32, {8, 5}, 5), options);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->metadata().chunk_shape, (Shape{8, 5}));
  // The largest dimension shrinks to its next divisor until 16 elements fit: 8 to 4, then 5 to 1.
  EXPECT_EQ(reader->metadata().inner_chunk_shape, (Shape{4, 1}));
}

TEST(ZarrWriterTest, UncompressedWholeArrayShardIsItsBytesThenTheIndex) {
  InMemoryKeyValueSink sink;
  const Array array = testing::RandomBytes(DType::kUInt16, {3, 4}, 6);
  ASSERT_TRUE(WriteZarr3Array(sink, "u", array, WithCompression(Zarr3Compression::kNone)).ok());
  const std::string shard = sink.values().at("u/c/0/0");
  ASSERT_EQ(shard.size(), array.byte_size() + 16 + 4);
  EXPECT_EQ(shard.substr(0, array.byte_size()), Bytes(array));
}

TEST(ZarrWriterTest, ProcessesWriteTheirOwnRegions) {
  const Array whole = testing::RandomBytes(DType::kFloat32, {8, 6}, 9);
  InMemoryKeyValueSink sink;
  for (int64_t row : {0, 4}) {
    const char* begin = static_cast<const char*>(whole.data()) + row * 6 * 4;
    Array piece = Array::Borrow(DType::kFloat32, {4, 6}, begin);
    piece.set_placement(ShardPlacement{{8, 6}, {row, 0}});
    Zarr3WriteOptions options;
    options.write_metadata = row == 0;
    ASSERT_TRUE(WriteZarr3Array(sink, "w", piece, options).ok());
  }
  EXPECT_EQ(sink.values().size(), 3u);  // zarr.json, c/0/0, c/1/0
  auto reader = Open(sink, "w/");
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->metadata().shape, (Shape{8, 6}));
  EXPECT_EQ(reader->metadata().chunk_shape, (Shape{4, 6}));
  auto read = reader->ReadAll();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Bytes(*read), Bytes(whole));
}

TEST(ZarrWriterTest, RegionGivenInTheOptionsOverridesThePlacement) {
  InMemoryKeyValueSink sink;
  Zarr3WriteOptions options;
  options.global_shape = Shape{6};
  options.origin = Shape{3};
  ASSERT_TRUE(WriteZarr3Array(sink, "r", Array::FromValues<int32_t>({7, 8, 9}), options).ok());
  EXPECT_EQ(sink.values().count("r/c/1"), 1u);
  auto reader = Open(sink, "r/");
  ASSERT_NE(reader, nullptr);
  ZarrReadOptions lenient;
  lenient.every_chunk_stored = false;  // the first shard is another process's
  auto read = reader->ReadAll(lenient);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_THAT(read->values<int32_t>(), ElementsAre(0, 0, 0, 7, 8, 9));
}

TEST(ZarrWriterTest, RegionsThatDoNotHoldWholeShardsAreRefused) {
  InMemoryKeyValueSink sink;
  Zarr3WriteOptions options;
  options.global_shape = Shape{8};
  options.origin = Shape{2};
  options.shard_shape = Shape{4};
  auto status = WriteZarr3Array(sink, "x", Array::FromValues<int32_t>({1, 2, 3, 4}), options);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("whole shards"));
  options.origin = Shape{6};
  status = WriteZarr3Array(sink, "x", Array::FromValues<int32_t>({1, 2, 3, 4}), options);
  EXPECT_TRUE(absl::IsInvalidArgument(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("reaches outside"));
  EXPECT_TRUE(sink.values().empty());
}

TEST(ZarrWriterTest, GoldenArraysAreWrittenByteForByte) {
  if (ocdbt_test::GoldenRoot().empty()) GTEST_SKIP() << "golden files absent";
  auto reader = OcdbtReader::Open(ocdbt_test::PristineState("v1_checkpoints/composite_checkpoint"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  const std::map<std::string, std::vector<int32_t>> arrays = {{"a", {0, 1, 2, 3, 4, 5, 6, 7}},
                                                              {"b.c", {1, 2, 3}}};
  for (const auto& [name, values] : arrays) {
    SCOPED_TRACE(name);
    InMemoryKeyValueSink sink;
    ASSERT_TRUE(WriteZarr3Array(sink, name, Array::FromValues<int32_t>(values)).ok());
    EXPECT_EQ(sink.values().at(name + "/zarr.json"), (*reader)->Read(name + "/zarr.json").value());
    EXPECT_EQ(sink.values().at(name + "/c/0"), (*reader)->Read(name + "/c/0").value());
  }
}

TEST(ZarrWriterTest, DirectorySinkWritesFilesTheDirectorySourceReads) {
  MemoryFilesystem fs;
  DirectoryKeyValueSink sink(fs, "/ckpt/state", /*sync=*/true);
  const Array array = testing::RandomBytes(DType::kInt64, {6, 2}, 11);
  Zarr3WriteOptions options;
  options.shard_shape = Shape{2, 2};
  ASSERT_TRUE(WriteZarr3Array(sink, "params/w", array, options).ok());
  auto reader = ZarrArray::Open(DirectoryKeyValueSource(fs, "/ckpt/state"), "params/w/");
  ASSERT_TRUE(reader.ok()) << reader.status();
  auto read = (*reader)->ReadAll();
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(Bytes(*read), Bytes(array));
}

TEST(ZarrWriterTest, DirectorySinkRefusesKeysLeavingItsDirectory) {
  MemoryFilesystem fs;
  DirectoryKeyValueSink sink(fs, "/d", /*sync=*/false);
  for (const char* key : {"../x", "a//b", "a/./b", "", "a/"}) {
    const absl::Status status = sink.Put(key, "v");
    EXPECT_TRUE(absl::IsInvalidArgument(status)) << key << ": " << status;
  }
  EXPECT_FALSE(fs.Stat("/x").ok());
}

TEST(ZarrWriterTest, DirectorySinkSyncsFilesAndDirectoriesOnlyWhenAsked) {
  for (bool sync : {false, true}) {
    SCOPED_TRACE(sync);
    MemoryFilesystem memory;
    FaultInjectionFilesystem fs(&memory);
    DirectoryKeyValueSink sink(fs, "/d", sync);
    ASSERT_TRUE(sink.Put("a/b/c", "value").ok());
    EXPECT_EQ(fs.Count(FaultOp::kSync), sync ? 1 : 0);
    // The entries of /d, /d/a and /d/a/b in their parents, and of the file in /d/a/b.
    EXPECT_EQ(fs.Count(FaultOp::kSyncDir), sync ? 4 : 0);
    auto read = DirectoryKeyValueSource(memory, "/d")->Read("a/b/c");
    ASSERT_TRUE(read.ok()) << read.status();
    EXPECT_EQ(*read, "value");
  }
}

TEST(ZarrWriterTest, FailedWriteNamesTheKey) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  // Writes: zarr.json, then the shard's inner chunk and its index.
  fs.FailNth(FaultOp::kWrite, 1, absl::DataLossError("injected fault: I/O error"));
  DirectoryKeyValueSink sink(fs, "/d", /*sync=*/false);
  const absl::Status status =
      WriteZarr3Array(sink, "a", testing::RandomBytes(DType::kFloat32, {4}, 1));
  EXPECT_TRUE(absl::IsDataLoss(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("/d/a/c/0"));
}

TEST(ZarrWriterTest, FullDiskNamesTheKey) {
  MemoryFilesystem memory;
  FaultInjectionFilesystem fs(&memory);
  fs.LimitFreeSpace(600);
  DirectoryKeyValueSink sink(fs, "/d", /*sync=*/true);
  const absl::Status status =
      WriteZarr3Array(sink, "big", testing::RandomBytes(DType::kUInt8, {4096}, 2),
                      WithCompression(Zarr3Compression::kNone));
  EXPECT_TRUE(absl::IsResourceExhausted(status)) << status;
  EXPECT_THAT(status.message(), HasSubstr("/d/big/c/0"));
}

}  // namespace
}  // namespace cairn
