"""The Python end of browser-driver.mjs: one headless chromium, commanded
line by line, so the test keeps its logic and its checks in Python."""
import json
import os
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))


class BrowserError(Exception):
    pass


class Browser:
    def __init__(self, locale="en-US", shots=None):
        """shots: where to save a screenshot when a wait fails."""
        self.shots = shots
        self.failures = 0
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
        try:
            return self.cmd("wait", expr=expr, frame=frame, timeout=int(timeout * 1000))
        except BrowserError:
            self.evidence()
            raise

    def evidence(self):
        """After a failed wait: a screenshot and the page's text, for the log."""
        if not self.shots:
            return
        self.failures += 1
        path = os.path.join(self.shots, f"failure-{self.failures}.png")
        try:
            self.cmd("screenshot", path=path)
            text = self.cmd("eval", expr="[...document.querySelectorAll('iframe')].map(f => "
                            "f.contentDocument ? f.contentDocument.body.innerText : '').join('\\n')")
            print(f"# page when the wait failed (screenshot {path}):\n# " +
                  text[:3000].replace("\n", "\n# "), flush=True)
            for line in self.cmd("console"):
                print(f"# console: {line}", flush=True)
        except BrowserError as e:
            print(f"# no evidence: {e}", flush=True)

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
