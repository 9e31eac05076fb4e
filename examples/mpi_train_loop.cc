// A training loop run by several MPI ranks that checkpoint one run together with cairn: the
// ranks form a data-parallel x tensor-parallel grid, each weight matrix (and its momentum) is cut
// into row blocks across the tensor-parallel ranks and repeated across the data-parallel ones,
// and every rank saves only the pieces it holds. Started again on the same root, by any number
// of ranks, it resumes from the latest committed step: each rank loads its own region of every
// array, whatever cut the saving ranks made, and checks it bit for bit against what training
// must have produced by then.
//
// Training is a pretend SGD with momentum in which every element's update depends only on its
// global index and the step, so that the state after step s is the same, to the bit, however
// many ranks computed it and however often the run stopped and resumed.
//
// Usage: mpirun -np N mpi_train_loop <root> [--steps N] [--save-every K] [--kill-at S] [--tp T]
//   --kill-at S   once step S has committed, rank 1 kills itself with SIGKILL, as a machine that
//                 crashed would die (mpirun then ends the other ranks)
//   --tp T        tensor-parallel ranks (N must be a multiple of T); by default 2 when N is even,
//                 else 1. The data-parallel ranks are the rest: N / T.
//
// Rank 0 prints one line per save and a summary; the other ranks print only errors.
#include <mpi.h>

#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "cairn/manager/checkpointer.h"
#include "cairn/utils/mpi/mpi_coordinator.h"

namespace {

// Where this rank sits in the grid. Consecutive ranks form a tensor-parallel group (as they
// would share a machine): rank = dp_index * tp + tp_index.
struct Layout {
  int rank = 0;
  int size = 1;
  int tp = 1;
  int dp = 1;
  int tp_index = 0;
  int dp_index = 0;

  static Layout Of(int rank, int size, int tp) {
    Layout layout;
    layout.rank = rank;
    layout.size = size;
    layout.tp = tp;
    layout.dp = size / tp;
    layout.tp_index = rank % tp;
    layout.dp_index = rank / tp;
    return layout;
  }
};

// The rows of a `rows`-row matrix that tensor-parallel rank `tp_index` of `tp` holds.
struct RowBlock {
  int64_t begin = 0;
  int64_t end = 0;
  int64_t count() const { return end - begin; }
};

RowBlock BlockOf(int64_t rows, const Layout& layout) {
  return {rows * layout.tp_index / layout.tp, rows * (layout.tp_index + 1) / layout.tp};
}

// A weight matrix and its momentum, of which this rank holds a block of rows.
struct ShardedMatrix {
  int64_t rows = 0;
  int64_t cols = 0;
  float frequency = 0;  // makes the two matrices' gradients differ
  RowBlock block;
  std::vector<float> w;
  std::vector<float> m;

  ShardedMatrix(int64_t rows, int64_t cols, float frequency, const Layout& layout)
      : rows(rows), cols(cols), frequency(frequency), block(BlockOf(rows, layout)) {
    w.resize(block.count() * cols);
    m.resize(block.count() * cols);
    // The initial weights are a function of the global index alone.
    for (int64_t i = 0; i < static_cast<int64_t>(w.size()); ++i) {
      w[i] = 0.01f * std::sin(static_cast<float>(block.begin * cols + i));
    }
  }

  // One step of SGD with momentum on this rank's rows. The gradient of an element is a function
  // of its global index and the step alone, and each element's update reads nothing else: the
  // result is the same bits whichever rank computes it.
  void Train(int64_t step) {
    constexpr float kLearningRate = 0.01f, kBeta = 0.9f;
    for (int64_t i = 0; i < static_cast<int64_t>(w.size()); ++i) {
      const int64_t global = block.begin * cols + i;
      const float grad = 0.1f * std::sin(frequency * static_cast<float>(global) +
                                         0.05f * static_cast<float>(step));
      m[i] = kBeta * m[i] + grad;
      w[i] -= kLearningRate * m[i];
    }
  }

  // This rank's piece of the matrix (or of its momentum), placed in the global array. Every
  // data-parallel replica holds the same block: each says which replica it is, so that the block
  // is written once.
  cairn::Array Piece(const std::vector<float>& values, const Layout& layout) const {
    cairn::Array piece =
        cairn::Array::Borrow(cairn::DType::kFloat32, {block.count(), cols}, values.data());
    piece.set_placement({{rows, cols}, {block.begin, 0}, layout.dp_index, layout.dp});
    return piece;
  }

  // A request for this rank's region of the saved matrix (or momentum), loaded into `values`.
  cairn::Tree Region(std::vector<float>& values) const {
    cairn::ArraySpec spec;
    spec.shape = cairn::Shape{block.count(), cols};
    spec.origin = cairn::Shape{block.begin, 0};
    spec.destination =
        cairn::Array::BorrowMutable(cairn::DType::kFloat32, {block.count(), cols}, values.data());
    return cairn::Tree::Spec(std::move(spec));
  }
};

// The model: two matrices cut by rows, a bias every rank holds whole, and the step.
struct Model {
  static constexpr int64_t kIn = 512, kHidden = 256, kOut = 64;
  Layout layout;
  ShardedMatrix w1;
  ShardedMatrix w2;
  std::vector<float> bias = std::vector<float>(kOut);
  int64_t step = 0;

  explicit Model(const Layout& layout)
      : layout(layout), w1(kIn, kHidden, 0.001f, layout), w2(kHidden, kOut, 0.01f, layout) {}

  void Train() {
    ++step;
    w1.Train(step);
    w2.Train(step);
    for (int64_t j = 0; j < kOut; ++j) {
      bias[j] += 0.001f * std::cos(0.1f * static_cast<float>(j) + static_cast<float>(step));
    }
  }

  // What every rank of any grid must hold after `step` steps: the same model trained from the
  // start, by this process alone.
  static Model Reference(const Layout& layout, int64_t step) {
    Model model(layout);
    while (model.step < step) model.Train();
    return model;
  }

  // This rank's pieces, borrowed: SaveAsync copies them before it returns.
  cairn::Tree AsTree() const {
    using cairn::Tree;
    Tree state = Tree::Dict();
    Tree& params = state.Set("params", Tree::Dict());
    params.Set("w1", Tree::FromArray(w1.Piece(w1.w, layout)));
    params.Set("w2", Tree::FromArray(w2.Piece(w2.w, layout)));
    cairn::Array b = cairn::Array::Borrow(cairn::DType::kFloat32, {kOut}, bias.data());
    // Every rank holds the bias: one of them writes it.
    b.set_placement({{kOut}, {0}, layout.rank, layout.size});
    params.Set("bias", Tree::FromArray(std::move(b)));
    Tree& opt = state.Set("opt_state", Tree::Dict());
    opt.Set("m1", Tree::FromArray(w1.Piece(w1.m, layout)));
    opt.Set("m2", Tree::FromArray(w2.Piece(w2.m, layout)));
    state.Set("step", Tree::Int(step));
    return state;
  }

  // The abstract tree of a resume: this rank's region of every array, loaded straight into the
  // model's buffers, and the step.
  cairn::Tree Regions() {
    using cairn::Tree;
    Tree abstract = Tree::Dict();
    Tree& params = abstract.Set("params", Tree::Dict());
    params.Set("w1", w1.Region(w1.w));
    params.Set("w2", w2.Region(w2.w));
    cairn::ArraySpec whole;
    whole.destination = cairn::Array::BorrowMutable(cairn::DType::kFloat32, {kOut}, bias.data());
    params.Set("bias", Tree::Spec(std::move(whole)));
    Tree& opt = abstract.Set("opt_state", Tree::Dict());
    opt.Set("m1", w1.Region(w1.m));
    opt.Set("m2", w2.Region(w2.m));
    abstract.Set("step", Tree::TypeOnly(cairn::LeafType::kInt));
    return abstract;
  }
};

// Where `got` first differs from `want` in bits, as a message; empty when they are identical.
std::string FirstDifference(const char* name, const std::vector<float>& got,
                            const std::vector<float>& want) {
  if (got.size() != want.size()) {
    return absl::StrCat(name, " holds ", got.size(), " elements, not ", want.size());
  }
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::memcmp(&got[i], &want[i], sizeof(float)) != 0) {
      return absl::StrCat(name, "[", i, "] is ", got[i], ", not ", want[i]);
    }
  }
  return "";
}

// The first difference between `model` and the reference of its step, or empty.
std::string DifferenceFromReference(const Model& model) {
  const Model want = Model::Reference(model.layout, model.step);
  for (const auto& [name, got, expected] : {std::make_tuple("w1", &model.w1.w, &want.w1.w),
                                            std::make_tuple("m1", &model.w1.m, &want.w1.m),
                                            std::make_tuple("w2", &model.w2.w, &want.w2.w),
                                            std::make_tuple("m2", &model.w2.m, &want.w2.m),
                                            std::make_tuple("bias", &model.bias, &want.bias)}) {
    std::string difference = FirstDifference(name, *got, *expected);
    if (!difference.empty()) return difference;
  }
  return "";
}

// FNV-1a over every array's bytes, in the tree's order: two runs that print the same fingerprint
// hold the same parameters.
uint64_t Fingerprint(const Model& model) {
  uint64_t hash = 14695981039346656037ull;
  for (const std::vector<float>* values :
       {&model.w1.w, &model.w2.w, &model.bias, &model.w1.m, &model.w2.m}) {
    const unsigned char* bytes = reinterpret_cast<const unsigned char*>(values->data());
    for (size_t i = 0; i < values->size() * sizeof(float); ++i) {
      hash = (hash ^ bytes[i]) * 1099511628211ull;
    }
  }
  return hash;
}

struct Flags {
  std::string root;
  int64_t steps = 40;
  int64_t save_every = 5;
  int64_t kill_at = -1;
  int tp = 0;  // 0: the default for the world's size
};

bool ParseFlags(int argc, char** argv, Flags* flags) {
  if (argc < 2 || (argc % 2) != 0) return false;
  flags->root = argv[1];
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string name = argv[i];
    int64_t value = 0;
    if (!absl::SimpleAtoi(argv[i + 1], &value)) return false;
    if (name == "--steps") {
      flags->steps = value;
    } else if (name == "--save-every" && value > 0) {
      flags->save_every = value;
    } else if (name == "--kill-at") {
      flags->kill_at = value;
    } else if (name == "--tp" && value > 0) {
      flags->tp = static_cast<int>(value);
    } else {
      return false;
    }
  }
  return true;
}

int rank_for_errors = 0;

int Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "mpi_train_loop [rank %d]: %s: %s\n", rank_for_errors, what.c_str(),
               status.ToString().c_str());
  return 1;
}

// Whether `ok` holds on every rank. Checks that are local (a load, a comparison) end the run on
// every rank together, rather than leaving the others waiting in the next collective.
bool EveryRank(bool ok) {
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

int Run(const Flags& flags, int rank, int size) {
  const int tp = flags.tp > 0 ? flags.tp : (size % 2 == 0 ? 2 : 1);
  if (size % tp != 0) {
    // Every rank finds the same: one says so.
    if (rank == 0) {
      Fail("choosing the grid", absl::InvalidArgumentError(
                                    absl::StrCat(size, " ranks do not split into groups of ", tp)));
    }
    return 2;
  }
  const Layout layout = Layout::Of(rank, size, tp);
  const bool primary = rank == 0;

  // A rank that dies mid-collective makes the others fail within a minute, not five.
  cairn::MpiCoordinatorOptions coordination;
  coordination.deadline = absl::Seconds(60);
  absl::StatusOr<std::unique_ptr<cairn::MpiCoordinator>> coordinator =
      cairn::MpiCoordinator::Create(MPI_COMM_WORLD, coordination);
  if (!coordinator.ok()) return Fail("joining the other ranks", coordinator.status());

  cairn::CheckpointerOptions options;
  options.coordinator = coordinator->get();
  options.save_policies = {cairn::SavePolicy::EveryNSteps(flags.save_every)};
  options.max_to_keep = 3;
  // mpirun passes SIGTERM on to every rank; the ranks agree on the step to save and stop after.
  options.handle_sigterm = true;
  if (primary) {
    options.on_save_finished = [](const cairn::SaveReport& report) {
      if (!report.status.ok()) return;  // the next Save reports it, on every rank
      std::printf("  step %lld committed in %.1f ms (rank 0 wrote %.1f KiB of it)\n",
                  static_cast<long long>(report.step), absl::ToDoubleMilliseconds(report.total),
                  report.bytes_written / 1024.0);
    };
  }
  absl::StatusOr<std::unique_ptr<cairn::Checkpointer>> created =
      cairn::Checkpointer::Create(flags.root, options);
  if (!created.ok()) return Fail("opening the run", created.status());
  cairn::Checkpointer& ckpt = **created;

  Model model(layout);
  if (std::optional<int64_t> latest = ckpt.LatestStep()) {
    // Each rank reads its own region of each array, from whichever saved shards cover it. A run
    // saved as TP=2 x DP=2 on 4 ranks and resumed as TP=1 x DP=2 on 2 (--tp 1, as
    // scripts/mpi-demo.sh does) loads whole matrices, each spanning both saved row blocks; with
    // TP=2 on 2 ranks the regions would be exactly the saved blocks, crossing no shard boundary.
    absl::StatusOr<cairn::Tree> loaded = ckpt.Load(*latest, model.Regions());
    std::string problem;
    if (!loaded.ok()) {
      Fail(absl::StrCat("loading step ", *latest), loaded.status());
      problem = "load failed";
    } else {
      model.step = loaded->Find("step")->int_value();
      if (model.step != *latest) {
        problem = absl::StrCat("step ", *latest, " holds the step counter ", model.step);
      } else {
        problem = DifferenceFromReference(model);
      }
      if (!problem.empty()) {
        std::fprintf(stderr, "mpi_train_loop [rank %d]: step %lld does not hold its state: %s\n",
                     rank, static_cast<long long>(*latest), problem.c_str());
      }
    }
    if (!EveryRank(problem.empty())) return 1;
    if (primary) {
      std::printf(
          "resumed from step %lld on %d ranks (TP=%d x DP=%d): every rank's region "
          "matches the reference bit for bit\n",
          static_cast<long long>(*latest), size, layout.tp, layout.dp);
    }
  } else if (primary) {
    std::printf("starting a new run in %s on %d ranks (TP=%d x DP=%d)\n", flags.root.c_str(), size,
                layout.tp, layout.dp);
  }

  // The rank that dies at --kill-at: rank 1, or the only one.
  const int victim = size > 1 ? 1 : 0;
  while (model.step < flags.steps) {
    model.Train();
    cairn::SaveArgs args;
    // The last step is saved whatever the policy says, so a finished run holds its final state,
    // and so is the step a crash is staged after.
    args.force = model.step == flags.steps || model.step == flags.kill_at;
    absl::StatusOr<cairn::SaveFuture> saved = ckpt.SaveAsync(model.step, model.AsTree(), args);
    if (!saved.ok()) return Fail(absl::StrCat("saving step ", model.step), saved.status());
    if (model.step == flags.kill_at && rank == victim) {
      const absl::Status committed = saved->Wait();
      if (!committed.ok()) return Fail(absl::StrCat("saving step ", model.step), committed);
      std::fflush(nullptr);
      std::raise(SIGKILL);
    }
    if (ckpt.Preempted()) {
      if (primary) {
        std::printf("preempted at step %lld: saved it, stopping\n",
                    static_cast<long long>(model.step));
      }
      break;
    }
  }
  const absl::Status closed = ckpt.Close();
  if (!closed.ok()) return Fail("finishing the last saves", closed);

  if (primary) {
    // The whole final state, read back as one process would read it, against the reference.
    const std::optional<int64_t> last = ckpt.LatestStep();
    if (!last) return Fail("finishing", absl::NotFoundError("the run holds no committed step"));
    Model whole(Layout::Of(0, 1, 1));
    absl::StatusOr<cairn::Tree> loaded = ckpt.Load(*last, whole.Regions());
    if (!loaded.ok()) return Fail(absl::StrCat("loading step ", *last), loaded.status());
    whole.step = loaded->Find("step")->int_value();
    const std::string problem = DifferenceFromReference(whole);
    if (!problem.empty()) {
      std::fprintf(stderr, "mpi_train_loop: step %lld does not hold its state: %s\n",
                   static_cast<long long>(*last), problem.c_str());
      return 1;
    }
    std::string kept;
    for (int64_t step : ckpt.AllSteps()) absl::StrAppend(&kept, kept.empty() ? "" : " ", step);
    std::printf(
        "%s at step %lld; steps kept: %s; step %lld loaded whole matches the reference bit for "
        "bit; fingerprint %016llx\n",
        model.step >= flags.steps ? "finished" : "stopped", static_cast<long long>(model.step),
        kept.c_str(), static_cast<long long>(*last),
        static_cast<unsigned long long>(Fingerprint(whole)));
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // The Checkpointer's saver thread runs collectives on a duplicate of the coordinator while the
  // loop runs the decisions on the original: MPI must allow calls from several threads at once.
  int provided = MPI_THREAD_SINGLE;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  rank_for_errors = rank;
  // mpirun forwards output through pipes: line buffering keeps the lines of a run that is killed.
  std::setvbuf(stdout, nullptr, _IOLBF, 0);

  Flags flags;
  int code = 2;
  if (ParseFlags(argc, argv, &flags)) {
    // The Checkpointer and the coordinator are gone by the time MPI is finalised.
    code = Run(flags, rank, size);
  } else if (rank == 0) {
    std::fprintf(stderr,
                 "usage: mpirun -np N %s <root> [--steps N] [--save-every K] [--kill-at S] "
                 "[--tp T]\n",
                 argv[0]);
  }
  MPI_Finalize();
  return code;
}
