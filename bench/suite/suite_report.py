"""The suite's samples and what is printed of them: medians, ratios, the targets, and the
Markdown, JSON and CSV copies."""

import csv
import json
import os
import statistics

# key, label, unit; {leaf} and the states' sizes are filled in.
MAIN_ROWS = [
    ("save", "save, durable", "s"),
    ("load_warm", "load into fresh memory, warm cache", "s"),
    ("load_mapped", "load mapped (map_arrays, every chunk verified), warm cache", "s"),
    ("load_cold", "load into fresh memory, cold cache", "s"),
    ("partial_warm", "load one array ({leaf}), warm cache", "s"),
    ("partial_cold", "load one array ({leaf}), cold cache", "s"),
    ("async", "async save, time the loop blocks (raw: memcpy of the state; peers: their save)",
     "s"),
    ("save_z", "save compressed, durable, bf16 weights (raw: uncompressed)", "s"),
    ("load_z", "load compressed, warm cache (raw: uncompressed)", "s"),
    ("size", "size on disk, float32 state", "bytes"),
    ("size_z", "size on disk, bf16 weights compressed (raw: uncompressed)", "bytes"),
]
# cairn / raw must stay at or under these.
RAW_TARGETS = {"save": 1.10, "load_warm": 1.10, "async": 1.20}
# The machine's limit of a row (measured in the same run, column "limit"), and cairn / limit's
# target where there is one.
LIMIT_NAMES = {
    "save": "fio sequential direct write",
    "load_warm": "huge-page first touch + memcpy",
    "load_mapped": "pread into touched memory",
    "partial_warm": "pread of the array into touched memory",
    "async": "memcpy into touched memory",
}
LIMIT_TARGETS = {"load_warm": 1.5, "load_mapped": 0.5, "partial_warm": 2.0}
# The limits themselves, for the main state's bytes (pread_one: the one array's).
LIMIT_ROWS = [
    ("touch", "first touch of fresh memory, 4 KiB pages"),
    ("touch_huge", "first touch of fresh memory advised for huge pages (MADV_HUGEPAGE)"),
    ("memcpy", "memcpy into touched memory"),
    ("pread", "pread of the raw file into touched memory, warm cache"),
    ("pread_one", "pread of one array ({leaf}) into touched memory, warm cache"),
    ("fio_write", "fio sequential write, direct I/O, durable"),
]
LEAF_TARGET = 1.5  # save (and load) of 100,000 leaves over that of 100 leaves of the same bytes
# The printed ratios: name, row, what it is divided by.
RATIO_LINE = [
    ("load_warm_vs_limit", "load_warm", "limit"),
    ("mmap_load_vs_pread", "load_mapped", "limit"),
    ("one_array_vs_pread", "partial_warm", "limit"),
    ("save_vs_fio", "save", "limit"),
]


class Results:
    def __init__(self):
        self._samples = {}  # (row, column) -> [values]

    def add(self, row, column, value):
        self._samples.setdefault((row, column), []).append(value)

    def samples(self, row, column):
        return list(self._samples.get((row, column), []))

    def median(self, row, column):
        values = self._samples.get((row, column))
        return statistics.median(values) if values else None

    def items(self):
        return sorted(self._samples.items())


def seconds_text(value):
    if value is None:
        return "-"
    if value < 1e-3:
        return "%.0f us" % (value * 1e6)
    if value < 1:
        return "%.1f ms" % (value * 1e3) if value < 0.1 else "%.0f ms" % (value * 1e3)
    return "%.2f s" % value


def bytes_text(value):
    return "-" if value is None else "%.2f MiB" % (value / 2**20)


def ratio_text(value):
    return "-" if value is None else "%.2f" % value


def ratio(a, b):
    return a / b if a is not None and b else None


class Report:
    def __init__(self, results, states, machine, peers, leaf):
        self.results = results
        self.states = states
        self.machine = machine
        self.peers = peers
        self.leaf = leaf
        self.main = self._main_table()
        self.limits = self._limits_table()
        self.scale_bytes, self.scale_leaves, self.leaf_overhead = self._scale_tables()

    def _main_table(self):
        rows = []
        r = self.results
        for key, label, unit in MAIN_ROWS:
            cells = {col: r.median(key, col) for col in ("cairn", "raw") + self.peers}
            if all(v is None for v in cells.values()):
                continue
            peer_values = [cells[p] for p in self.peers if cells[p] is not None]
            best = min(peer_values) if peer_values else None
            vs_best = ratio(cells["cairn"], best)
            vs_raw = ratio(cells["cairn"], cells["raw"])
            limit = r.median(key, "limit")
            vs_limit = ratio(cells["cairn"], limit)
            met = vs_best is None or vs_best <= 1.0
            if key in RAW_TARGETS:
                met = met and vs_raw is not None and vs_raw <= RAW_TARGETS[key]
            if key in LIMIT_TARGETS and limit is not None:
                met = met and vs_limit is not None and vs_limit <= LIMIT_TARGETS[key]
            rows.append({"row": key, "label": label.format(leaf=self.leaf), "unit": unit,
                         "cells": cells, "runs": len(r.samples(key, "cairn")),
                         "limit": limit, "limit_name": LIMIT_NAMES.get(key),
                         "cairn_vs_limit": vs_limit,
                         "cairn_vs_best_peer": vs_best, "cairn_vs_raw": vs_raw,
                         "target": self._target_text(key), "met": met})
        return rows

    @staticmethod
    def _target_text(key):
        parts = ["<= best peer"]
        if key in RAW_TARGETS:
            parts.append("<= %.2fx %s" % (RAW_TARGETS[key], "memcpy" if key == "async" else "raw"))
        if key in LIMIT_TARGETS:
            parts.append("<= %.1fx limit" % LIMIT_TARGETS[key])
        return ", ".join(parts)

    def _limits_table(self):
        rows = []
        for key, label in LIMIT_ROWS:
            values = self.results.samples(key, "limit")
            if values:
                rows.append({"row": key, "label": label.format(leaf=self.leaf),
                             "median": self.results.median(key, "limit"),
                             "min": min(values), "max": max(values), "runs": len(values)})
        return rows

    def ratios(self):
        """The printed ratios, by name; None where a side was not measured."""
        out = {}
        for name, row, by in RATIO_LINE:
            out[name] = ratio(self.results.median(row, "cairn"), self.results.median(row, by))
        base = next((e for e in self.scale_leaves if e["leaves"] == 100), None)
        most = next((e for e in self.scale_leaves if e["leaves"] == 100000), None)
        for action in ("save", "load"):
            # Loads compare the loads into touched memory where they were measured: into fresh
            # memory, the 100 large leaves pay page faults that 100,000 small ones do not.
            column = "touched_cairn" if action == "load" and base and base.get(
                "touched_cairn") is not None else action + "_cairn"
            out["leaves_100k_vs_100_" + action] = (
                most and base and ratio(most[column], base[column]))
        return out

    def ratio_line(self):
        return " ".join("%s=%s" % (name, "-" if value is None else "%.3f" % value)
                        for name, value in self.ratios().items())

    def _scale_tables(self):
        by_bytes, by_leaves = [], []
        for (row, column), _ in self.results.items():
            if not row.startswith("save@") or column != "cairn":
                continue
            key = row.split("@", 1)[1]
            kind, mib, leaves = key.split(":")
            entry = {"mib": int(mib), "leaves": int(leaves)}
            for action in ("save", "load"):
                for col in ("cairn", "raw"):
                    entry["%s_%s" % (action, col)] = self.results.median(
                        "%s@%s" % (action, key), col)
                entry["%s_vs_raw" % action] = ratio(entry[action + "_cairn"],
                                                    entry[action + "_raw"])
            if kind == "leaves":
                for col in ("cairn", "raw"):
                    entry["touched_" + col] = self.results.median("load_touched@" + key, col)
            (by_bytes if kind == "bytes" else by_leaves).append(entry)
        by_bytes.sort(key=lambda e: e["mib"])
        by_leaves.sort(key=lambda e: e["leaves"])
        base = next((e for e in by_leaves if e["leaves"] == 100), None)
        for e in by_leaves:
            for action in ("save", "load", "touched"):
                e[action + "_vs_100_leaves"] = ratio(e.get(action + "_cairn"),
                                                     base and base.get(action + "_cairn"))
        most = by_leaves[-1] if by_leaves else None
        overhead = most and most["save_vs_100_leaves"]
        return by_bytes, by_leaves, overhead

    def _header(self):
        m = self.machine
        v = m["versions"]
        lines = [
            "Measured %s on %s, %d cores, %.0f GiB, Linux %s; files on %s; cold cache: %s." %
            (m["date"], m["cpu"], m["cores"], m["memory_gib"], m["kernel"], m["file_system"],
             m["cold_cache"]),
            "cairn %s (Release); raw: write() + fsync, read() into per-leaf buffers, one thread; "
            "Python %s, torch %s, numpy %s, h5py %s (HDF5 %s)." %
            (m["cairn_commit"], v["python"], v["torch"], v["numpy"], v["h5py"], v["hdf5"]),
        ]
        for name, s in sorted(self.states.items()):
            lines.append("State `%s`: %d arrays, %.1f MiB." % (name, s["leaves"],
                                                               s["bytes"] / 2**20))
        lines.append("Each cell is the median of %d runs (%d for the compressed rows, %d for "
                     "scale); the libraries take turns within a run, in rotating order." %
                     (m["runs"]["main"], m["runs"]["compressed"], m["runs"]["scale"]))
        if "fio" in m:
            lines.append("Limits: measured in the same runs, in a turn of their own in the "
                         "rotation; transparent huge pages %s; %s." %
                         (m["huge_pages"], m["fio"]))
        if "fresh_memory" in m:
            lines.append("Fresh memory: %s." % m["fresh_memory"])
        return lines

    def markdown(self):
        out = self._header() + [""]
        cols = ("cairn", "raw") + self.peers
        out.append("| operation | " + " | ".join(cols) +
                   " | limit | cairn / limit | cairn / best peer | cairn / raw | target | met |")
        out.append("|---" * (len(cols) + 7) + "|")
        for row in self.main:
            fmt = bytes_text if row["unit"] == "bytes" else seconds_text
            out.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
                row["label"], " | ".join(fmt(row["cells"][c]) for c in cols),
                seconds_text(row["limit"]), ratio_text(row["cairn_vs_limit"]),
                ratio_text(row["cairn_vs_best_peer"]), ratio_text(row["cairn_vs_raw"]),
                row["target"], "yes" if row["met"] else "**no**"))
        limited = [row for row in self.main if row["limit"] is not None]
        if limited:
            out.append("")
            out.append("Each row's limit: " + "; ".join(
                "%s: %s" % (row["row"], row["limit_name"]) for row in limited) + ".")
        if self.limits:
            out += ["", "The machine's limits (median, and the range over the runs):", "",
                    "| limit | median | min | max | runs |", "|---|---|---|---|---|"]
            for row in self.limits:
                out.append("| %s | %s | %s | %s | %d |" % (
                    row["label"], seconds_text(row["median"]), seconds_text(row["min"]),
                    seconds_text(row["max"]), row["runs"]))
        first = self.results.median("async_first", "cairn")
        if first is not None:
            out.append("")
            out.append("The first async save also maps its staging memory: %s; the row shows "
                       "the later ones." % seconds_text(first))
        if self.scale_bytes:
            out += ["", "How cost grows with bytes (float32 states of 100 equal leaves):", ""]
            out += self._scale_markdown(self.scale_bytes, False)
        if self.scale_leaves:
            out += ["", "How cost grows with leaves (%d MiB in all):" %
                    self.scale_leaves[0]["mib"], ""]
            out += self._scale_markdown(self.scale_leaves, True)
            out.append("")
            most = self.scale_leaves[-1]
            out.append("%d leaves over 100 leaves: save %s, load %s, load into touched memory "
                       "%s (target <= %.1f each; the load ratio printed is the touched one)." %
                       (most["leaves"], ratio_text(most.get("save_vs_100_leaves")),
                        ratio_text(most.get("load_vs_100_leaves")),
                        ratio_text(most.get("touched_vs_100_leaves")), LEAF_TARGET))
        return "\n".join(out)

    @staticmethod
    def _scale_markdown(entries, by_leaves):
        head = "| %s | cairn save | raw save | cairn / raw | cairn load | raw load | cairn / raw |" % (
            "leaves" if by_leaves else "state")
        extra = (" save / save of 100 leaves | load / load of 100 leaves | cairn load, touched "
                 "memory | raw pread, touched memory | touched load / that of 100 leaves |"
                 if by_leaves else "")
        lines = [head + extra, "|---" * (7 + (5 if by_leaves else 0)) + "|"]
        for e in entries:
            name = "{:,}".format(e["leaves"]) if by_leaves else "%d MiB" % e["mib"]
            line = "| %s | %s | %s | %s | %s | %s | %s |" % (
                name, seconds_text(e["save_cairn"]), seconds_text(e["save_raw"]),
                ratio_text(e["save_vs_raw"]), seconds_text(e["load_cairn"]),
                seconds_text(e["load_raw"]), ratio_text(e["load_vs_raw"]))
            if by_leaves:
                line += " %s | %s | %s | %s | %s |" % (
                    ratio_text(e["save_vs_100_leaves"]), ratio_text(e["load_vs_100_leaves"]),
                    seconds_text(e.get("touched_cairn")), seconds_text(e.get("touched_raw")),
                    ratio_text(e.get("touched_vs_100_leaves")))
            lines.append(line)
        return lines

    def write(self, out_dir, name="suite"):
        os.makedirs(out_dir, exist_ok=True)
        with open(os.path.join(out_dir, name + ".md"), "w") as f:
            f.write(self.markdown() + "\n\n" + self.ratio_line() + "\n")
        document = {
            "machine": self.machine, "states": self.states, "partial_leaf": self.leaf,
            "main": self.main, "limits": self.limits, "ratios": self.ratios(),
            "scale_bytes": self.scale_bytes,
            "scale_leaves": self.scale_leaves, "leaf_overhead": self.leaf_overhead,
            "samples": [{"row": row, "column": col, "values": values}
                        for (row, col), values in self.results.items()],
        }
        with open(os.path.join(out_dir, name + ".json"), "w") as f:
            json.dump(document, f, indent=1)
            f.write("\n")
        with open(os.path.join(out_dir, name + ".csv"), "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["row", "column", "unit", "median", "runs", "min", "max"])
            for (row, col), values in self.results.items():
                unit = "bytes" if row.startswith("size") else "s"
                writer.writerow([row, col, unit, statistics.median(values), len(values),
                                 min(values), max(values)])
