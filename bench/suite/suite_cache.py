"""Evicting a saved checkpoint from the page cache, for the cold-cache rows.

The whole cache is dropped where /proc/sys/vm/drop_caches can be written (as root); otherwise
each file is fsynced and its pages released with posix_fadvise(DONTNEED), which needs no
privilege. A probe file checks, with fincore, that the pages really left; if they did not, the
cold rows are skipped with a message.
"""

import os
import shutil
import subprocess

DROP_CACHES = "/proc/sys/vm/drop_caches"


def files_under(path):
    if os.path.isfile(path):
        return [path]
    return [os.path.join(root, name) for root, _, names in os.walk(path) for name in names]


def resident_bytes(path):
    """Bytes of `path` in the page cache, or None when fincore is not there to tell."""
    if shutil.which("fincore") is None:
        return None
    out = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                         capture_output=True, text=True)
    return int(out.stdout.split()[0]) if out.returncode == 0 and out.stdout.split() else None


class PageCache:
    def __init__(self, scratch):
        self.method = "drop_caches" if self._can_drop() else "fadvise"
        probe = os.path.join(scratch, "cache-probe")
        with open(probe, "wb") as f:
            f.write(os.urandom(1 << 20) * 32)
            f.flush()
            os.fsync(f.fileno())
        self.evict(probe)
        left = resident_bytes(probe)
        os.remove(probe)
        self.works = left is None or left < (1 << 20)
        how = {"drop_caches": "page cache dropped (%s)" % DROP_CACHES,
               "fadvise": "each file's pages released with posix_fadvise(DONTNEED)"}[self.method]
        if not self.works:
            self.description = "not possible here (%s left %d of 32 MiB cached): cold rows " \
                               "skipped" % (how, left >> 20)
        else:
            self.description = how + ("" if left is not None else ", unverified (no fincore)")

    @staticmethod
    def _can_drop():
        try:
            with open(DROP_CACHES, "w") as f:
                f.write("1")
            return True
        except OSError:
            return False

    def evict(self, path):
        if self.method == "drop_caches":
            os.sync()
            with open(DROP_CACHES, "w") as f:
                f.write("3")
            return
        for name in files_under(path):
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
