"""Followers: checkpoints_iterator and wait_for_new_checkpoint, each step leased."""

import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import cairn


def test_iterator_yields_every_step_then_stops_at_the_timeout(tmp_path):
    root = str(tmp_path / "run")
    done = threading.Event()

    def train():
        with cairn.Checkpointer(root) as ckpt:
            for step in range(0, 10, 2):
                ckpt.save(step, {"x": np.full(8, step, np.int32)})
        done.set()

    trainer = threading.Thread(target=train)
    iterator = cairn.checkpoints_iterator(root, mode="every", timeout_secs=60)
    trainer.start()
    seen = []
    for leased in iterator:
        assert leased.leased
        assert os.path.isdir(leased.path)
        seen.append(leased.step)
        np.testing.assert_array_equal(cairn.load(leased.path)["x"], np.full(8, leased.step))
        leased.release()
        if leased.step == 8:
            break
    trainer.join()
    assert seen == [0, 2, 4, 6, 8]
    assert iterator.last_step == 8


def test_iterator_ends_when_no_step_comes(tmp_path):
    iterator = cairn.checkpoints_iterator(str(tmp_path / "missing"), timeout_secs=0.05)
    assert list(iterator) == []


def test_wait_returns_an_empty_step_on_timeout(tmp_path):
    step = cairn.wait_for_new_checkpoint(str(tmp_path), timeout_secs=0.05)
    assert step.step == -1 and not step.found and not step


def test_leased_step_is_a_context_manager(tmp_path):
    root = str(tmp_path / "run")
    cairn.save(os.path.join(root, "3"), {"x": 1})
    with cairn.wait_for_new_checkpoint(root, timeout_secs=10) as leased:
        assert int(leased) == 3 and leased.leased
    assert not leased.leased


@pytest.mark.parametrize("wait", [
    "it = cairn.checkpoints_iterator(root)\n"
    "try:\n    next(it)\nexcept KeyboardInterrupt:\n    assert list(it) == []\n    raise",
    "cairn.wait_for_new_checkpoint(root)",
])
def test_ctrl_c_interrupts_a_wait_without_timeout(tmp_path, wait):
    code = "import sys, cairn\nroot = sys.argv[1]\nprint('waiting', flush=True)\n" + wait
    child = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "run")],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert child.stdout.readline() == "waiting\n"
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "KeyboardInterrupt" in err
