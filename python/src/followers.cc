// The followers of a run: cairn.checkpoints_iterator (a Python iterator of leased steps) and
// cairn.wait_for_new_checkpoint. They wait without the GIL, woken by inotify.
#include <memory>
#include <string>
#include <utility>

#include "cairn/manager/checkpoints_iterator.h"
#include "cairn/manager/wait_for_checkpoint.h"
#include "cairn/python/src/bindings.h"

namespace cairn::python {
namespace {

// A wait the caller gave no timeout ends every kSignalCheckInterval, runs Python's signal
// handlers (timeout_fn runs on the waiting thread) and goes on unless one raised; the returned
// flag says whether one did, its exception then pending on this thread.
std::shared_ptr<bool> InterruptibleBySignals(FollowOptions& options) {
  auto signalled = std::make_shared<bool>(false);
  if (options.timeout.has_value()) return signalled;
  options.timeout = kSignalCheckInterval;
  options.timeout_fn = [signalled] {
    py::gil_scoped_acquire acquire;
    *signalled = PyErr_CheckSignals() != 0;
    return *signalled;
  };
  return signalled;
}

class PyCheckpointsIterator {
 public:
  PyCheckpointsIterator(CheckpointsIterator iterator, std::shared_ptr<bool> signalled)
      : iterator_(std::move(iterator)), signalled_(std::move(signalled)) {}

  LeasedStep Next() {
    absl::StatusOr<LeasedStep> next = WithoutGil([&] { return iterator_.Next(); });
    if (*signalled_) {
      *signalled_ = false;  // the iteration is over: later calls stop it
      throw py::error_already_set();
    }
    LeasedStep found = ValueOrThrow(std::move(next));
    if (!found.found()) throw py::stop_iteration();
    return found;
  }

  const CheckpointsIterator& get() const { return iterator_; }

 private:
  CheckpointsIterator iterator_;
  std::shared_ptr<bool> signalled_;
};

PyCheckpointsIterator OpenIterator(const std::string& root, const py::kwargs& kwargs) {
  Options options(kwargs);
  CheckpointsIteratorOptions out;
  options.TakeFollow(out);
  const std::string mode = options.Take<std::string>("mode").value_or("newest");
  if (mode == "every") {
    out.mode = FollowMode::kEveryStep;
  } else if (mode != "newest") {
    ThrowInvalidArgument("mode must be \"newest\" or \"every\", not \"" + mode + "\"");
  }
  if (auto interval = options.Take<double>("min_interval_secs")) {
    out.min_interval = absl::Seconds(*interval);
  }
  out.after_step = options.Take<int64_t>("after_step");
  options.CheckAllTaken();
  std::shared_ptr<bool> signalled = InterruptibleBySignals(out);
  return PyCheckpointsIterator(ValueOrThrow(CheckpointsIterator::Create(root, out)),
                               std::move(signalled));
}

LeasedStep WaitForNew(const std::string& root, const py::kwargs& kwargs) {
  Options options(kwargs);
  WaitForCheckpointOptions out;
  options.TakeFollow(out);
  out.until_step = options.Take<int64_t>("until_step");
  options.CheckAllTaken();
  std::shared_ptr<bool> signalled = InterruptibleBySignals(out);
  absl::StatusOr<LeasedStep> step = WithoutGil([&] { return WaitForNewCheckpoint(root, out); });
  if (*signalled) throw py::error_already_set();
  return ValueOrThrow(std::move(step));
}

}  // namespace

void RegisterFollowers(py::module_& m) {
  py::class_<LeasedStep>(m, "LeasedStep",
                         "A committed step handed to a follower, leased so that the trainer's "
                         "retention leaves it alone until release() (or a with-block's end, or "
                         "the object's deletion).")
      .def_property_readonly("step", &LeasedStep::step, "The step number; -1 when none came.")
      .def_property_readonly("path", &LeasedStep::path, "The step's directory, to load from.")
      .def_property_readonly("found", &LeasedStep::found)
      .def_property_readonly("leased", &LeasedStep::leased)
      .def("release", [](LeasedStep& step) { ThrowIfError(step.Release()); })
      .def("__int__", &LeasedStep::step)
      .def("__index__", &LeasedStep::step)
      .def("__bool__", &LeasedStep::found)
      .def("__repr__",
           [](const LeasedStep& step) {
             return "LeasedStep(step=" + std::to_string(step.step()) + ", path='" + step.path() +
                    "')";
           })
      .def("__enter__", [](py::object self) { return self; })
      .def("__exit__", [](LeasedStep& step, py::handle, py::handle, py::handle) {
        ThrowIfError(step.Release());
        return false;
      });

  py::class_<PyCheckpointsIterator>(m, "CheckpointsIterator",
                                    "Follows a run: yields each new committed step as a "
                                    "LeasedStep; ends when timeout_secs pass without one.")
      .def("__iter__", [](py::object self) { return self; })
      .def("__next__", &PyCheckpointsIterator::Next)
      .def_property_readonly("last_step",
                             [](const PyCheckpointsIterator& it) -> py::object {
                               if (!it.get().last_step()) return py::none();
                               return py::int_(*it.get().last_step());
                             })
      .def_property_readonly("notification_status", [](const PyCheckpointsIterator& it) {
        return it.get().notification_status().ToString();
      });

  m.def("checkpoints_iterator", &OpenIterator, py::arg("root"),
        "An iterator over the steps committed under `root` (which may not exist yet), each "
        "leased while you hold it. Options: mode (\"newest\" or \"every\"), timeout_secs, "
        "min_interval_secs, after_step, poll_interval_secs, lease_ttl_secs, step_prefix, "
        "step_format_fixed_length, commit_mode.");
  m.def("wait_for_new_checkpoint", &WaitForNew, py::arg("root"),
        "The newest committed step under `root` that is >= until_step, leased; a LeasedStep "
        "with step -1 when timeout_secs passed first. Options: until_step and those of "
        "checkpoints_iterator except mode, min_interval_secs and after_step.");
}

}  // namespace cairn::python
