// A training loop that checkpoints with cairn: a small model whose arrays change every step, an
// optimizer state mirroring them, a data iterator's position and the run's config, saved
// asynchronously every few steps with a retention policy. Started again on the same root, it
// resumes from the latest committed step, loading straight into the model's own buffers.
//
// Usage: train_loop <root> [--steps N] [--save-every K] [--max-to-keep M] [--stop-at S]
//                          [--step-ms T] [--format cairn|orbax]
//   --stop-at S   behave as if preempted at step S: save it, wait for it, and stop
//   --step-ms T   pretend each step computes for T milliseconds (so followers can keep up)
//   --format F    orbax: write each step in Orbax's layout, for JAX to open with
//                 ocp.load_pytree(step_dir, checkpointable_name="state") (the config with the
//                 JSON handler; the iterator's position stays cairn's own)
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/utils/filesystem_util.h"

namespace {

// The model's parameters and the optimizer's momentum, owned here and updated in place.
struct Model {
  static constexpr int kIn = 256, kHidden = 128, kOut = 10;
  std::vector<float> w1 = std::vector<float>(kIn * kHidden);
  std::vector<float> b1 = std::vector<float>(kHidden);
  std::vector<float> w2 = std::vector<float>(kHidden * kOut);
  std::vector<float> m1 = std::vector<float>(kIn * kHidden);   // momentum of w1
  std::vector<float> m2 = std::vector<float>(kHidden * kOut);  // momentum of w2
  int64_t step = 0;

  // The state as a tree that borrows the buffers: saved without a copy, loaded into in place.
  cairn::Tree AsTree() {
    using cairn::Array;
    using cairn::DType;
    using cairn::Tree;
    Tree state = Tree::Dict();
    Tree& params = state.Set("params", Tree::Dict());
    params.Set("w1",
               Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {kIn, kHidden}, w1.data())));
    params.Set("b1", Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {kHidden}, b1.data())));
    params.Set("w2",
               Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {kHidden, kOut}, w2.data())));
    Tree& opt = state.Set("opt_state", Tree::Dict());
    opt.Set("m1",
            Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {kIn, kHidden}, m1.data())));
    opt.Set("m2",
            Tree::FromArray(Array::BorrowMutable(DType::kFloat32, {kHidden, kOut}, m2.data())));
    state.Set("step", Tree::Int(step));
    return state;
  }

  // One step of a pretend SGD with momentum; returns a loss that falls as training goes on.
  double Train(int64_t batch_start) {
    ++step;
    const float lr = 0.01f, beta = 0.9f;
    for (size_t i = 0; i < w1.size(); ++i) {
      const float grad = std::sin(0.001f * static_cast<float>(i + batch_start)) * 0.1f;
      m1[i] = beta * m1[i] + grad;
      w1[i] -= lr * m1[i];
    }
    for (size_t i = 0; i < w2.size(); ++i) {
      const float grad = std::cos(0.01f * static_cast<float>(i + batch_start)) * 0.1f;
      m2[i] = beta * m2[i] + grad;
      w2[i] -= lr * m2[i];
    }
    for (size_t i = 0; i < b1.size(); ++i) b1[i] += 0.001f;
    return 2.0 / std::sqrt(static_cast<double>(step)) + 0.05 * std::sin(0.7 * step);
  }
};

// Where the data pipeline is: checkpointed so that a resumed run sees the examples it had not.
class DataIterator final : public cairn::StatefulObject {
 public:
  std::string type_name() const override { return "examples.data_iterator.v1"; }
  absl::Status SaveState(cairn::Filesystem& fs, const std::string& dir) const override {
    return cairn::WriteStringToFile(fs, cairn::JoinPath(dir, "position"), absl::StrCat(position_),
                                    /*sync=*/true);
  }
  absl::Status RestoreState(cairn::Filesystem& fs, const std::string& dir) override {
    absl::StatusOr<std::string> text =
        cairn::ReadFileToString(fs, cairn::JoinPath(dir, "position"), 64);
    if (!text.ok()) return text.status();
    if (!absl::SimpleAtoi(*text, &position_)) {
      return absl::DataLossError(absl::StrCat("bad iterator position in ", dir));
    }
    return absl::OkStatus();
  }
  int64_t Next(int64_t batch) {
    const int64_t start = position_;
    position_ += batch;
    return start;
  }
  int64_t position() const { return position_; }

 private:
  int64_t position_ = 0;
};

struct Flags {
  std::string root;
  int64_t steps = 60;
  int64_t save_every = 5;
  int max_to_keep = 3;
  int64_t stop_at = -1;
  int step_ms = 0;
  cairn::StoreFormat format = cairn::StoreFormat::kCairn;
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  if (argc < 2) return false;
  flags->root = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    if (name == "--format") {
      const std::string format = argv[i + 1];
      if (format != "cairn" && format != "orbax") return false;
      flags->format = format == "orbax" ? cairn::StoreFormat::kOrbax : cairn::StoreFormat::kCairn;
      continue;
    }
    int64_t value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value)) return false;
    if (name == "--steps") {
      flags->steps = value;
    } else if (name == "--save-every") {
      flags->save_every = value;
    } else if (name == "--max-to-keep") {
      flags->max_to_keep = static_cast<int>(value);
    } else if (name == "--stop-at") {
      flags->stop_at = value;
    } else if (name == "--step-ms") {
      flags->step_ms = static_cast<int>(value);
    } else {
      return false;
    }
  }
  return (argc % 2) == 0;
}

int Fail(const char* what, const absl::Status& status) {
  std::fprintf(stderr, "train_loop: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) {
    std::fprintf(stderr,
                 "usage: %s <root> [--steps N] [--save-every K] [--max-to-keep M] [--stop-at S] "
                 "[--step-ms T] [--format cairn|orbax]\n",
                 argv[0]);
    return 2;
  }

  cairn::CheckpointerOptions options;
  options.save_policies = {cairn::SavePolicy::EveryNSteps(flags.save_every)};
  options.max_to_keep = flags.max_to_keep;
  // Keep the best step by loss too; the latest is kept whatever it scored.
  options.preservation_policies = {
      cairn::PreservationPolicy::BestN(cairn::MetricKey("loss"), cairn::MetricMode::kMin, 1)};
  options.handle_sigterm = true;
  options.store_save.format = flags.format;
  options.on_save_finished = [](const cairn::SaveReport& report) {
    if (!report.status.ok()) return;  // the next Save reports it
    std::printf(
        "  step %lld committed: %.1f KiB in %.1f ms; the loop waited %.2f ms for the previous "
        "save and %.2f ms for the copy\n",
        static_cast<long long>(report.step), report.bytes_written / 1024.0,
        absl::ToDoubleMilliseconds(report.total),
        absl::ToDoubleMilliseconds(report.waited_for_previous),
        absl::ToDoubleMilliseconds(report.copy));
  };
  absl::StatusOr<std::unique_ptr<cairn::Checkpointer>> created =
      cairn::Checkpointer::Create(flags.root, options);
  if (!created.ok()) return Fail("opening the run", created.status());
  cairn::Checkpointer& ckpt = **created;

  Model model;
  auto iterator = std::make_shared<DataIterator>();
  const nlohmann::json config = {{"lr", 0.01}, {"beta", 0.9}, {"batch", 32}};

  if (std::optional<int64_t> latest = ckpt.LatestStep()) {
    // The model's own tree is the abstract tree: its writable arrays receive the data.
    std::map<std::string, cairn::LoadRequest> requests;
    requests.emplace("state", cairn::Checkpointable(model.AsTree()));
    requests.emplace("dataset",
                     cairn::Checkpointable(std::shared_ptr<cairn::StatefulObject>(iterator)));
    absl::StatusOr<cairn::Checkpointables> loaded = ckpt.LoadCheckpointables(*latest, requests);
    if (!loaded.ok()) return Fail("resuming", loaded.status());
    model.step = std::get<cairn::Tree>(loaded->at("state")).Find("step")->int_value();
    std::printf("resumed from step %lld (data position %lld)\n", static_cast<long long>(*latest),
                static_cast<long long>(iterator->position()));
  } else {
    std::printf("starting a new run in %s\n", flags.root.c_str());
  }

  while (model.step < flags.steps) {
    const double loss = model.Train(iterator->Next(32));
    if (flags.step_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(flags.step_ms));
    if (model.step == flags.stop_at) ckpt.NotifyPreemption();

    cairn::Checkpointables items;
    items.emplace("state", model.AsTree());
    items.emplace("dataset", std::shared_ptr<cairn::StatefulObject>(iterator));
    items.emplace("config", config);
    cairn::SaveArgs args;
    args.metrics = {{"loss", loss}};
    absl::StatusOr<cairn::SaveFuture> saved = ckpt.SaveAsync(model.step, items, args);
    if (!saved.ok()) return Fail("saving", saved.status());
    if (ckpt.Preempted()) {
      std::printf("preempted at step %lld: saved it, stopping\n",
                  static_cast<long long>(model.step));
      break;
    }
  }
  const absl::Status closed = ckpt.Close();
  if (!closed.ok()) return Fail("finishing the last saves", closed);

  std::string kept;
  for (int64_t step : ckpt.AllSteps()) absl::StrAppend(&kept, kept.empty() ? "" : " ", step);
  absl::StatusOr<std::optional<int64_t>> best = ckpt.BestStep();
  std::printf("steps kept: %s; best by loss: %lld\n", kept.c_str(),
              best.ok() && *best ? static_cast<long long>(**best) : -1LL);
  return 0;
}
