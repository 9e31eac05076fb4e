// Save decision and preservation policies, decided on plain step facts.
#include <vector>

#include "cairn/manager/preservation_policy.h"
#include "cairn/manager/save_policy.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace cairn {
namespace {

using ::testing::ElementsAre;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

std::vector<StepInfo> Steps(std::vector<std::pair<int64_t, double>> steps_and_losses) {
  std::vector<StepInfo> out;
  for (const auto& [step, loss] : steps_and_losses) {
    out.push_back(StepInfo{step, kT0 + absl::Seconds(step), {{"loss", loss}}});
  }
  return out;
}

TEST(SavePolicy, EveryNStepsAndAtSteps) {
  SaveDecisionContext c;
  c.step = 10;
  EXPECT_TRUE(SavePolicy::EveryNSteps(5)->ShouldSave(c));
  EXPECT_FALSE(SavePolicy::EveryNSteps(3)->ShouldSave(c));
  EXPECT_TRUE(SavePolicy::AtSteps({1, 10})->ShouldSave(c));
  EXPECT_FALSE(SavePolicy::AtSteps({1, 11})->ShouldSave(c));
}

TEST(SavePolicy, ContinuousWaitsForTheIntervalAndTheSaveInFlight) {
  auto policy = SavePolicy::Continuous(absl::Seconds(60));
  SaveDecisionContext c;
  c.now = kT0;
  EXPECT_TRUE(policy->ShouldSave(c));
  c.last_save_time = kT0 - absl::Seconds(30);
  EXPECT_FALSE(policy->ShouldSave(c));
  c.last_save_time = kT0 - absl::Seconds(61);
  EXPECT_TRUE(policy->ShouldSave(c));
  c.save_in_progress = true;
  EXPECT_FALSE(policy->ShouldSave(c));
}

TEST(SavePolicy, InitialAndPreemption) {
  SaveDecisionContext c;
  EXPECT_TRUE(SavePolicy::Initial()->ShouldSave(c));
  c.latest_step = 3;
  EXPECT_FALSE(SavePolicy::Initial()->ShouldSave(c));
  EXPECT_FALSE(SavePolicy::OnPreemption()->ShouldSave(c));
  c.preempted = true;
  EXPECT_TRUE(SavePolicy::OnPreemption()->ShouldSave(c));
}

TEST(PreservationPolicy, LatestNAndEveryNSteps) {
  const auto steps = Steps({{1, 0}, {2, 0}, {3, 0}, {4, 0}, {5, 0}});
  EXPECT_THAT(PreservationPolicy::LatestN(2)->Keep(steps, kT0), ElementsAre(4, 5));
  EXPECT_THAT(PreservationPolicy::EveryNSteps(2)->Keep(steps, kT0), ElementsAre(2, 4));
  EXPECT_THAT(PreservationPolicy::CustomSteps({3})->Keep(steps, kT0), ElementsAre(3));
}

TEST(PreservationPolicy, TimeBased) {
  std::vector<StepInfo> steps;
  for (int64_t s : {0, 10, 25, 35, 50}) steps.push_back(StepInfo{s, kT0 + absl::Seconds(s), {}});
  EXPECT_THAT(PreservationPolicy::EveryNSeconds(absl::Seconds(20))->Keep(steps, kT0),
              ElementsAre(0, 25, 50));
  EXPECT_THAT(
      PreservationPolicy::LatestDuration(absl::Seconds(20))->Keep(steps, kT0 + absl::Seconds(50)),
      ElementsAre(35, 50));
}

TEST(PreservationPolicy, BestNByMinAndMax) {
  const auto steps = Steps({{1, 0.9}, {2, 0.2}, {3, 0.5}, {4, 0.2}, {5, 0.7}});
  EXPECT_THAT(PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 2)->Keep(steps, kT0),
              ElementsAre(2, 4));
  EXPECT_THAT(PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMax, 1)->Keep(steps, kT0),
              ElementsAre(1));
}

TEST(PreservationPolicy, BestNStepsWithoutMetrics) {
  auto steps = Steps({{1, 0.9}, {2, 0.2}});
  steps.push_back(StepInfo{3, kT0, nlohmann::json::object()});
  EXPECT_THAT(
      PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 1, true)->Keep(steps, kT0),
      ElementsAre(2, 3));
  EXPECT_THAT(
      PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 1, false)->Keep(steps, kT0),
      ElementsAre(2));
}

TEST(MetricKey, NonNumbersAreErrorsAndAbsenceIsNotAMetric) {
  const MetricFn loss = MetricKey("loss");
  EXPECT_EQ(**loss({{"loss", 1.5}}), 1.5);
  EXPECT_FALSE(loss({{"acc", 1.0}})->has_value());
  absl::StatusOr<std::optional<double>> bad = loss({{"loss", "low"}});
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("not a number"));
  const std::optional<Ranking> ranking =
      RankingOf(*PreservationPolicy::BestN(loss, MetricMode::kMax, 1));
  ASSERT_TRUE(ranking.has_value());
  EXPECT_EQ(ranking->mode, MetricMode::kMax);
  EXPECT_EQ(**ranking->metric({{"loss", 2.0}}), 2.0);
  EXPECT_FALSE(RankingOf(*PreservationPolicy::LatestN(1)).has_value());
}

}  // namespace
}  // namespace cairn
