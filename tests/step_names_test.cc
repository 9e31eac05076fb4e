// NameFormat spellings and the listing of committed steps under a root.
#include <filesystem>

#include "cairn/steps/checkpoint.h"
#include "cairn/steps/name_format.h"
#include "cairn/steps/step_listing.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;
using testing::TempDir;

TEST(NameFormat, Plain) {
  auto format = NameFormat::Plain();
  EXPECT_EQ(format->Build(123), "123");
  EXPECT_THAT(format->Parse("123"), Optional(123));
  EXPECT_THAT(format->Parse("0"), Optional(0));
  for (const char* bad : {"0123", "-1", "+1", "12a", "", "step_1", "99999999999999999999"}) {
    EXPECT_EQ(format->Parse(bad), std::nullopt) << bad;
  }
}

TEST(NameFormat, Prefixed) {
  auto format = NameFormat::Prefixed("step");
  EXPECT_EQ(format->Build(7), "step_7");
  EXPECT_THAT(format->Parse("step_7"), Optional(7));
  EXPECT_EQ(format->Parse("7"), std::nullopt);
  EXPECT_EQ(format->Parse("step_07"), std::nullopt);
  EXPECT_EQ(format->Parse("stepx_7"), std::nullopt);
}

TEST(NameFormat, FixedLengthWithAndWithoutPrefix) {
  auto padded = NameFormat::FixedLength(6);
  EXPECT_EQ(padded->Build(123), "000123");
  EXPECT_EQ(padded->Build(1234567), "1234567");
  EXPECT_THAT(padded->Parse("000123"), Optional(123));
  EXPECT_THAT(padded->Parse("1234567"), Optional(1234567));
  EXPECT_EQ(padded->Parse("123"), std::nullopt);
  EXPECT_EQ(padded->Parse("0001234"), std::nullopt);
  auto both = NameFormat::FixedLength(4, "ckpt");
  EXPECT_EQ(both->Build(5), "ckpt_0005");
  EXPECT_THAT(both->Parse("ckpt_0005"), Optional(5));
}

TEST(NameFormat, AnyOfReadsSeveralSpellingsAndWritesOne) {
  auto format = NameFormat::AnyOf(NameFormat::Prefixed("step"), {NameFormat::Plain()});
  EXPECT_EQ(format->Build(3), "step_3");
  EXPECT_THAT(format->Parse("step_3"), Optional(3));
  EXPECT_THAT(format->Parse("4"), Optional(4));
}

// A user's own scheme: "e<epoch>-<step>", where only the step counts.
class EpochFormat : public NameFormat {
 public:
  std::string Build(int64_t step) const override {
    return "e" + std::to_string(step / 100) + "-" + std::to_string(step);
  }
  std::optional<int64_t> Parse(absl::string_view name) const override {
    const size_t dash = name.find('-');
    if (name.empty() || name[0] != 'e' || dash == absl::string_view::npos) return std::nullopt;
    return NameFormat::Plain()->Parse(name.substr(dash + 1));
  }
};

TEST(StepListing, FindsCommittedStepsAndIgnoresEverythingElse) {
  TempDir tmp;
  auto format = NameFormat::Prefixed("step");
  for (int step : {10, 2, 30}) {
    ASSERT_TRUE(Save(StepPath(tmp.path(), step, *format), Tree::Int(step)).ok());
  }
  std::filesystem::create_directories(tmp.Join("step_40.cairn-tmp.1.2.host"));
  std::filesystem::create_directories(tmp.Join("unrelated"));
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("step_50"), "a file", false).ok());
  StepListingOptions options;
  options.name_format = format;
  EXPECT_THAT(*ListSteps(tmp.path(), options), ElementsAre(2, 10, 30));
}

TEST(StepListing, UserFormat) {
  TempDir tmp;
  auto format = std::make_shared<EpochFormat>();
  ASSERT_TRUE(Save(StepPath(tmp.path(), 250, *format), Tree::Int(1)).ok());
  EXPECT_TRUE(std::filesystem::exists(tmp.Join("e2-250")));
  StepListingOptions options;
  options.name_format = format;
  EXPECT_THAT(*ListSteps(tmp.path(), options), ElementsAre(250));
}

TEST(StepListing, FormatThatDoesNotMatchListsNothing) {
  TempDir tmp;
  ASSERT_TRUE(Save(tmp.Join("5"), Tree::Int(1)).ok());
  StepListingOptions options;
  options.name_format = NameFormat::Prefixed("step");
  EXPECT_TRUE(ListSteps(tmp.path(), options)->empty());
}

TEST(StepListing, RootErrors) {
  TempDir tmp;
  EXPECT_EQ(ListSteps(tmp.Join("missing")).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("file"), "x", false).ok());
  EXPECT_EQ(ListSteps(tmp.Join("file")).status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace cairn
