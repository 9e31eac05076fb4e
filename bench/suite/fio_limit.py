"""The device's sequential write with fio, the limit of a durable save: direct I/O (no page
cache on the way), large blocks, several jobs writing at once, an fsync at the end of each."""

import json
import shutil
import subprocess
import tempfile

JOBS = 4
BLOCK = 4 << 20


class FioWrite:
    def __init__(self, scratch):
        self.scratch = scratch
        self.path = shutil.which("fio")
        self.version = "absent"
        if self.path:
            self.version = subprocess.run([self.path, "--version"], capture_output=True,
                                          text=True).stdout.strip()

    @property
    def works(self):
        return self.path is not None

    def describe(self):
        return "%s: sequential write, direct I/O, %d MiB blocks, %d jobs, fsync at the end" % (
            self.version, BLOCK >> 20, JOBS)

    def seconds(self, total_bytes):
        """Seconds the device takes to write `total_bytes` durably, at fio's aggregate rate."""
        per_job = max(BLOCK, (total_bytes // JOBS) // BLOCK * BLOCK)
        directory = tempfile.mkdtemp(prefix="fio-", dir=self.scratch)
        try:
            out = subprocess.run(
                [self.path, "--name=seqwrite", "--directory=" + directory, "--rw=write",
                 "--bs=%d" % BLOCK, "--direct=1", "--numjobs=%d" % JOBS,
                 "--size=%d" % per_job, "--end_fsync=1", "--group_reporting",
                 "--output-format=json"],
                capture_output=True, text=True, check=True).stdout
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        # fio may print notes before its JSON.
        write = json.loads(out[out.index("{"):])["jobs"][0]["write"]
        return total_bytes / write["bw_bytes"]
