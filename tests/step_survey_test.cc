// Surveying a root: steps with metrics, sizes and leases, which policies keep which steps, and
// the temporaries and step-like directories that are not steps.
#include "cairn/manager/step_survey.h"

#include <filesystem>
#include <string>

#include "cairn/steps/checkpoint.h"
#include "cairn/steps/lease.h"
#include "cairn/steps/temporary_names.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace cairn {
namespace {

using testing::TempDir;

class StepSurveyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int step : {10, 20, 30}) {
      CheckpointOptions options;
      options.metrics = {{"loss", 1.0 / step}};
      ASSERT_TRUE(Save(tmp_.Join(std::to_string(step)), Tree::Int(step), options).ok());
    }
  }
  TempDir tmp_;
};

TEST_F(StepSurveyTest, ListsStepsWithMetricsSizesAndTheLatest) {
  absl::StatusOr<RootSurvey> survey = SurveyRoot(tmp_.path());
  ASSERT_TRUE(survey.ok()) << survey.status();
  ASSERT_EQ(survey->steps.size(), 3u);
  EXPECT_EQ(survey->steps[0].info.step, 10);
  EXPECT_DOUBLE_EQ(survey->steps[1].info.metrics["loss"].get<double>(), 1.0 / 20);
  EXPECT_GT(survey->steps[0].bytes, 0u);
  EXPECT_FALSE(survey->steps[1].latest);
  EXPECT_TRUE(survey->steps[2].latest);
  EXPECT_FALSE(survey->steps[0].retire);  // no policies: everything stays
}

TEST_F(StepSurveyTest, NamesThePoliciesThatKeepEachStep) {
  SurveyOptions options;
  options.policies = {{"keep-latest 1", PreservationPolicy::LatestN(1)},
                      {"keep-every 20", PreservationPolicy::EveryNSteps(20)}};
  absl::StatusOr<RootSurvey> survey = SurveyRoot(tmp_.path(), options);
  ASSERT_TRUE(survey.ok()) << survey.status();
  EXPECT_TRUE(survey->steps[0].kept_by.empty());
  EXPECT_TRUE(survey->steps[0].retire);
  EXPECT_EQ(survey->steps[1].kept_by, std::vector<std::string>{"keep-every 20"});
  EXPECT_FALSE(survey->steps[1].retire);
  EXPECT_EQ(survey->steps[2].kept_by, std::vector<std::string>{"keep-latest 1"});
}

TEST_F(StepSurveyTest, ALeasedStepIsNeverRetired) {
  absl::StatusOr<StepLease> lease = AcquireLease(tmp_.Join("10"));
  ASSERT_TRUE(lease.ok()) << lease.status();
  SurveyOptions options;
  options.policies = {{"keep-latest 1", PreservationPolicy::LatestN(1)}};
  absl::StatusOr<RootSurvey> survey = SurveyRoot(tmp_.path(), options);
  ASSERT_TRUE(survey.ok()) << survey.status();
  EXPECT_TRUE(survey->steps[0].leased);
  ASSERT_EQ(survey->steps[0].leases.size(), 1u);
  EXPECT_FALSE(survey->steps[0].retire);
  EXPECT_TRUE(survey->steps[1].retire);
}

TEST_F(StepSurveyTest, SummarisesTemporariesAndSkippedNames) {
  const std::string temporary = MakeTemporaryName("40", TemporaryKind::kInProgress);
  std::filesystem::create_directory(tmp_.Join(temporary));
  std::filesystem::create_directory(tmp_.Join("50"));
  absl::StatusOr<RootSurvey> survey = SurveyRoot(tmp_.path());
  ASSERT_TRUE(survey.ok()) << survey.status();
  ASSERT_EQ(survey->temporaries.size(), 1u);
  EXPECT_EQ(survey->temporaries[0].name, temporary);
  EXPECT_EQ(survey->temporaries[0].writer_alive, true);
  ASSERT_EQ(survey->skipped.size(), 1u);
  EXPECT_EQ(survey->skipped[0].name, "50");
}

TEST_F(StepSurveyTest, AMissingRootIsNotFound) {
  EXPECT_TRUE(absl::IsNotFound(SurveyRoot(tmp_.Join("absent")).status()));
}

}  // namespace
}  // namespace cairn
