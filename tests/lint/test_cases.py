#!/usr/bin/env python3
"""The case mechanism of tests/lib/vnmtest.py (Results.case, Results.setup)
does what the integration scripts rely on: a case that raises is one `not
ok` naming it and the exception, the cases after it still run, its own
cleanups ran when it ended, the TAP stream stays valid (numbered in order,
the plan last) and the exit status is 1. A failing shared setup is one
failure and ends the script. No root needed: the scripts here only print
and write files in a temporary directory."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

LIB = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "lib"))
n = 0
failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)
    if not ok:
        failed += 1
        print("# " + str(detail).replace("\n", "\n# "), flush=True)
        print(f"FAILED: {what}\n  {detail}", file=sys.stderr, flush=True)


def run(tmp, name, body):
    path = os.path.join(tmp, name + ".py")
    with open(path, "w") as f:
        f.write(f"import os, subprocess, sys\nsys.path.insert(0, {LIB!r})\n"
                "from vnmtest import Results, on_cleanup, shared_cleanups, sh\n"
                f"LOG = {os.path.join(tmp, name + '.log')!r}\n"
                "def note(what):\n"
                "    with open(LOG, 'a') as f:\n"
                "        f.write(what + '\\n')\n"
                "t = Results()\n" + body)
    r = subprocess.run([sys.executable, path], capture_output=True, text=True, timeout=60)
    try:
        with open(os.path.join(tmp, name + ".log")) as f:
            log = f.read().split()
    except FileNotFoundError:
        log = []
    return r, log


def tap(stdout):
    """(numbered results [(ok, number, description)], plan or None, the
    plan is the last TAP line)."""
    results, plan, last = [], None, None
    for line in stdout.splitlines():
        m = re.match(r"(ok|not ok) (\d+) - (.*)", line)
        if m:
            results.append((m.group(1) == "ok", int(m.group(2)), m.group(3)))
            last = "result"
        elif re.match(r"1\.\.(\d+)$", line):
            plan = int(line[3:])
            last = "plan"
        elif line and not line.startswith("#"):
            last = "other: " + line
    return results, plan, last == "plan"


def valid(results, plan):
    return plan == len(results) and [r[1] for r in results] == list(range(1, len(results) + 1))


tmp = tempfile.mkdtemp(prefix="vnm-cases-")
try:
    # --- cases: the first raises, the ones after it run -------------------------
    r, log = run(tmp, "cases", """
with t.setup("the shared fixture"):
    on_cleanup(note, "shared-cleanup")
    note("setup")

@t.case("one raises")
def _():
    on_cleanup(note, "one-cleanup-first")
    on_cleanup(note, "one-cleanup-last")
    with shared_cleanups():
        on_cleanup(note, "one-shared-cleanup")
    t.check(True, "one: a check before the exception")
    note("one-raises")
    raise AssertionError("the first case fails here")
    t.check(True, "one: never reached")

@t.case("two passes")
def _():
    note("two-runs")
    t.check(os.path.exists(LOG) and "one-cleanup-last" in open(LOG).read(),
            "two: case one's cleanups ran before case two")

@t.case("three: a command fails")
def _():
    sh("false")

@t.case("four: a timeout")
def _():
    subprocess.run(["sleep", "5"], timeout=0.2)

@t.case("five passes")
def _():
    t.check(True, "five: still run")
t.done()
""")
    results, plan, plan_last = tap(r.stdout)
    check(r.returncode == 1, "a case that raised: the script exits 1", r.returncode)
    check(valid(results, plan) and plan_last,
          "the TAP stream is valid: numbered 1..N in order, the plan 1..N last", r.stdout)
    descr = [(ok, d) for ok, _, d in results]
    check(len(descr) >= 2 and descr[0] == (True, "one: a check before the exception")
          and not descr[1][0] and descr[1][1].startswith("case 'one raises': AssertionError: the first case fails here"),
          "case one: its check before the exception is ok, then one `not ok` naming the case and the exception",
          r.stdout)
    check(not any("never reached" in d for _, d in descr), "case one stops where it raised", r.stdout)
    check((True, "two: case one's cleanups ran before case two") in descr,
          "case two runs after case one failed, and passes", r.stdout)
    check(any(not ok and d.startswith("case 'three: a command fails': CalledProcessError") for ok, d in descr)
          and any(not ok and d.startswith("case 'four: a timeout': TimeoutExpired") for ok, d in descr)
          and (True, "five: still run") in descr,
          "a failed command and a timeout are reported as such, and the case after them runs", r.stdout)
    check(len(descr) == 6 and sum(1 for ok, _ in descr if not ok) == 3, "six results, three of them failed",
          r.stdout)
    check(log[:4] == ["setup", "one-raises", "one-cleanup-last", "one-cleanup-first"],
          "case one's cleanups ran when it ended, last registered first", log)
    check(log[-2:] == ["one-shared-cleanup", "shared-cleanup"] and log.count("shared-cleanup") == 1,
          "shared cleanups (also one registered from a case with shared_cleanups()) run once, at exit",
          log)
    check("FAILED: case 'one raises': AssertionError" in r.stderr and "raised at cases.py:" in r.stderr,
          "stderr names the failed case, the exception and where it was raised", r.stderr)

    # --- a failing shared setup ends the script: one failure ----------------------
    r, log = run(tmp, "setup", """
with t.setup("a fixture that cannot be made"):
    on_cleanup(note, "shared-cleanup")
    sh("false")
    note("after-the-failure")

@t.case("never run")
def _():
    note("case-ran")
t.done()
""")
    results, plan, plan_last = tap(r.stdout)
    check(r.returncode == 1 and valid(results, plan) and plan_last and plan == 1 and not results[0][0]
          and results[0][2].startswith("setup (a fixture that cannot be made): CalledProcessError"),
          "a failing setup: one `not ok` naming it, plan 1..1, exit 1", r.stdout + r.stderr)
    check(log == ["shared-cleanup"], "nothing after the failed setup runs; its cleanups do", log)

    # --- all passing: exit 0 -------------------------------------------------------
    r, log = run(tmp, "pass", """
@t.case("a")
def _():
    on_cleanup(note, "a-cleanup")
    t.check(True, "a")

@t.case("b")
def _():
    t.check(True, "b")
t.done()
""")
    results, plan, plan_last = tap(r.stdout)
    check(r.returncode == 0 and valid(results, plan) and plan == 2 and all(ok for ok, _, _ in results)
          and log == ["a-cleanup"], "passing cases: exit 0, plan 1..2, cleanups run", r.stdout + r.stderr)
finally:
    shutil.rmtree(tmp, True)

print(f"1..{n}", flush=True)
sys.exit(1 if failed else 0)
