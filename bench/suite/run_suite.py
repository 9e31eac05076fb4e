"""The comparison suite: cairn against raw write()/read() of the same bytes, torch.save/load,
numpy.savez/load and h5py, on the same states, the same file system, in one run, and against
the machine's limits measured in the same run (first touch of fresh memory with and without
huge pages, memcpy and pread into touched memory, fio's sequential direct write).

It starts two workers, suite_worker (cairn and the raw baseline, in C++) and peer_worker.py
(the peers), has the C++ one build the states from a seed and export them, then interleaves the
libraries run by run (the order rotates, so no library always meets another's writeback) and
prints the medians: one table of operations with each row's limit, the limits themselves, and
how cost grows with bytes and with leaves. The limits take their own turn in the rotation.
A JSON and a CSV copy, and the tables as Markdown, go to --out.

Usage (scripts/bench-suite.sh builds the worker and installs the peers first):
  python3 bench/suite/run_suite.py --worker build-bench/bench/suite_worker [--runs 5] ...
  ... --only limits: the rows set against a limit alone (the main rows with the limits, and
  the 100- and 100,000-leaf rows, all with --runs runs).
"""

import argparse
import datetime
import os
import platform
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import suite_report  # noqa: E402
from fio_limit import FioWrite  # noqa: E402
from suite_cache import PageCache  # noqa: E402
from suite_worker_client import Worker  # noqa: E402

PEERS = ("torch", "numpy", "h5py")
LIBS = ("cairn", "raw") + PEERS
COMPRESSING = ("cairn", "raw", "numpy", "h5py")  # raw: the same bytes, uncompressed
EXTENSIONS = {"cairn": "", "raw": ".bin", "torch": ".pt", "numpy": ".npz", "h5py": ".h5"}
MAIN_STATE = "train_f32"
COMPRESSED_STATE = "weights_bf16"
PARTIAL_LEAF = "params/layer3/mlp_in"
LIMITS = "limit"  # the column, and the turn in the rotation, of the machine's limits
LEAF_COUNTS = (10, 100, 1000, 100000)
LIMIT_LEAF_COUNTS = (100, 100000)  # the two the leaf-count ratios compare


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    parser.add_argument("--worker", required=True, help="the suite_worker binary")
    parser.add_argument("--dir", default=os.environ.get("CAIRN_BENCH_DIR", "/var/tmp"),
                        help="file system to save to (default $CAIRN_BENCH_DIR or /var/tmp)")
    parser.add_argument("--out", default=os.path.join(here, "..", "results"),
                        help="where suite.json, suite.csv and suite.md go")
    parser.add_argument("--runs", type=int, default=5, help="runs of the main rows")
    parser.add_argument("--compressed-runs", type=int, default=3)
    parser.add_argument("--scale-runs", type=int, default=3)
    parser.add_argument("--async-saves", type=int, default=6)
    parser.add_argument("--leaves-mib", type=int, default=256,
                        help="total size of the states of the leaf-count rows")
    parser.add_argument("--skip", default="", help="comma-separated parts to skip: "
                        "main,compressed,async,scale")
    parser.add_argument("--only", choices=("limits",), help="limits: only the rows set "
                        "against a limit (main rows and limits, 100 and 100,000 leaves)")
    parser.add_argument("--no-prime", dest="prime", action="store_false",
                        help="do not touch and free fresh memory before each timed operation "
                        "(see docs/BENCHMARKS.md, \"Fresh memory on this virtual machine\")")
    return parser.parse_args()


def rotated(libs, run):
    k = run % len(libs)
    return libs[k:] + libs[:k]


def disk_bytes(path):
    """Apparent size of a file, or of every file under a directory."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    return sum(os.path.getsize(os.path.join(root, name))
               for root, _, names in os.walk(path) for name in names)


def remove(path):
    if os.path.isdir(path):
        shutil.rmtree(path)
    elif os.path.exists(path):
        os.remove(path)


class Suite:
    def __init__(self, args, scratch, workers, cache, fio, states):
        self.args = args
        self.scratch = scratch
        self.workers = workers  # lib -> Worker
        self.cache = cache
        self.fio = fio
        self.states = states
        self.state_bytes = {name: info["bytes"] for name, info in states.items()}
        self.results = suite_report.Results()

    def prime(self, state_bytes):
        """Under free page reporting, a guest hands the pages it freed back to the host within
        about a second, and touching them again costs the host's faults: 30 times the guest's
        (docs/BENCHMARKS.md). Touching and freeing more than the operation will take, just
        before it, gives every library and limit pages the host still backs, as on a machine
        without a hypervisor; without it a row depends on what ran a second before."""
        prime_bytes = self.prime_bytes(state_bytes)
        if prime_bytes:
            self.workers["cairn"].call(op="prime", bytes=prime_bytes)

    def prime_bytes(self, state_bytes):
        return state_bytes + state_bytes // 4 + (64 << 20) if self.args.prime else 0

    def run(self, lib, action, state, path, **extra):
        self.prime(self.state_bytes[state])
        answer = self.workers[lib].call(op="run", lib=lib, action=action, state=state,
                                        path=path, **extra)
        return answer["seconds"]

    def path(self, lib, tag):
        return os.path.join(self.scratch, "%s-%s%s" % (lib, tag, EXTENSIONS[lib]))

    def limit_turn(self):
        """The memory limits for the main state's bytes, and the device's durable write."""
        record = self.results.add
        # Primed before each first touch, inside the worker: the first one frees what the
        # second would otherwise find already reported.
        memory = self.workers["cairn"].call(
            op="limits", state=MAIN_STATE,
            prime_bytes=self.prime_bytes(self.state_bytes[MAIN_STATE]))
        for name in ("touch", "touch_huge", "memcpy"):
            record(name, LIMITS, memory[name])
        # A load into fresh memory at best faults its pages in as huge pages and copies.
        record("load_warm", LIMITS, memory["touch_huge"] + memory["memcpy"])
        record("async", LIMITS, memory["memcpy"])
        if self.fio.works:
            seconds = self.fio.seconds(self.states[MAIN_STATE]["bytes"])
            record("fio_write", LIMITS, seconds)
            record("save", LIMITS, seconds)

    def main_rows(self):
        record = self.results.add
        for run in range(self.args.runs):
            for lib in rotated(LIBS + (LIMITS,), run):
                if lib == LIMITS:
                    self.limit_turn()
                    continue
                path = self.path(lib, run)
                record("save", lib, self.run(lib, "save", MAIN_STATE, path))
                record("load_warm", lib, self.run(lib, "load", MAIN_STATE, path))
                if lib == "cairn":
                    record("load_mapped", lib, self.run(lib, "load_mapped", MAIN_STATE, path))
                record("partial_warm", lib,
                       self.run(lib, "partial", MAIN_STATE, path, leaf=PARTIAL_LEAF))
                if lib == "raw":  # the same bytes, warm, into touched memory: the read limit
                    for row, extra in (("load_mapped", {}), ("partial_warm",
                                                              {"leaf": PARTIAL_LEAF})):
                        seconds = self.run(lib, "pread", MAIN_STATE, path, **extra)
                        record(row, LIMITS, seconds)
                        record("pread" if not extra else "pread_one", LIMITS, seconds)
                if self.cache.works:
                    self.cache.evict(path)
                    record("load_cold", lib, self.run(lib, "load", MAIN_STATE, path))
                    self.cache.evict(path)
                    record("partial_cold", lib,
                           self.run(lib, "partial", MAIN_STATE, path, leaf=PARTIAL_LEAF))
                if run == 0:
                    record("size", lib, disk_bytes(path))
                remove(path)
            print("  main rows: run %d of %d done" % (run + 1, self.args.runs), flush=True)

    def compressed_rows(self):
        record = self.results.add
        for run in range(self.args.compressed_runs):
            for lib in rotated(COMPRESSING, run):
                path = self.path(lib, "z%d" % run)
                compress = lib != "raw"
                record("save_z", lib,
                       self.run(lib, "save", COMPRESSED_STATE, path, compress=compress))
                record("load_z", lib, self.run(lib, "load", COMPRESSED_STATE, path))
                if run == 0:
                    record("size_z", lib, disk_bytes(path))
                remove(path)
            print("  compressed rows: run %d of %d done" % (run + 1, self.args.compressed_runs),
                  flush=True)

    def async_row(self):
        root = os.path.join(self.scratch, "async")
        answer = self.workers["cairn"].call(op="async", state=MAIN_STATE, path=root,
                                            saves=self.args.async_saves)
        remove(root)
        self.results.add("async", "cairn", answer["steady"])
        self.results.add("async_first", "cairn", answer["first"])
        self.results.add("async", "raw", answer["memcpy"])
        for peer in PEERS:  # they have no async save: the loop waits for the whole save
            for seconds in self.results.samples("save", peer):
                self.results.add("async", peer, seconds)

    def scale_rows(self, limits_only=False):
        configs = [] if limits_only else [("bytes", mib, 100) for mib in (1, 10, 100, 1000)]
        counts = LIMIT_LEAF_COUNTS if limits_only else LEAF_COUNTS
        configs += [("leaves", self.args.leaves_mib, n) for n in counts]
        runs = self.args.runs if limits_only else self.args.scale_runs
        worker = self.workers["cairn"]
        for kind, mib, leaves in configs:
            state = worker.call(op="uniform", mib=mib, leaves=leaves)
            self.state_bytes[state["name"]] = state["bytes"]
            key = "%s:%d:%d" % (kind, mib, leaves)
            for run in range(runs):
                for lib in rotated(("cairn", "raw"), run):
                    path = self.path(lib, "scale%d" % run)
                    self.results.add("save@" + key, lib,
                                     self.run(lib, "save", state["name"], path))
                    self.results.add("load@" + key, lib,
                                     self.run(lib, "load", state["name"], path))
                    if kind == "leaves":
                        # Into memory touched beforehand, on both sides: what the leaves cost
                        # without the fresh-memory faults that only large arrays pay.
                        self.results.add("load_touched@" + key, lib, self.run(
                            lib, "load_into" if lib == "cairn" else "pread", state["name"], path))
                    remove(path)
            worker.call(op="drop", state=state["name"])
            print("  scale: %d MiB in %d leaves done" % (mib, leaves), flush=True)


def read_first_line(path):
    try:
        with open(path) as f:
            return f.readline().strip()
    except OSError:
        return "unknown"


def fresh_memory(args):
    order = read_first_line("/sys/module/page_reporting/parameters/page_reporting_order")
    reporting = ("the kernel reports free pages to its host (order %s)" % order
                 if order != "unknown" else "no free page reporting")
    primed = ("memory touched and freed before each timed operation" if args.prime
              else "not primed (--no-prime)")
    return "%s; %s" % (reporting, primed)


def machine(args, versions, cache, fio):
    cpu = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kib = int(f.readline().split()[1])
    fstype = subprocess.run(["findmnt", "-n", "-o", "FSTYPE", "--target", args.dir],
                            capture_output=True, text=True).stdout.strip() or "unknown"
    commit = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)),
                             "describe", "--always", "--dirty"], capture_output=True,
                            text=True).stdout.strip()
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
        "kernel": platform.release(), "file_system": "%s (%s)" % (args.dir, fstype),
        "cold_cache": cache.description, "cairn_commit": commit or "unknown",
        "versions": versions, "fio": fio.describe() if fio.works else "absent",
        "huge_pages": "enabled %s, defrag %s" % (
            read_first_line("/sys/kernel/mm/transparent_hugepage/enabled"),
            read_first_line("/sys/kernel/mm/transparent_hugepage/defrag")),
        "fresh_memory": fresh_memory(args),
        "runs": {"main": args.runs, "compressed": args.compressed_runs,
                 "scale": args.runs if args.only else args.scale_runs,
                 "async_saves": args.async_saves},
    }


def main():
    args = parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if args.only == "limits":
        skip |= {"compressed", "async"}
    os.makedirs(args.dir, exist_ok=True)
    scratch = tempfile.mkdtemp(prefix="cairn-suite-", dir=args.dir)
    # Both workers get every large allocation as a fresh mapping (suite_worker sets the same
    # with mallopt): loads pay the page faults of a process that has just started.
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_=str(256 << 10))
    here = os.path.dirname(os.path.abspath(__file__))
    cpp = Worker([args.worker], env)
    peers = Worker([sys.executable, os.path.join(here, "peer_worker.py")], env)
    try:
        print("building the states (seed 1) in %s" % scratch, flush=True)
        export_dir = os.path.join(scratch, "export")
        os.mkdir(export_dir)
        states = cpp.call(op="prepare", seed=1, export_dir=export_dir)
        versions = peers.call(op="prepare", export_dir=export_dir,
                              states=[MAIN_STATE, COMPRESSED_STATE])["versions"]
        shutil.rmtree(export_dir)  # the peers hold the states in memory now
        cache = PageCache(scratch)
        print("cold cache: %s" % cache.description, flush=True)
        fio = FioWrite(scratch)
        print("device write limit: %s" % (fio.describe() if fio.works else
                                           "fio is absent: no limit for the save row"),
              flush=True)
        workers = {lib: cpp if lib in ("cairn", "raw") else peers for lib in LIBS}
        suite = Suite(args, scratch, workers, cache, fio, states)
        if "main" not in skip:
            suite.main_rows()
        if "compressed" not in skip:
            suite.compressed_rows()
        if "async" not in skip:
            suite.async_row()
        if "scale" not in skip:
            suite.scale_rows(limits_only=args.only == "limits")
        report = suite_report.Report(suite.results, states,
                                     machine(args, versions, cache, fio), PEERS, PARTIAL_LEAF)
        print()
        print(report.markdown())
        print()
        print(report.ratio_line())
        name = "suite-limits" if args.only == "limits" else "suite"
        report.write(args.out, name)
        print("written: %s/%s.{md,json,csv}" % (os.path.abspath(args.out), name))
    finally:
        cpp.close()
        peers.close()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
