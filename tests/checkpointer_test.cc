// The Checkpointer's synchronous API: saving, listing, loading and resuming, save decisions,
// reloading and deleting, and a clear error for every bad input.
#include "cairn/manager/checkpointer.h"

#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "cairn/steps/step_listing.h"
#include "cairn/steps/temporary_names.h"
#include "cairn/utils/filesystem_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/checkpointers.h"
#include "tests/support/temp_dir.h"
#include "tests/support/training_state.h"

namespace cairn {
namespace {

using testing::DataIterator;
using ::testing::ElementsAre;
using testing::EntryNames;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::IsStateAt;
using testing::OpenCheckpointer;
using testing::StateAt;
using testing::TempDir;

SaveArgs WithLoss(double loss) {
  SaveArgs args;
  args.metrics = {{"loss", loss}};
  return args;
}

TEST(Checkpointer, SavesListsAndLoads) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.Join("run"));
  ASSERT_TRUE(*ckpt->Save(1, StateAt(1)));
  ASSERT_TRUE(*ckpt->Save(2, StateAt(2)));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1, 2));
  EXPECT_EQ(ckpt->LatestStep(), 2);
  absl::StatusOr<Tree> loaded = ckpt->Load(1);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(IsStateAt(*loaded, 1));
  EXPECT_TRUE(std::filesystem::is_directory(tmp.Join("run/2/pytree")));
}

TEST(Checkpointer, RestartedCheckpointerResumesFromCommittedSteps) {
  TempDir tmp;
  {
    auto ckpt = OpenCheckpointer(tmp.Join("run"));
    for (int64_t step : {10, 20, 30}) ASSERT_TRUE(*ckpt->Save(step, StateAt(step)));
  }
  auto restarted = OpenCheckpointer(tmp.Join("run"));
  EXPECT_THAT(restarted->AllSteps(), ElementsAre(10, 20, 30));
  ASSERT_EQ(restarted->LatestStep(), 30);
  EXPECT_TRUE(IsStateAt(*restarted->Load(30), 30));
  EXPECT_FALSE(restarted->ShouldSave(30));
  EXPECT_TRUE(restarted->ShouldSave(31));
}

TEST(Checkpointer, StartUpRemovesTheTemporariesOfCrashedSaves) {
  TempDir tmp;
  ASSERT_TRUE(*OpenCheckpointer(tmp.path())->Save(1, StateAt(1)));
  // A writer that died midway: its temporary carries its (now dead) pid.
  const pid_t child = fork();
  if (child == 0) {
    std::filesystem::create_directory(tmp.Join(MakeTemporaryName("2", TemporaryKind::kInProgress)));
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  // And one of this process, alive: not to be touched.
  const std::string live = tmp.Join(MakeTemporaryName("3", TemporaryKind::kInProgress));
  std::filesystem::create_directory(live);
  ASSERT_EQ(std::distance(std::filesystem::directory_iterator(tmp.path()), {}), 3);

  auto ckpt = OpenCheckpointer(tmp.path());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
  ASSERT_TRUE(ckpt->WaitUntilFinished().ok());
  EXPECT_THAT(EntryNames(tmp.path()), ElementsAre("1", live.substr(tmp.path().size() + 1)));
}

TEST(Checkpointer, CreatesTheRootOnlyWhenAllowed) {
  TempDir tmp;
  CheckpointerOptions options;
  options.create_root = false;
  absl::StatusOr<std::unique_ptr<Checkpointer>> refused =
      Checkpointer::Create(tmp.Join("a/b"), options);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(refused.status().message(), HasSubstr("does not exist"));
  EXPECT_FALSE(std::filesystem::exists(tmp.Join("a")));
  EXPECT_NE(OpenCheckpointer(tmp.Join("a/b")), nullptr);
  EXPECT_TRUE(std::filesystem::is_directory(tmp.Join("a/b")));
}

TEST(Checkpointer, RootThatIsAFileIsRefused) {
  TempDir tmp;
  ASSERT_TRUE(WriteStringToFile(*Filesystem::Default(), tmp.Join("file"), "x", false).ok());
  absl::StatusOr<std::unique_ptr<Checkpointer>> refused = Checkpointer::Create(tmp.Join("file"));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(), HasSubstr("is not a directory"));
}

TEST(Checkpointer, InvalidOptionsAreRefused) {
  TempDir tmp;
  CheckpointerOptions options;
  options.max_to_keep = 0;
  EXPECT_EQ(Checkpointer::Create(tmp.path(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CheckpointerOptions();
  options.max_saves_in_flight = 0;
  EXPECT_EQ(Checkpointer::Create(tmp.path(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
  options = CheckpointerOptions();
  options.todelete_subdir = "../elsewhere";
  EXPECT_EQ(Checkpointer::Create(tmp.path(), options).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(Checkpointer, SavingAnExistingStepNeedsOverwrite) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  ASSERT_TRUE(*ckpt->Save(5, StateAt(5)));
  SaveArgs args;
  args.force = true;  // force decides whether to save, not whether to replace
  absl::StatusOr<bool> again = ckpt->Save(5, StateAt(6), args);
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("pass overwrite"));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(5), 5));
  args.overwrite = true;
  ASSERT_TRUE(*ckpt->Save(5, StateAt(6), args));
  EXPECT_TRUE(IsStateAt(*ckpt->Load(5), 6));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(5));
}

TEST(Checkpointer, StepBelowTheLatestNeedsForce) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  ASSERT_TRUE(*ckpt->Save(10, StateAt(10)));
  absl::StatusOr<bool> lower = ckpt->Save(3, StateAt(3));
  EXPECT_EQ(lower.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(lower.status().message(), HasSubstr("lower than the latest step 10"));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(10));
  SaveArgs force;
  force.force = true;
  ASSERT_TRUE(*ckpt->Save(3, StateAt(3), force));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(3, 10));
  EXPECT_EQ(ckpt->LatestStep(), 10);
}

TEST(Checkpointer, SavePoliciesDecideAndForceOverrides) {
  TempDir tmp;
  CheckpointerOptions options;
  options.save_policies = {SavePolicy::EveryNSteps(5), SavePolicy::AtSteps({7})};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  EXPECT_FALSE(*ckpt->Save(3, StateAt(3)));
  EXPECT_TRUE(*ckpt->Save(5, StateAt(5)));
  EXPECT_FALSE(*ckpt->Save(6, StateAt(6)));
  EXPECT_TRUE(*ckpt->Save(7, StateAt(7)));
  SaveArgs force;
  force.force = true;
  EXPECT_TRUE(*ckpt->Save(8, StateAt(8), force));
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(5, 7, 8));
}

TEST(Checkpointer, DefaultSavesEveryStepButNeverBackFills) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  EXPECT_TRUE(ckpt->ShouldSave(0));
  ASSERT_TRUE(*ckpt->Save(0, StateAt(0)));
  EXPECT_FALSE(ckpt->ShouldSave(0));
  EXPECT_TRUE(ckpt->ShouldSave(1));
  EXPECT_FALSE(ckpt->ShouldSave(-1));
}

TEST(Checkpointer, ContinuousPolicySavesAtMostOncePerInterval) {
  TempDir tmp;
  CheckpointerOptions options;
  options.save_policies = {SavePolicy::Continuous(absl::Hours(1))};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  EXPECT_TRUE(*ckpt->Save(1, StateAt(1)));   // none yet
  EXPECT_FALSE(*ckpt->Save(2, StateAt(2)));  // within the hour
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(1));
}

TEST(Checkpointer, PredicatePolicySeesTheLatestStep) {
  TempDir tmp;
  CheckpointerOptions options;
  options.save_policies = {SavePolicy::Predicate(
      [](const SaveDecisionContext& c) { return !c.latest_step || c.step - *c.latest_step >= 3; })};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  for (int64_t step = 0; step < 8; ++step) ASSERT_TRUE(ckpt->Save(step, StateAt(step)).ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(0, 3, 6));
}

TEST(Checkpointer, InitialPolicySavesOnlyTheFirstStep) {
  TempDir tmp;
  CheckpointerOptions options;
  options.save_policies = {SavePolicy::Initial()};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  EXPECT_TRUE(*ckpt->Save(4, StateAt(4)));
  EXPECT_FALSE(*ckpt->Save(5, StateAt(5)));
}

TEST(Checkpointer, BadSaveRequestsAreRefusedAndSaveNothing) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  EXPECT_EQ(ckpt->Save(-1, StateAt(1)).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ckpt->Save(1, Checkpointables()).status().code(), absl::StatusCode::kInvalidArgument);
  Checkpointables bad_name;
  bad_name.emplace("../escape", StateAt(1));
  EXPECT_EQ(ckpt->Save(1, bad_name).status().code(), absl::StatusCode::kInvalidArgument);
  SaveArgs bad_metrics;
  bad_metrics.metrics = nlohmann::json::array({1, 2});
  EXPECT_EQ(ckpt->Save(1, StateAt(1), bad_metrics).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ckpt->AllSteps(), IsEmpty());
  EXPECT_TRUE(std::filesystem::is_empty(tmp.path()));
}

TEST(Checkpointer, MetricsABestNPolicyCannotRankAreRefused) {
  TempDir tmp;
  CheckpointerOptions options;
  options.preservation_policies = {
      PreservationPolicy::BestN(MetricKey("loss"), MetricMode::kMin, 2)};
  auto ckpt = OpenCheckpointer(tmp.path(), options);
  SaveArgs args;
  args.metrics = {{"loss", "low"}};
  absl::StatusOr<bool> saved = ckpt->Save(1, StateAt(1), args);
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(saved.status().message(), HasSubstr("not a number"));
  EXPECT_THAT(ckpt->AllSteps(), IsEmpty());
  EXPECT_TRUE(*ckpt->Save(1, StateAt(1), WithLoss(0.5)));
}

TEST(Checkpointer, SeveralCheckpointablesInOneStep) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  auto iterator = std::make_shared<DataIterator>(1234);
  Checkpointables items;
  items.emplace("model", StateAt(3));
  items.emplace("config", nlohmann::json{{"lr", 0.1}});
  items.emplace("dataset", std::shared_ptr<StatefulObject>(iterator));
  ASSERT_TRUE(*ckpt->Save(3, items));

  auto restored = std::make_shared<DataIterator>();
  std::map<std::string, LoadRequest> requests;
  requests.emplace("dataset", Checkpointable(std::shared_ptr<StatefulObject>(restored)));
  requests.emplace("config", std::nullopt);
  absl::StatusOr<Checkpointables> loaded = ckpt->LoadCheckpointables(3, requests);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(restored->position(), 1234);
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config"))["lr"], 0.1);
  EXPECT_EQ(loaded->count("model"), 0u);
  EXPECT_TRUE(IsStateAt(*ckpt->Load(3, Tree::AsSaved(), CheckpointableName::Named("model")), 3));
}

TEST(Checkpointer, LoadingEveryCheckpointableOfAStepWithAStatefulObject) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  Checkpointables items;
  items.emplace("model", StateAt(3));
  items.emplace("config", nlohmann::json{{"lr", 0.1}});
  items.emplace("dataset", std::shared_ptr<StatefulObject>(std::make_shared<DataIterator>(7)));
  ASSERT_TRUE(*ckpt->Save(3, items));

  absl::StatusOr<Checkpointables> loaded = ckpt->LoadCheckpointables(3);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(IsStateAt(std::get<Tree>(loaded->at("model")), 3));
  EXPECT_EQ(std::get<nlohmann::json>(loaded->at("config"))["lr"], 0.1);
  const auto* unrestored = dynamic_cast<const UnrestoredObject*>(
      std::get<std::shared_ptr<StatefulObject>>(loaded->at("dataset")).get());
  ASSERT_NE(unrestored, nullptr);
  EXPECT_EQ(unrestored->type_name(), "test.data_iterator.v1");
}

TEST(Checkpointer, MetadataRecordsMetricsAndTimings) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  SaveArgs args = WithLoss(0.25);
  args.custom_metadata = {{"run", "test"}};
  ASSERT_TRUE(*ckpt->Save(1, StateAt(1), args));
  absl::StatusOr<CheckpointMetadata> metadata = ckpt->Metadata(1);
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->metrics["loss"], 0.25);
  EXPECT_EQ(metadata->custom_metadata["run"], "test");
  const nlohmann::json& perf = metadata->performance_metrics;
  for (const char* key : {"blocking_duration_secs", "host_copy_secs", "write_duration_secs"}) {
    ASSERT_TRUE(perf.contains(key)) << key;
    EXPECT_GE(perf[key].get<double>(), 0) << key;
  }
  EXPECT_GT(perf["bytes_written"].get<uint64_t>(), 64u * 32u * 4u);
  // A blocking save writes from the caller's arrays: nothing is copied.
  EXPECT_EQ(perf["host_copy_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ((*ckpt->Metrics(1))["loss"], 0.25);
  auto items = ckpt->CheckpointablesMetadata(1);
  ASSERT_TRUE(items.ok()) << items.status();
  EXPECT_EQ(items->at("pytree").handler, kPyTreeHandlerName);
}

TEST(Checkpointer, BestStepRanksByTheBestNPolicysMetric) {
  TempDir tmp;
  auto plain = OpenCheckpointer(tmp.Join("plain"));
  EXPECT_EQ(plain->BestStep().status().code(), absl::StatusCode::kFailedPrecondition);

  CheckpointerOptions options;
  options.preservation_policies = {
      PreservationPolicy::BestN(MetricKey("accuracy"), MetricMode::kMax, 5)};
  auto ckpt = OpenCheckpointer(tmp.Join("ranked"), options);
  EXPECT_EQ(*ckpt->BestStep(), std::nullopt);
  SaveArgs args;
  for (auto [step, accuracy] : {std::pair{1, 0.5}, {2, 0.9}, {3, 0.7}}) {
    args.metrics = {{"accuracy", accuracy}};
    ASSERT_TRUE(*ckpt->Save(step, StateAt(step), args));
  }
  EXPECT_EQ(*ckpt->BestStep(), 2);
  // A restarted checkpointer reads the metrics back from disk.
  ckpt.reset();
  EXPECT_EQ(*OpenCheckpointer(tmp.Join("ranked"), options)->BestStep(), 2);
}

TEST(Checkpointer, ReadOnlyLoadsButNeverWrites) {
  TempDir tmp;
  ASSERT_TRUE(*OpenCheckpointer(tmp.path())->Save(1, StateAt(1)));
  CheckpointerOptions options;
  options.read_only = true;
  auto reader = OpenCheckpointer(tmp.path(), options);
  EXPECT_FALSE(reader->ShouldSave(2));
  EXPECT_EQ(reader->Save(2, StateAt(2)).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reader->Save(2, StateAt(2)).status().message(), HasSubstr("read-only"));
  EXPECT_EQ(reader->Delete(1).code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(IsStateAt(*reader->Load(1), 1));
  EXPECT_THAT(reader->AllSteps(), ElementsAre(1));
  EXPECT_EQ(Checkpointer::Create(tmp.Join("missing"), options).status().code(),
            absl::StatusCode::kNotFound);
}

TEST(Checkpointer, ReloadPicksUpStepsOfOtherWriters) {
  TempDir tmp;
  CheckpointerOptions read_only;
  read_only.read_only = true;
  auto writer = OpenCheckpointer(tmp.path());
  auto reader = OpenCheckpointer(tmp.path(), read_only);
  ASSERT_TRUE(*writer->Save(1, StateAt(1)));
  ASSERT_TRUE(*writer->Save(2, StateAt(2)));
  EXPECT_THAT(reader->AllSteps(), IsEmpty());
  EXPECT_EQ(reader->Load(2).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(reader->Reload().ok());
  EXPECT_THAT(reader->AllSteps(), ElementsAre(1, 2));
  ASSERT_TRUE(writer->Delete(1).ok());
  ASSERT_TRUE(reader->Reload().ok());
  EXPECT_THAT(reader->AllSteps(), ElementsAre(2));
}

TEST(Checkpointer, DeleteRemovesAStep) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  ASSERT_TRUE(*ckpt->Save(1, StateAt(1)));
  ASSERT_TRUE(*ckpt->Save(2, StateAt(2)));
  ASSERT_TRUE(ckpt->Delete(1).ok());
  EXPECT_THAT(ckpt->AllSteps(), ElementsAre(2));
  EXPECT_THAT(*ListSteps(tmp.path()), ElementsAre(2));
  absl::Status missing = ckpt->Delete(7);
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(missing.message(), HasSubstr("not a committed step"));
}

TEST(Checkpointer, LoadingAStepThatIsNotCommittedIsNotFound) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  ASSERT_TRUE(*ckpt->Save(4, StateAt(4)));
  absl::StatusOr<Tree> loaded = ckpt->Load(3);
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(loaded.status().message(), HasSubstr("latest is 4"));
  EXPECT_EQ(ckpt->Metrics(3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(ckpt->Metadata(3).status().code(), absl::StatusCode::kNotFound);
}

TEST(Checkpointer, ClosedCheckpointerRefusesSaves) {
  TempDir tmp;
  auto ckpt = OpenCheckpointer(tmp.path());
  ASSERT_TRUE(ckpt->Close().ok());
  ASSERT_TRUE(ckpt->Close().ok());
  absl::StatusOr<bool> saved = ckpt->Save(1, StateAt(1));
  EXPECT_EQ(saved.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(saved.status().message(), HasSubstr("closed"));
}

TEST(Checkpointer, NameFormatAndCommitFileMode) {
  TempDir tmp;
  CheckpointerOptions options;
  options.name_format = NameFormat::FixedLength(6, "step");
  options.commit_mode = CommitMode::kCommitFile;
  {
    auto ckpt = OpenCheckpointer(tmp.path(), options);
    ASSERT_TRUE(*ckpt->Save(42, StateAt(42)));
    EXPECT_EQ(ckpt->StepDir(42), tmp.Join("step_000042"));
  }
  EXPECT_TRUE(std::filesystem::exists(tmp.Join("step_000042/commit_success.txt")));
  auto reopened = OpenCheckpointer(tmp.path(), options);
  EXPECT_THAT(reopened->AllSteps(), ElementsAre(42));
  EXPECT_TRUE(IsStateAt(*reopened->Load(42), 42));
}

}  // namespace
}  // namespace cairn
