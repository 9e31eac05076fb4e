"""A worker process of the suite: one JSON request per line in, one JSON answer per line out."""

import json
import subprocess


class SuiteError(RuntimeError):
    pass


class Worker:
    def __init__(self, argv, env):
        self.argv = argv
        self.process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)

    def call(self, **request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SuiteError("%s exited (status %s) on %s" %
                             (self.argv[-1], self.process.wait(), request))
        answer = json.loads(line)
        if "error" in answer:
            raise SuiteError("%s failed on %s: %s" % (self.argv[-1], request, answer["error"]))
        return answer

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write('{"op": "quit"}\n')
                self.process.stdin.close()
                self.process.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
