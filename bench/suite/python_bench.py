"""cairn from Python against torch.save/torch.load, numpy.savez/load and h5py, in one
interpreter and one run, on the comparison suite's 1 GiB training state (train_f32, built and
exported by the C++ suite_worker); and the same saves from C++ through that worker.

Rows: durable save (fsync for every library), warm load into fresh memory, cairn's Python
load with map_arrays=True (read-only views of the files, every chunk verified) and into an
ArrayArena kept across runs (the first run's load fills it: medians of 3 or more runs are loads
into reused memory), one-array load, and the time an async save blocks the loop (the peers have
none: their whole save). Each run interleaves the libraries in a rotating order; medians over
--runs runs. Prints the table and
  py_save_vs_best_peer=   cairn's Python save over the fastest peer's     (target <= 1.0)
  py_load_vs_best_peer=   cairn's fastest Python load mode (named) over the fastest peer's
                          load into fresh memory                          (target <= 0.8)
  py_plain_load_vs_best_peer= the same for cairn's load into fresh memory
  py_overhead_vs_cpp=     cairn's Python save over the same save from C++ (target <= 1.05)

Usage (scripts/bench-python.sh builds the worker and the package, installs the peers):
  PYTHONPATH=build-bench/python /usr/bin/python3 bench/suite/python_bench.py \
      --worker build-bench/bench/suite_worker [--runs 5] [--dir /var/tmp]
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import cairn  # noqa: E402
from peer_worker import Peers, flatten  # noqa: E402
from run_suite import EXTENSIONS, MAIN_STATE, PARTIAL_LEAF, PEERS, remove, rotated  # noqa: E402
from suite_worker_client import Worker  # noqa: E402

LIBS = ("cairn_py", "cairn_cpp") + PEERS
ROWS = ("save", "load_warm", "load_mapped", "load_arena", "partial_warm", "async")
# cairn's Python load modes: the row of each and its load options.
LOAD_MODES = {"load_warm": {}, "load_mapped": {"map_arrays": True}, "load_arena": None}


class PythonCairn:
    """cairn's Python package timed as the C++ worker times the library (bench/suite/
    cairn_ops.cc): the save is Checkpointer.save of step 0 (opening and closing untimed), a
    load opens a read-only Checkpointer and loads step 0."""

    def __init__(self, state):
        self.state = state
        self.arena = cairn.ArrayArena()  # kept across runs, as an evaluator keeps it
        self.tree = state.nested(
            lambda dtype, a: a.view(cairn.bfloat16) if dtype == "bfloat16" else a)

    def save(self, root):
        with cairn.Checkpointer(root) as ckpt:
            start = time.perf_counter()
            ckpt.save(0, self.tree)
            return time.perf_counter() - start

    def load(self, root, **options):
        start = time.perf_counter()
        with cairn.Checkpointer(root, read_only=True, create_root=False, **options) as ckpt:
            loaded = ckpt.load(0)
        seconds = time.perf_counter() - start
        self.state.check(dict(flatten(loaded)))
        return seconds

    def partial(self, root, leaf):
        abstract = node = {}
        keys = leaf.split("/")
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = cairn.ArraySpec()
        start = time.perf_counter()
        with cairn.Checkpointer(root, read_only=True, create_root=False, partial=True) as ckpt:
            loaded = ckpt.load(0, abstract)
        seconds = time.perf_counter() - start
        for key in keys:
            loaded = loaded[key]
        self.state.check_one(leaf, loaded)
        return seconds

    def async_blocking(self, root, saves):
        """The loop's blocking time per save_async after the first (the host copy into reused
        staging memory), as the C++ worker's async op measures it."""
        later = []
        with cairn.Checkpointer(root, max_to_keep=1) as ckpt:
            for step in range(saves):
                start = time.perf_counter()
                future = ckpt.save_async(step, self.tree)
                blocked = time.perf_counter() - start
                future.result()
                if step:
                    later.append(blocked)
        return statistics.median(later)


# Every large allocation a fresh mapping, in this interpreter as in the C++ worker (as
# run_suite.py starts both of its workers): loads pay the page faults of a process that has
# just started, on every side. glibc reads it at startup, hence the re-exec.
MMAP_THRESHOLD = str(256 << 10)


def main():
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") != MMAP_THRESHOLD:
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=MMAP_THRESHOLD)
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", required=True, help="the suite_worker binary")
    parser.add_argument("--dir", default=os.environ.get("CAIRN_BENCH_DIR", "/var/tmp"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--async-saves", type=int, default=6)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="cairn-pybench-", dir=args.dir)
    cpp = Worker([args.worker], dict(os.environ))
    samples = {(row, lib): [] for row in ROWS for lib in LIBS}
    try:
        export_dir = os.path.join(scratch, "export")
        os.mkdir(export_dir)
        states = cpp.call(op="prepare", seed=1, export_dir=export_dir)
        peers = Peers()
        versions = peers.prepare({"export_dir": export_dir, "states": [MAIN_STATE]})["versions"]
        shutil.rmtree(export_dir)
        state = peers.states[MAIN_STATE]
        py = PythonCairn(state)
        print("state %s: %d leaves, %.2f GiB; %s; in %s" % (
            MAIN_STATE, states[MAIN_STATE]["leaves"], states[MAIN_STATE]["bytes"] / 2**30,
            ", ".join("%s %s" % kv for kv in sorted(versions.items())), scratch), flush=True)

        def peer(lib, action, path, **extra):
            return peers.run(dict(lib=lib, action=action, state=MAIN_STATE, path=path,
                                  **extra))["seconds"]

        def cpp_run(action, path, **extra):
            return cpp.call(op="run", lib="cairn", action=action, state=MAIN_STATE, path=path,
                            **extra)["seconds"]

        for run in range(args.runs):
            for lib in rotated(LIBS, run):
                path = os.path.join(scratch, "%s-%d%s" % (lib, run, EXTENSIONS.get(lib, "")))
                if lib == "cairn_py":
                    times = {"save": py.save(path)}
                    for row, options in LOAD_MODES.items():
                        times[row] = py.load(path, **(options or {"memory": py.arena}))
                    times["partial_warm"] = py.partial(path, PARTIAL_LEAF)
                elif lib == "cairn_cpp":
                    times = {"save": cpp_run("save", path), "load_warm": cpp_run("load", path),
                             "partial_warm": cpp_run("partial", path, leaf=PARTIAL_LEAF)}
                else:
                    times = {"save": peer(lib, "save", path), "load_warm": peer(lib, "load", path),
                             "partial_warm": peer(lib, "partial", path, leaf=PARTIAL_LEAF)}
                for row, seconds in times.items():
                    samples[(row, lib)].append(seconds)
                remove(path)
            root = os.path.join(scratch, "async-%d" % run)
            samples[("async", "cairn_py")].append(py.async_blocking(root, args.async_saves))
            remove(root)
            answer = cpp.call(op="async", state=MAIN_STATE, path=root, saves=args.async_saves)
            samples[("async", "cairn_cpp")].append(answer["steady"])
            remove(root)
            for lib in PEERS:  # no async save: the loop waits for the whole save
                samples[("async", lib)].append(samples[("save", lib)][-1])
            print("  run %d of %d done" % (run + 1, args.runs), flush=True)
    finally:
        cpp.close()
        shutil.rmtree(scratch, ignore_errors=True)

    median = {key: statistics.median(values) for key, values in samples.items() if values}
    print()
    print("| median seconds (%d runs) | %s |" % (args.runs, " | ".join(LIBS)))
    print("|---|%s" % ("---|" * len(LIBS)))
    for row in ROWS:
        cells = ("%.3f" % median[(row, lib)] if (row, lib) in median else "-" for lib in LIBS)
        print("| %s | %s |" % (row, " | ".join(cells)))
    print()

    def best_peer(row):
        return min(median[(row, lib)] for lib in PEERS)

    print("py_save_vs_best_peer=%.3f" % (median[("save", "cairn_py")] / best_peer("save")))
    best_mode = min(LOAD_MODES, key=lambda row: median[(row, "cairn_py")])
    print("py_load_vs_best_peer=%.3f (%s)" % (median[(best_mode, "cairn_py")] /
                                              best_peer("load_warm"), best_mode))
    print("py_plain_load_vs_best_peer=%.3f" % (median[("load_warm", "cairn_py")] /
                                               best_peer("load_warm")))
    print("py_partial_vs_best_peer=%.3f" % (median[("partial_warm", "cairn_py")] /
                                            best_peer("partial_warm")))
    print("py_async_vs_best_peer=%.3f" % (median[("async", "cairn_py")] / best_peer("async")))
    print("py_overhead_vs_cpp=%.3f" % (median[("save", "cairn_py")] /
                                       median[("save", "cairn_cpp")]))
    print("py_load_overhead_vs_cpp=%.3f" % (median[("load_warm", "cairn_py")] /
                                            median[("load_warm", "cairn_cpp")]))


if __name__ == "__main__":
    main()
