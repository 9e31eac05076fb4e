"""A Python trainer followed by the C++ evaluator, a C++ trainer followed from Python, and the
cairn command on steps Python saved: one root, one format."""

import re
import subprocess

import numpy as np

import cairn

LINE = re.compile(r"^step (\d+): (\d+) arrays, (\d+) elements, l2 norm ([^,]+),", re.M)


def test_cpp_evaluator_follows_a_python_trainer(tmp_path, evaluate_run):
    root = str(tmp_path / "run")
    evaluator = subprocess.Popen(
        [evaluate_run, root, "--until-step", "20", "--timeout-secs", "60", "--poll-secs", "0.2"],
        stdout=subprocess.PIPE, text=True)
    rng = np.random.default_rng(0)
    norms = {}
    with cairn.Checkpointer(root, save_interval_steps=5) as ckpt:
        for step in range(21):
            state = {
                "params": {"w": rng.standard_normal((32, 16), np.float32),
                           "b": rng.standard_normal(16)},
                "counts": np.arange(step, dtype=np.int64),
                "step": step,
            }
            if ckpt.save_async(step, state).started:
                squares = sum(float(np.sum(a.astype(np.float64) ** 2))
                              for a in state["params"].values())
                norms[step] = squares ** 0.5
    out, _ = evaluator.communicate(timeout=120)
    assert evaluator.returncode == 0, out
    seen = {int(m[1]): (int(m[2]), float(m[4])) for m in LINE.finditer(out)}
    assert sorted(seen) == [0, 5, 10, 15, 20], out
    for step, (arrays, norm) in seen.items():
        assert arrays == 3
        assert abs(norm - norms[step]) <= 1e-5 * norms[step]


def test_python_evaluator_follows_a_cpp_trainer(tmp_path, train_loop):
    root = str(tmp_path / "run")
    iterator = cairn.checkpoints_iterator(root, mode="every", timeout_secs=60,
                                          poll_interval_secs=0.2)
    trainer = subprocess.Popen(
        [train_loop, root, "--steps", "20", "--save-every", "5", "--max-to-keep", "2",
         "--step-ms", "5"], stdout=subprocess.DEVNULL)
    seen = []
    try:
        for leased in iterator:
            with leased:
                tree = cairn.load(leased.path, item="state")
                assert tree["step"] == leased.step
                assert tree["params"]["w1"].dtype == np.float32
                assert np.all(np.isfinite(tree["params"]["w1"]))
                seen.append(leased.step)
            if leased.step >= 20:
                break
    finally:
        assert trainer.wait(timeout=120) == 0
    assert seen[-1] == 20
    assert all(step % 5 == 0 for step in seen) and seen == sorted(set(seen))


def test_cairn_command_reads_what_python_saved(tmp_path, cli):
    root = str(tmp_path / "run")
    with cairn.Checkpointer(root) as ckpt:
        ckpt.save(1, {"w": np.ones((4, 4), np.float32), "note": "x"})
        ckpt.save(2, {"w": np.zeros((4, 4), np.float32), "note": "y"})
    subprocess.run([cli, "verify", ckpt.step_dir(2)], check=True, stdout=subprocess.DEVNULL)
    listing = subprocess.run([cli, "ls", root], check=True, capture_output=True, text=True)
    assert re.search(r"^\s*1\b", listing.stdout, re.M) and re.search(r"^\s*2\b", listing.stdout,
                                                                         re.M), listing.stdout
