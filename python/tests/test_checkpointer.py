"""cairn.Checkpointer: policies, synchronous and async saves, futures, the context manager."""

import threading
import time

import numpy as np
import pytest

import cairn


def state_at(step):
    return {"w": np.full((64, 64), float(step), np.float32), "step": step}


def test_saves_lists_and_loads_steps(tmp_path):
    with cairn.Checkpointer(str(tmp_path / "run")) as ckpt:
        assert ckpt.latest_step() is None
        for step in range(3):
            assert ckpt.save(step, state_at(step), metrics={"loss": 1.0 / (step + 1)})
        assert ckpt.all_steps() == [0, 1, 2]
        assert ckpt.latest_step() == 2
        assert ckpt.metrics(1) == {"loss": 0.5}
        loaded = ckpt.load(2)
        assert loaded["step"] == 2
        np.testing.assert_array_equal(loaded["w"], state_at(2)["w"])
        assert ckpt.step_dir(2).endswith("/2")


def test_policies_as_keywords(tmp_path):
    root = str(tmp_path / "run")
    with cairn.Checkpointer(root, save_interval_steps=2, max_to_keep=2, best_metric="loss",
                            best_mode="min", keep_best=1, step_prefix="step") as ckpt:
        saved = [s for s in range(9)
                 if ckpt.save(s, state_at(s), metrics={"loss": 5.0 if s != 2 else 0.1})]
        ckpt.wait_until_finished()
        assert saved == [0, 2, 4, 6, 8]
        assert ckpt.all_steps() == [2, 6, 8]
        assert ckpt.best_step() == 2
        assert ckpt.step_dir(8).endswith("/step_8")


def test_save_async_returns_a_future_and_the_state_may_change(tmp_path):
    state = {"w": np.full((512, 1024), 3.0, np.float32)}
    with cairn.Checkpointer(str(tmp_path / "run")) as ckpt:
        future = ckpt.save_async(5, state)
        assert future.step == 5 and future.started
        # The host copy was taken before save_async returned.
        state["w"][:] = -1.0
        future.result()
        assert future.done()
        report = future.report()
        # The caller paid for the copy only; writing and committing came after it returned.
        assert report["blocking_secs"] < report["total_secs"]
        np.testing.assert_array_equal(ckpt.load(5)["w"], np.full((512, 1024), 3.0, np.float32))


def test_async_save_commits_while_python_runs(tmp_path):
    # The loop below never calls into cairn until the future is done: the step is written and
    # committed in the background while Python computes.
    state = {"w": np.ones((256, 1024), np.float32)}
    with cairn.Checkpointer(str(tmp_path / "run")) as ckpt:
        future = ckpt.save_async(1, state)
        deadline = time.monotonic() + 60
        work = 0
        while not future.done() and time.monotonic() < deadline:
            work += sum(range(1000))
        assert future.done()
        assert ckpt.latest_step() == 1


def test_no_copy_async_save_keeps_arrays_alive(tmp_path):
    with cairn.Checkpointer(str(tmp_path / "run"), async_copy=False) as ckpt:
        future = ckpt.save_async(1, {"w": np.arange(1 << 16, dtype=np.float64)})
        future.result()
        np.testing.assert_array_equal(ckpt.load(1)["w"], np.arange(1 << 16, dtype=np.float64))


def test_python_threads_run_while_a_save_waits(tmp_path):
    # A second thread saves while the first waits for that save's step inside cairn: it can
    # only get there if the wait released the GIL.
    root = str(tmp_path / "run")
    with cairn.Checkpointer(root) as ckpt:
        saver = threading.Thread(target=lambda: ckpt.save(3, state_at(3)))
        saver.start()
        step = cairn.wait_for_new_checkpoint(root, until_step=3, timeout_secs=60)
        saver.join()
        assert step.step == 3


def test_skipped_step_gives_a_future_that_did_not_start(tmp_path):
    with cairn.Checkpointer(str(tmp_path / "run"), save_interval_steps=10) as ckpt:
        future = ckpt.save_async(3, state_at(3))
        assert not future.started and future.done()
        future.result()
        assert ckpt.should_save(10) and not ckpt.should_save(11)


def test_preemption_saves_the_next_step(tmp_path):
    with cairn.Checkpointer(str(tmp_path / "run"), save_interval_steps=100) as ckpt:
        ckpt.notify_preemption()
        assert ckpt.save(7, state_at(7))
        assert ckpt.preempted
        assert ckpt.latest_step() == 7


def test_closed_checkpointer_refuses_saves(tmp_path):
    ckpt = cairn.Checkpointer(str(tmp_path / "run"))
    ckpt.close()
    ckpt.close()
    with pytest.raises(cairn.FailedPreconditionError):
        ckpt.save(1, state_at(1))


def test_read_only_checkpointer_loads_another_ones_steps(tmp_path):
    root = str(tmp_path / "run")
    with cairn.Checkpointer(root) as writer:
        writer.save(4, state_at(4))
        with cairn.Checkpointer(root, read_only=True) as reader:
            assert reader.all_steps() == [4]
            with pytest.raises(cairn.FailedPreconditionError):
                reader.save(5, state_at(5))
            writer.save(6, state_at(6))
            reader.reload()
            assert reader.all_steps() == [4, 6]
