"""The Python quick start: save and load one state, then a training loop that saves
asynchronously while an evaluator thread follows the run and scores every step it commits.

Usage: /usr/bin/python3 train_and_evaluate.py <directory>
"""

import os
import sys
import threading

import numpy as np

import cairn


def save_and_load(directory):
    state = {
        "params": {"w": np.random.default_rng(0).standard_normal((256, 128), np.float32),
                   "b": np.zeros(128, np.float32)},
        "step": 1000,
        "config": {"lr": 3e-4, "name": "demo"},
    }
    path = os.path.join(directory, "one")
    cairn.save(path, state)
    # Everything as saved: numpy arrays over cairn's memory, no copy.
    loaded = cairn.load(path)
    assert np.array_equal(loaded["params"]["w"], state["params"]["w"])
    # An abstract tree: w as bfloat16, b into an existing buffer, the config skipped.
    b = np.empty(128, np.float32)
    partial = cairn.load(path, {"params": {"w": cairn.ArraySpec(dtype=cairn.bfloat16), "b": b},
                                "step": int, "config": ...})
    assert partial["params"]["b"] is b and partial["config"] is Ellipsis
    w16 = cairn.to_float32(partial["params"]["w"])
    print(f"saved and loaded {path}: w as bfloat16 differs by at most "
          f"{np.max(np.abs(w16 - state['params']['w'])):.3g}")


def evaluate(root, last_step, scores):
    for leased in cairn.checkpoints_iterator(root, mode="every", timeout_secs=60):
        with leased:  # the trainer's retention keeps this step until we release it
            params = cairn.load(leased.path)["params"]
            scores[leased.step] = float(np.linalg.norm(params["w"]))
        if leased.step >= last_step:
            return


def train(root, steps):
    rng = np.random.default_rng(1)
    params = {"w": rng.standard_normal((256, 128), np.float32), "b": np.zeros(128, np.float32)}
    with cairn.Checkpointer(root, save_interval_steps=5, max_to_keep=2) as ckpt:
        start = ckpt.latest_step()
        if start is not None:
            params = ckpt.load(start)["params"]
        for step in range(0 if start is None else start + 1, steps + 1):
            params["w"] *= 0.99  # the "training"
            loss = float(np.mean(params["w"] ** 2))
            # Returns once the state is copied; the write overlaps the next steps.
            ckpt.save_async(step, {"params": params, "step": step}, metrics={"loss": loss})
        ckpt.wait_until_finished()
        return ckpt.all_steps()


def main():
    directory = sys.argv[1]
    save_and_load(directory)
    root = os.path.join(directory, "run")
    scores = {}
    evaluator = threading.Thread(target=evaluate, args=(root, 30, scores))
    evaluator.start()
    kept = train(root, 30)
    evaluator.join()
    print("trainer kept steps", kept, "; evaluator scored",
          ", ".join(f"{step}: {score:.2f}" for step, score in sorted(scores.items())))
    print("python demo ok")


if __name__ == "__main__":
    main()
