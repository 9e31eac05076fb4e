"""Saves read the caller's memory in place and loads hand over cairn's memory: checked by the
arrays' ownership and by the peak RSS of a child process."""

import subprocess
import sys
import textwrap

import numpy as np

import cairn

MIB = 1 << 20


def test_loaded_array_owns_cairn_memory(tmp_path):
    cairn.save_tree(str(tmp_path / "t"), {"x": np.arange(1000, dtype=np.int64)})
    loaded = cairn.load_tree(str(tmp_path / "t"))["x"]
    assert not loaded.flags.owndata
    assert type(loaded.base).__name__ == "PyCapsule"
    assert loaded.flags.writeable
    base = loaded.base
    view = loaded[10:20]
    del loaded
    # The view keeps cairn's memory alive through the capsule.
    assert view.base.base is base
    np.testing.assert_array_equal(view, np.arange(10, 20))


def peak_growth_mib(tmp_path, body):
    """Runs `body` in a child after allocating a 128 MiB array `state`; returns how far the
    peak RSS rose above the RSS it had before `body`."""
    code = textwrap.dedent(f"""
        import resource, sys
        import numpy as np
        import cairn
        directory = {str(tmp_path)!r}
        state = np.full({128 * MIB // 4}, 1.5, np.float32)
        def rss_kib():
            with open("/proc/self/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1])
        before = rss_kib()
    """) + textwrap.dedent(body) + textwrap.dedent("""
        print((rss_kib() - before) // 1024)
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return int(out.stdout.split()[-1])


def test_saving_does_not_copy_the_array(tmp_path):
    growth = peak_growth_mib(tmp_path, """
        cairn.save_tree(directory + "/t", {"state": state}, sync=False)
    """)
    # A copy would add 128 MiB; chunk buffers and the index take a few.
    assert growth < 64, growth


def test_loading_does_not_copy_the_array(tmp_path):
    growth = peak_growth_mib(tmp_path, """
        cairn.save_tree(directory + "/t", {"state": state}, sync=False)
        del state
        loaded = cairn.load_tree(directory + "/t")["state"]
        assert loaded.shape == (128 << 18,) and float(loaded[-1]) == 1.5
    """)
    # The 128 MiB freed by `del state` is reused at most once by the load: a second copy of
    # the loaded array (cairn's, then numpy's) would lift the peak by at least 128 MiB.
    assert growth < 96, growth
