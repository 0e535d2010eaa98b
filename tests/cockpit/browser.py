"""The Python end of browser-driver.mjs: one headless chromium, commanded
line by line, so the test keeps its logic and its checks in Python."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, locale="en-US"):
        self.proc = subprocess.Popen(["node", os.path.join(HERE, "browser-driver.mjs")],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=HERE)
        self.next_id = 0
        self.version = self.cmd("launch", locale=locale)

    def cmd(self, cmd, **args):
        self.next_id += 1
        self.proc.stdin.write(json.dumps(dict(args, cmd=cmd, id=self.next_id)) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise BrowserError(f"browser driver exited (status {self.proc.wait()}) during {cmd}")
        reply = json.loads(line)
        if not reply["ok"]:
            raise BrowserError(f"{cmd} {args}: {reply['error']}")
        return reply["value"]

    def eval(self, expr, frame=None):
        return self.cmd("eval", expr=expr, frame=frame)

    def wait(self, expr, frame=None, timeout=10):
        return self.cmd("wait", expr=expr, frame=frame, timeout=int(timeout * 1000))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.cmd("close")
            except BrowserError:
                pass
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
