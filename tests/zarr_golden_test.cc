// The zarr layer on the real Orbax checkpoints (../shared/orbax-golden): v0 cases hold zarr v2
// arrays in OCDBT (zstd frames without a content size), v1 cases zarr v3 arrays sharded with a
// crc32c index and zstd. Every pristine array opens and reads back as Orbax wrote it.
#include <memory>
#include <string>
#include <vector>

#include "cairn/storage/ocdbt/ocdbt_reader.h"
#include "cairn/storage/zarr/key_value_source.h"
#include "cairn/storage/zarr/zarr_array.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/ocdbt_golden.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;

#define SKIP_WITHOUT_GOLDEN()                                                             \
  if (ocdbt_test::GoldenRoot().empty()) {                                                 \
    GTEST_SKIP() << "no ../shared/orbax-golden beside the checkout: golden files absent"; \
  }

std::shared_ptr<const KeyValueSource> OpenSource(const std::string& dir) {
  auto reader = OcdbtReader::Open(dir);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return nullptr;
  return OcdbtKeyValueSource(std::shared_ptr<const OcdbtReader>(*std::move(reader)));
}

void ExpectGoldenArrays(const std::string& dir, int format) {
  auto source = OpenSource(dir);
  ASSERT_NE(source, nullptr);
  auto a = ZarrArray::Open(source, "a/");
  ASSERT_TRUE(a.ok()) << a.status();
  const ZarrMetadata& meta = (*a)->metadata();
  EXPECT_EQ(meta.zarr_format, format);
  EXPECT_EQ(meta.dtype, DType::kInt32);
  EXPECT_EQ(meta.shape, Shape{8});
  EXPECT_EQ(meta.chunk_shape, Shape{8});
  EXPECT_TRUE(meta.compressed);
  if (format == 3) {
    EXPECT_EQ(meta.codecs, "sharding_indexed(bytes,zstd)");
    ASSERT_TRUE(meta.inner_chunk_shape.has_value());
    EXPECT_EQ(*meta.inner_chunk_shape, Shape{8});
  } else {
    EXPECT_EQ(meta.codecs, "zstd");
  }
  auto values = (*a)->ReadAll();
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_THAT(values->values<int32_t>(), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7));

  auto c = ZarrArray::Open(source, "b.c/");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ((*c)->metadata().shape, Shape{3});
  EXPECT_EQ((*c)->metadata().chunk_shape, Shape{3});
  auto c_values = (*c)->ReadAll();
  ASSERT_TRUE(c_values.ok()) << c_values.status();
  EXPECT_THAT(c_values->values<int32_t>(), ElementsAre(1, 2, 3));
  EXPECT_EQ((*c)->CountStoredElements({0}, {3}).value(), 3u);
}

TEST(ZarrGoldenTest, V0CheckpointsHoldZarrV2InOcdbt) {
  SKIP_WITHOUT_GOLDEN();
  for (const char* layout :
       {"v0_checkpoints/composite_checkpoint", "v0_checkpoints/direct_checkpoint"}) {
    SCOPED_TRACE(layout);
    ExpectGoldenArrays(ocdbt_test::PristineState(layout), 2);
  }
}

TEST(ZarrGoldenTest, V1CheckpointsHoldShardedZarrV3InOcdbt) {
  SKIP_WITHOUT_GOLDEN();
  ExpectGoldenArrays(ocdbt_test::PristineState("v1_checkpoints/composite_checkpoint"), 3);
}

TEST(ZarrGoldenTest, EveryDatabaseWithDataReadsBothArrays) {
  SKIP_WITHOUT_GOLDEN();
  int read = 0;
  for (const std::string& dir : ocdbt_test::GoldenDatabases()) {
    auto reader = OcdbtReader::Open(dir);
    if (!reader.ok()) continue;  // the cases that removed the data are the OCDBT tests' own
    std::shared_ptr<const KeyValueSource> source =
        OcdbtKeyValueSource(std::shared_ptr<const OcdbtReader>(*std::move(reader)));
    if (!source->Read("a/c/0").ok() && !source->Read("a/0").ok()) continue;
    SCOPED_TRACE(dir);
    for (const char* prefix : {"a/", "b.c/"}) {
      auto array = ZarrArray::Open(source, prefix);
      ASSERT_TRUE(array.ok()) << array.status();
      auto values = (*array)->ReadAll();
      ASSERT_TRUE(values.ok()) << values.status();
      ++read;
    }
  }
  EXPECT_GE(read, 60);
}

}  // namespace
}  // namespace cairn
