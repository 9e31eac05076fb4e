"""The peers' side of the comparison suite: torch.save/torch.load, numpy.savez/numpy.load and
h5py, timed on the states the C++ worker exported (the same bytes cairn saves).

run_suite.py drives it like the C++ worker: one JSON request per line on stdin, one JSON
answer per line on stdout ({"seconds": s}, or {"error": "..."}). Every save is made durable
(fsync) before its timer stops; every load lands in fresh memory and is checked afterwards.
"""

import json
import os
import sys
import time

import h5py
import numpy as np
import torch

LIBS = ("torch", "numpy", "h5py")


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class State:
    """One exported state: its leaves as numpy arrays (bfloat16 held as uint16), in order."""

    def __init__(self, export_dir, name):
        with open(os.path.join(export_dir, name + ".json")) as f:
            manifest = json.load(f)
        raw = np.fromfile(os.path.join(export_dir, name + ".bin"), dtype=np.uint8)
        self.name = name
        self.leaves = []  # (path, dtype name, numpy array)
        self.by_path = {}
        for leaf in manifest["leaves"]:
            dtype = "uint16" if leaf["dtype"] == "bfloat16" else leaf["dtype"]
            data = raw[leaf["offset"]:leaf["offset"] + leaf["bytes"]]
            array = data.view(dtype).reshape(leaf["shape"])
            self.leaves.append((leaf["path"], leaf["dtype"], array))
            self.by_path[leaf["path"]] = array

    def nested(self, convert):
        tree = {}
        for path, dtype, array in self.leaves:
            node = tree
            keys = path.split("/")
            for key in keys[:-1]:
                node = node.setdefault(key, {})
            node[keys[-1]] = convert(dtype, array)
        return tree

    def check(self, loaded):
        """`loaded` maps each leaf's path to the numpy array a peer read back."""
        if len(loaded) != len(self.leaves):
            raise RuntimeError("loaded %d leaves of %d" % (len(loaded), len(self.leaves)))
        for path, _, _ in self.leaves:
            self.check_one(path, loaded[path])

    def check_one(self, path, got):
        want = self.by_path[path]
        if got.shape != want.shape or not np.array_equal(got.view(want.dtype), want):
            raise RuntimeError("%s read back wrong" % path)


def torch_tensor(dtype, array):
    if dtype == "bfloat16":  # torch takes no uint16 arrays: the bits go through int16
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def torch_numpy(tensor):
    if tensor.dtype == torch.bfloat16:
        tensor = tensor.view(torch.int16)
    return tensor.numpy()


def flatten(tree, prefix=""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from flatten(value, prefix + key + "/")
        else:
            yield prefix + key, value


class Peers:
    def __init__(self):
        self.states = {}
        self.torch_trees = {}

    def prepare(self, request):
        for name in request["states"]:
            state = State(request["export_dir"], name)
            self.states[name] = state
            self.torch_trees[name] = state.nested(torch_tensor)
        return {"versions": {"python": sys.version.split()[0], "numpy": np.__version__,
                             "torch": torch.__version__, "h5py": h5py.__version__,
                             "hdf5": h5py.version.hdf5_version}}

    # torch: the state as a nested dict of tensors, as a state_dict is saved.
    def torch_save(self, state, path, compress):
        if compress:
            raise ValueError("torch.save has no compression")
        tree = self.torch_trees[state.name]
        start = time.perf_counter()
        torch.save(tree, path)
        fsync_path(path)
        return time.perf_counter() - start, None

    def torch_load(self, state, path):
        start = time.perf_counter()
        tree = torch.load(path)
        seconds = time.perf_counter() - start
        return seconds, {p: torch_numpy(t) for p, t in flatten(tree)}

    def torch_partial(self, state, path, leaf):
        # torch.load reads the whole file: this version has no lazy or memory-mapped load.
        start = time.perf_counter()
        node = torch.load(path)
        for key in leaf.split("/"):
            node = node[key]
        return time.perf_counter() - start, torch_numpy(node)

    # numpy: one .npy member per leaf in a zip, named by the leaf's path.
    def numpy_save(self, state, path, compress):
        arrays = {p: a for p, _, a in state.leaves}
        start = time.perf_counter()
        (np.savez_compressed if compress else np.savez)(path, **arrays)
        fsync_path(path)
        return time.perf_counter() - start, None

    def numpy_load(self, state, path):
        start = time.perf_counter()
        with np.load(path) as archive:
            loaded = {name: archive[name] for name in archive.files}
        return time.perf_counter() - start, loaded

    def numpy_partial(self, state, path, leaf):
        start = time.perf_counter()
        with np.load(path) as archive:
            array = archive[leaf]
        return time.perf_counter() - start, array

    # h5py: one dataset per leaf, in groups by path; compressed with gzip level 1 after the
    # shuffle filter (HDF5's fastest standard deflate setting), chunked as h5py chooses.
    def h5py_save(self, state, path, compress):
        start = time.perf_counter()
        with h5py.File(path, "w") as f:
            for leaf, _, array in state.leaves:
                if compress and array.ndim > 0:
                    f.create_dataset(leaf, data=array, compression="gzip", compression_opts=1,
                                     shuffle=True)
                else:
                    f.create_dataset(leaf, data=array)
        fsync_path(path)
        return time.perf_counter() - start, None

    def h5py_load(self, state, path):
        loaded = {}
        start = time.perf_counter()
        with h5py.File(path, "r") as f:
            for leaf, _, _ in state.leaves:
                loaded[leaf] = f[leaf][()]
        return time.perf_counter() - start, loaded

    def h5py_partial(self, state, path, leaf):
        start = time.perf_counter()
        with h5py.File(path, "r") as f:
            array = f[leaf][()]
        return time.perf_counter() - start, array

    def run(self, request):
        lib, action = request["lib"], request["action"]
        if lib not in LIBS:
            raise ValueError("unknown peer " + lib)
        state = self.states[request["state"]]
        path = request["path"]
        if action == "save":
            seconds, _ = getattr(self, lib + "_save")(state, path, request.get("compress", False))
        elif action == "load":
            seconds, loaded = getattr(self, lib + "_load")(state, path)
            state.check(loaded)
        elif action == "partial":
            seconds, array = getattr(self, lib + "_partial")(state, path, request["leaf"])
            state.check_one(request["leaf"], array)
        else:
            raise ValueError("unknown action " + action)
        return {"seconds": seconds}


def main():
    peers = Peers()
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            if request["op"] == "quit":
                break
            if request["op"] == "prepare":
                answer = peers.prepare(request)
            elif request["op"] == "run":
                answer = peers.run(request)
            else:
                answer = {"error": "unknown op " + request["op"]}
        except Exception as error:  # reported to the driver, which stops the suite
            answer = {"error": "%s: %s" % (type(error).__name__, error)}
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
