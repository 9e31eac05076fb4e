// cairn.Checkpointer and cairn.SaveFuture over the C++ Checkpointer. Every call that saves,
// loads or waits releases the GIL, so an async save's background writing overlaps the Python
// training loop. With async_copy=False the caller's arrays are saved where they are: the
// objects stay referenced until the save's future is ready.
#include "cairn/manager/checkpointer.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "cairn/python/src/bindings.h"

namespace cairn::python {
namespace {

double Secs(absl::Duration duration) { return absl::ToDoubleSeconds(duration); }

class PySaveFuture {
 public:
  PySaveFuture(SaveFuture future, std::shared_ptr<Borrowed> borrowed)
      : future_(std::move(future)), borrowed_(std::move(borrowed)) {}

  int64_t step() const { return future_.step(); }
  bool started() const { return future_.started(); }
  bool done() const { return future_.Ready(); }

  void Result(std::optional<double> timeout_secs) {
    if (!timeout_secs) {
      while (!WithoutGil([&] { return future_.AwaitReady(kSignalCheckInterval); })) {
        RaiseIfSignalled();
      }
    }
    const absl::Status status = WithoutGil([&] {
      return timeout_secs ? future_.WaitFor(absl::Seconds(*timeout_secs)) : future_.Wait();
    });
    if (future_.Ready()) borrowed_.reset();
    ThrowIfError(status);
  }

  py::dict Report() const {
    const SaveReport report = future_.report();
    py::dict out;
    out["blocking_secs"] = Secs(report.blocking);
    out["waited_for_previous_secs"] = Secs(report.waited_for_previous);
    out["copy_secs"] = Secs(report.copy);
    out["write_secs"] = Secs(report.write);
    out["commit_secs"] = Secs(report.commit);
    out["total_secs"] = Secs(report.total);
    return out;
  }

 private:
  SaveFuture future_;
  std::shared_ptr<Borrowed> borrowed_;  // only for saves that read the caller's arrays late
};

// `kept` receives the Python objects the options point into (memory=), which the Checkpointer's
// loads use for as long as it lives.
std::unique_ptr<Checkpointer> Open(const std::string& root, const py::kwargs& kwargs,
                                   bool* host_copy, std::vector<py::object>* kept) {
  Options options(kwargs);
  CheckpointerOptions out;
  if (auto every = options.Take<int64_t>("save_interval_steps")) {
    out.save_policies.push_back(SavePolicy::EveryNSteps(*every));
  }
  if (auto steps = options.Take<std::set<int64_t>>("save_on_steps")) {
    out.save_policies.push_back(SavePolicy::AtSteps(*steps));
  }
  if (auto interval = options.Take<double>("save_min_interval_secs")) {
    out.save_policies.push_back(SavePolicy::Continuous(absl::Seconds(*interval)));
  }
  out.max_to_keep = options.Take<int>("max_to_keep");
  if (auto period = options.Take<int64_t>("keep_period")) {
    out.preservation_policies.push_back(PreservationPolicy::EveryNSteps(*period));
  }
  if (auto interval = options.Take<double>("keep_time_interval_secs")) {
    out.preservation_policies.push_back(
        PreservationPolicy::EveryNSeconds(absl::Seconds(*interval)));
  }
  std::optional<std::string> best_metric = options.Take<std::string>("best_metric");
  std::optional<std::string> best_mode = options.Take<std::string>("best_mode");
  std::optional<int> keep_best = options.Take<int>("keep_best");
  const bool keep_without = options.Take<bool>("keep_checkpoints_without_metrics").value_or(true);
  if (best_metric.has_value() != keep_best.has_value()) {
    ThrowInvalidArgument("best_metric and keep_best go together");
  }
  if (best_metric) {
    const std::string mode = best_mode.value_or("min");
    if (mode != "min" && mode != "max") {
      ThrowInvalidArgument("best_mode must be \"min\" or \"max\", not \"" + mode + "\"");
    }
    out.preservation_policies.push_back(PreservationPolicy::BestN(
        MetricKey(*best_metric), mode == "min" ? MetricMode::kMin : MetricMode::kMax, *keep_best,
        keep_without));
  }
  out.allow_deleting_latest = options.Take<bool>("allow_deleting_latest").value_or(false);
  out.todelete_subdir = options.Take<std::string>("todelete_subdir").value_or("");
  out.name_format = options.TakeNameFormat();
  out.commit_mode = options.TakeCommitMode();
  out.create_root = options.Take<bool>("create_root").value_or(true);
  out.read_only = options.Take<bool>("read_only").value_or(false);
  *host_copy = options.Take<bool>("async_copy").value_or(true);
  out.async_copy = *host_copy ? AsyncCopy::kHostCopy : AsyncCopy::kNoCopy;
  out.max_saves_in_flight = options.Take<int>("max_saves_in_flight").value_or(1);
  out.handle_sigterm = options.Take<bool>("handle_sigterm").value_or(false);
  out.cleanup_temporaries = options.Take<bool>("cleanup_temporaries").value_or(true);
  options.TakeStoreSave(out.store_save);
  options.TakeStoreLoad(out.store_load);
  options.CheckAllTaken();
  *kept = options.kept();
  return ValueOrThrow(WithoutGil([&] { return Checkpointer::Create(root, std::move(out)); }));
}

SaveArgs ArgsOf(py::object metrics, py::object custom_metadata, bool force, bool overwrite) {
  SaveArgs args;
  if (!metrics.is_none()) args.metrics = JsonFromPython(metrics);
  if (!custom_metadata.is_none()) args.custom_metadata = JsonFromPython(custom_metadata);
  args.force = force;
  args.overwrite = overwrite;
  return args;
}

class PyCheckpointer {
 public:
  PyCheckpointer(const std::string& root, const py::kwargs& kwargs)
      : checkpointer_(Open(root, kwargs, &host_copy_, &kept_)) {}
  ~PyCheckpointer() {
    {
      py::gil_scoped_release release;
      checkpointer_.reset();  // waits for the saves in flight
    }
    pinned_.clear();
  }

  Checkpointer& get() const { return *checkpointer_; }

  bool Save(int64_t step, py::handle state, py::object metrics, py::object custom_metadata,
            bool force, bool overwrite) {
    const SaveArgs args = ArgsOf(metrics, custom_metadata, force, overwrite);
    Borrowed borrowed;
    const Tree tree = TreeFromPython(state, borrowed);
    absl::StatusOr<bool> saved = WithoutGil([&] { return checkpointer_->Save(step, tree, args); });
    Unpin();
    return ValueOrThrow(std::move(saved));
  }

  PySaveFuture SaveAsync(int64_t step, py::handle state, py::object metrics,
                         py::object custom_metadata, bool force, bool overwrite) {
    const SaveArgs args = ArgsOf(metrics, custom_metadata, force, overwrite);
    auto borrowed = std::make_shared<Borrowed>();
    const Tree tree = TreeFromPython(state, *borrowed);
    absl::StatusOr<SaveFuture> future =
        WithoutGil([&] { return checkpointer_->SaveAsync(step, tree, args); });
    Unpin();
    SaveFuture started = ValueOrThrow(std::move(future));
    // With the host copy the arrays were copied before SaveAsync returned.
    if (host_copy_ || started.Ready()) return PySaveFuture(std::move(started), nullptr);
    pinned_.emplace_back(started, borrowed);
    return PySaveFuture(std::move(started), std::move(borrowed));
  }

  py::object Load(int64_t step, py::handle abstract, const py::kwargs& kwargs) const {
    Options options(kwargs);
    const CheckpointableName name = options.TakeItemName();
    options.CheckAllTaken();
    return LoadToPython(
        abstract, [&](const Tree& request) { return checkpointer_->Load(step, request, name); });
  }

  // Runs `call` without the GIL, then drops the arrays of finished saves.
  void Blocking(absl::Status (Checkpointer::*call)()) {
    const absl::Status status = WithoutGil([&] { return (checkpointer_.get()->*call)(); });
    Unpin();
    ThrowIfError(status);
  }

 private:
  void Unpin() {
    std::vector<std::pair<SaveFuture, std::shared_ptr<Borrowed>>> still;
    for (auto& entry : pinned_) {
      if (!entry.first.Ready()) still.push_back(std::move(entry));
    }
    pinned_ = std::move(still);
  }

  bool host_copy_ = true;
  std::vector<py::object> kept_;  // declared first: destroyed after the Checkpointer
  std::unique_ptr<Checkpointer> checkpointer_;
  // The caller's arrays that no-copy saves in flight still read.
  std::vector<std::pair<SaveFuture, std::shared_ptr<Borrowed>>> pinned_;
};

template <typename T>
py::object OptionalInt(const std::optional<T>& value) {
  return value ? py::object(py::int_(*value)) : py::none();
}

}  // namespace

void RegisterCheckpointer(py::module_& m) {
  py::class_<PySaveFuture>(m, "SaveFuture",
                           "The outcome of Checkpointer.save_async: done once the step has "
                           "committed or failed.")
      .def_property_readonly("step", &PySaveFuture::step)
      .def_property_readonly("started", &PySaveFuture::started,
                             "False when the save policies skipped the step.")
      .def("done", &PySaveFuture::done, "Whether the save has finished.")
      .def("result", &PySaveFuture::Result, py::arg("timeout") = py::none(),
           "Waits (without the GIL) until the step has committed; raises the save's error, or "
           "DeadlineExceededError (a TimeoutError) when `timeout` seconds pass first.")
      .def("report", &PySaveFuture::Report,
           "The save's timings in seconds: blocking (the caller's cost), copy, write, commit, "
           "total; complete once done().");

  py::class_<PyCheckpointer>(m, "Checkpointer",
                             "Saves the steps of a training run under one root: decides when "
                             "to save, saves in the background, commits each step atomically "
                             "and retires old steps by policy.")
      .def(py::init<const std::string&, const py::kwargs&>(), py::arg("root"))
      .def_property_readonly("root", [](const PyCheckpointer& c) { return c.get().root(); })
      .def(
          "step_dir", [](const PyCheckpointer& c, int64_t step) { return c.get().StepDir(step); },
          py::arg("step"))
      .def(
          "should_save",
          [](const PyCheckpointer& c, int64_t step) { return c.get().ShouldSave(step); },
          py::arg("step"))
      .def("save", &PyCheckpointer::Save, py::arg("step"), py::arg("state"), py::kw_only(),
           py::arg("metrics") = py::none(), py::arg("custom_metadata") = py::none(),
           py::arg("force") = false, py::arg("overwrite") = false,
           "Saves `step` and waits for its commit; False when the save policies skip it.")
      .def("save_async", &PyCheckpointer::SaveAsync, py::arg("step"), py::arg("state"),
           py::kw_only(), py::arg("metrics") = py::none(), py::arg("custom_metadata") = py::none(),
           py::arg("force") = false, py::arg("overwrite") = false,
           "Starts saving `step` in the background and returns a SaveFuture once the state is "
           "copied (async_copy=True, the default): the arrays may change from then on.")
      .def(
          "wait_until_finished",
          [](PyCheckpointer& c) { c.Blocking(&Checkpointer::WaitUntilFinished); },
          "Waits for every save in flight; raises errors of background saves not yet "
          "reported.")
      .def(
          "close", [](PyCheckpointer& c) { c.Blocking(&Checkpointer::Close); },
          "Waits for everything; later saves fail. Idempotent.")
      .def(
          "reload", [](PyCheckpointer& c) { c.Blocking(&Checkpointer::Reload); },
          "Lists the root again, picking up steps of other processes.")
      .def("apply_retention", [](PyCheckpointer& c) { c.Blocking(&Checkpointer::ApplyRetention); })
      .def(
          "delete",
          [](PyCheckpointer& c, int64_t step) {
            ThrowIfError(WithoutGil([&] { return c.get().Delete(step); }));
          },
          py::arg("step"))
      .def("is_saving_in_progress",
           [](const PyCheckpointer& c) { return c.get().IsSavingInProgress(); })
      .def(
          "latest_step", [](const PyCheckpointer& c) { return OptionalInt(c.get().LatestStep()); },
          "The latest committed step, or None.")
      .def(
          "all_steps", [](const PyCheckpointer& c) { return c.get().AllSteps(); },
          "The committed steps, ascending.")
      .def("best_step",
           [](const PyCheckpointer& c) { return OptionalInt(ValueOrThrow(c.get().BestStep())); })
      .def(
          "metrics",
          [](const PyCheckpointer& c, int64_t step) {
            return JsonToPython(ValueOrThrow(WithoutGil([&] { return c.get().Metrics(step); })));
          },
          py::arg("step"), "The metrics saved with `step`.")
      .def(
          "checkpoint_metadata",
          [](const PyCheckpointer& c, int64_t step) {
            return JsonToPython(
                ValueOrThrow(WithoutGil([&] { return c.get().Metadata(step); })).ToJson());
          },
          py::arg("step"))
      .def("load", &PyCheckpointer::Load, py::arg("step"), py::arg("abstract") = py::none(),
           "Loads the pytree of `step`, as saved or as `abstract` asks, with the load options "
           "given to the constructor (map_arrays, memory, ...). Options: item, flat.")
      .def(
          "notify_preemption", [](PyCheckpointer& c) { c.get().NotifyPreemption(); },
          "Records a preemption: the next step offered is saved.")
      .def_property_readonly("preempted",
                             [](const PyCheckpointer& c) { return c.get().Preempted(); })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](PyCheckpointer& c, py::handle type, py::handle, py::handle) {
        // A failure of the with-body wins over one of closing.
        try {
          c.Blocking(&Checkpointer::Close);
        } catch (const StatusError&) {
          if (type.is_none()) throw;
        }
        return false;
      });
}

}  // namespace cairn::python
