#!/usr/bin/env python3
"""Runs each libFuzzer target of tests/fuzz for a while and reports TAP.

VIRTNETMON_FUZZ_SECONDS sets the time per target (default 20); longer
runs on demand, e.g. VIRTNETMON_FUZZ_SECONDS=3600 meson test -C build
fuzz-parsers. The corpus grows in BUILDDIR/corpus-TARGET across runs;
a crash leaves its input in BUILDDIR/artifacts/ and fails the test."""
import os
import re
import shutil
import subprocess
import sys

src, build = sys.argv[1:3]
seconds = int(os.environ.get("VIRTNETMON_FUZZ_SECONDS", "20"))
targets = ["domain-xml", "qemu-cmdline", "settings", "dns-answer"]

print("TAP version 13")
print(f"1..{len(targets)}")
if shutil.which("clang") is None:
    reason = "clang (with libFuzzer, libclang-rt-14-dev) is not installed"
    for i, t in enumerate(targets, 1):
        print(f"ok {i} {t} # SKIP {reason}")
    sys.exit(0)

artifacts = os.path.join(build, "artifacts")
os.makedirs(artifacts, exist_ok=True)
total = 0
for i, name in enumerate(targets, 1):
    exe = os.path.join(build, f"fuzz-{name}")
    corpus = os.path.join(build, f"corpus-{name}")
    os.makedirs(corpus, exist_ok=True)
    cmd = [exe, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048",
           "-max_len=65536", "-print_final_stats=1",
           f"-artifact_prefix={artifacts}/{name}-", corpus,
           os.path.join(src, "seeds", name)]
    if name not in ("qemu-cmdline", "dns-answer"):
        cmd.insert(1, f"-dict={os.path.join(src, 'xml.dict')}")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1",
               G_DEBUG="fatal-criticals")
    r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                       timeout=seconds + 300)
    runs = re.search(r"stat::number_of_executed_units:\s*(\d+)", r.stderr)
    cov = re.findall(r"cov: (\d+) ft: (\d+)", r.stderr)
    execs = int(runs.group(1)) if runs else 0
    total += execs
    files = len(os.listdir(corpus))
    ok = r.returncode == 0 and execs > 0
    print(f"{'ok' if ok else 'not ok'} {i} - {name}: {execs} executions in {seconds} s, "
          f"no crash, leak or undefined behaviour (corpus {files} inputs"
          f"{', coverage ' + cov[-1][0] + ' edges' if cov else ''})")
    if not ok:
        for line in r.stderr.splitlines()[-60:]:
            print(f"# {line}")
print(f"# {total} executions in all")
