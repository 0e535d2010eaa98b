#!/usr/bin/env python3
"""Soak: start/stop cycles with leak, fd, memory and hook counting.

1. In-process: soak-lifecycle (ASan, UBSan, LSan) starts and stops a libvirt
   test-driver domain VIRTNETMON_SOAK_CYCLES times (default 1000) through the
   daemon's modules, with the flow probe hooking a real veth, and injects
   device faults on a schedule. Its TAP lines are passed through.
2. Real: virtnetmond built with ASan/UBSan/LSan (virtnetmond-asan) follows
   VIRTNETMON_SOAK_REAL_CYCLES (default 50) QEMU/TCG guests started and
   stopped under the real libvirtd; some stops are QEMU crashes (SIGKILL)
   and libvirtd is restarted once. Ground truth: the kernel's tcx program
   lists on the guests' taps and the system-wide BPF link count, the
   daemon's /proc (fds, VmRSS), and the sanitizers' report when it exits.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (GUEST_DIR, LIBVIRT_URI, Bus, Daemon, Results, build_dir, cli_json,  # noqa: E402
                     destroyed_at_cleanup, make_link, on_cleanup, prepare_libvirt_guest, qemu_pid_of,
                     require_root, sh, skip, source_dir, stop_libvirt_daemon, virsh, wait_for)

require_root()
for tool in ("virsh", "libvirtd", "qemu-system-x86_64", "busybox", "bpftool"):
    if shutil.which(tool) is None and not os.path.exists(f"/usr/sbin/{tool}"):
        skip(f"needs {tool}")

CYCLES = int(os.environ.get("VIRTNETMON_SOAK_CYCLES", "1000"))
REAL_CYCLES = int(os.environ.get("VIRTNETMON_SOAK_REAL_CYCLES", "50"))
SAN = {"ASAN_OPTIONS": "detect_leaks=1:quarantine_size_mb=0:abort_on_error=0:log_path=",
       "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1"}
t = Results()
tmp = tempfile.mkdtemp(prefix="vnmsk-")
on_cleanup(shutil.rmtree, tmp, True)
SOAK = os.path.join(build_dir(), "tests", "soak", "soak-lifecycle")
DAEMON_ASAN = os.path.join(build_dir(), "tests", "soak", "virtnetmond-asan")
TCX_PROGS = os.path.join(build_dir(), "tests", "helpers", "tcx-progs")


def sanitizer_problems(text):
    return [line for line in text.splitlines()
            if "LeakSanitizer" in line or "AddressSanitizer" in line or "runtime error:" in line
            or "SUMMARY:" in line]


# --- 1. in-process, libvirt test driver ------------------------------------------
make_link("vnmsk-a", "type", "veth", "peer", "name", "vnmsk-b")
sh("ip", "link", "set", "vnmsk-a", "up")
on_cleanup(sh, "ip", "link", "del", "vnmsk-a", check=False)
env = dict(os.environ, **{k: v.replace("log_path=", "") for k, v in SAN.items()})
r = subprocess.run([SOAK, "vnmsk-a", "vnmsk-b", str(CYCLES), os.path.join(tmp, "state")],
                   capture_output=True, text=True, env=env, timeout=1200)
for line in r.stdout.splitlines():
    m = re.match(r"(ok|not ok) \d+ - (.*)", line)
    if m:
        t.check(m.group(1) == "ok", "in-process: " + m.group(2).split(" # ")[0])
problems = sanitizer_problems(r.stderr)
t.check(r.returncode == 0 and not problems,
        f"in-process: ASan, UBSan and LeakSanitizer report nothing at exit (exit {r.returncode})",
        "\n".join(problems[:20]) or r.stderr[-2000:])

# --- 2. the real libvirtd and QEMU, the daemon under the sanitizers -----------------
why = prepare_libvirt_guest()
if why:
    t.check(False, "the real libvirtd and the test guest are ready", why)
    t.done()
guest_dir = GUEST_DIR
URI = LIBVIRT_URI
NAME = "vnm-soak-guest"
destroyed_at_cleanup(NAME)
make_link("vnmsk-br0", "type", "bridge")
sh("ip", "link", "set", "vnmsk-br0", "up")
xml_path = os.path.join(tmp, "guest.xml")
with open(xml_path, "w") as f:
    f.write(f"""<domain type='qemu'>
  <name>{NAME}</name>
  <uuid>5a0c4e1d-9b8f-4c2a-8e7d-6f5a4b3c2d1e</uuid>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest_dir}/vmlinuz</kernel>
    <initrd>{guest_dir}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <devices>
    <!-- Named taps and a fixed uuid: the same names each cycle, so that what
         grows is a leak, not the history kept (48 h) for every new tap name
         and VM. -->
    <interface type='bridge'><source bridge='vnmsk-br0'/><target dev='vnmsk-t0'/><model type='virtio'/></interface>
    <interface type='bridge'><source bridge='vnmsk-br0'/><target dev='vnmsk-t1'/><model type='virtio'/></interface>
  </devices>
</domain>
""")

os.environ.update(SAN)
os.environ["ASAN_OPTIONS"] = SAN["ASAN_OPTIONS"] + os.path.join(tmp, "asan")
bus = Bus()
daemon = Daemon(bus, "--connect", URI, "--interval", "1", "--state-dir", os.path.join(tmp, "dstate"),
                exe=DAEMON_ASAN, name="virtnetmond-asan")
for k in SAN:
    del os.environ[k]
wait_for(lambda: cli_json(bus, "status")["libvirt_connected"], 20, "the daemon to reach libvirtd")


def live_heap():
    """The daemon's live heap bytes, from the sanitizer allocator (SIGUSR1,
    tests/soak/heap-report.c)."""
    seen = len(re.findall(r"vnm-soak-heap: \d+", daemon.output()))
    os.kill(daemon.proc.pid, signal.SIGUSR1)
    wait_for(lambda: len(re.findall(r"vnm-soak-heap: \d+", daemon.output())) > seen, 5, "the heap report")
    return int(re.findall(r"vnm-soak-heap: (\d+)", daemon.output())[-1])


# Stores that grow with time by design, not with cycles: the history's
# minute points (48 h) and the ended-flow summaries (15 min).
RETENTION = ("vnm_history_recorder_feed", "vnm_history_record", "vnm_flow_monitor_poll",
             "vnm_flow_store_update")


def sanitizer_log():
    """What the sanitizers wrote (ASAN_OPTIONS log_path: TMP/asan.PID)."""
    text = ""
    for name in sorted(os.listdir(tmp)):
        if name.startswith("asan"):
            with open(os.path.join(tmp, name), errors="replace") as f:
                text += f.read()
    return text


def retained_bytes():
    """Live bytes allocated under the retention stores, from the sanitizer's
    memory profile (SIGUSR2, tests/soak/heap-report.c)."""
    mark = len(sanitizer_log())
    os.kill(daemon.proc.pid, signal.SIGUSR2)
    wait_for(lambda: "Live Heap Allocations" in sanitizer_log()[mark:], 5, "the heap profile")
    time.sleep(0.5)
    total = 0
    for block in re.split(r"\n(?=\d+ byte\(s\))", sanitizer_log()[mark:]):
        m = re.match(r"(\d+) byte\(s\)", block)
        if m and any(f in block for f in RETENTION):
            total += int(m.group(1))
    return total


def proc_counts():
    pid = daemon.proc.pid
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    with open(f"/proc/{pid}/status") as f:
        rss = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return fds, rss, live_heap(), retained_bytes()


def bpf_links():
    out = sh("bpftool", "-j", "link", "list", check=False).stdout or "[]"
    return sum(1 for link in json.loads(out) if link.get("type") == "tcx")


def taps():
    return [i["iface"] for i in cli_json(bus, "domiflist", NAME)] if NAME in names() else []


def names():
    return [d["vm_name"] for d in cli_json(bus, "list")]


def our_tcx(dev):
    out = sh(TCX_PROGS, "show", dev, check=False).stdout
    return sum(1 for line in out.splitlines() if "vnm_tc_" in line)


# The sanitizer opens its log and its symbolizer's pipes at its first
# report: have that happen before anything is counted.
retained_bytes()
links_before = bpf_links()
warm = min(5, REAL_CYCLES // 5)
bad, crashes, restarts = [], 0, 0
fds0 = rss0 = heap0 = kept0 = None
t0 = time.monotonic()
for i in range(REAL_CYCLES):
    if i == warm:
        fds0, rss0, heap0, kept0 = proc_counts()
    if i == REAL_CYCLES // 2:
        # Fault: libvirtd restarts while nothing runs; the daemon reconnects.
        stop_libvirt_daemon("libvirtd")
        sh(os.path.join(source_dir(), "tests", "guest", "libvirt-up.sh"))
        wait_for(lambda: cli_json(bus, "status")["libvirt_connected"], 40, "the reconnect")
        restarts += 1
    virsh("create", xml_path)
    try:
        wait_for(lambda: len(taps()) == 2 and all(our_tcx(d) == 2 for d in taps()), 15,
                 "both taps mapped and probed")
    except AssertionError as e:
        bad.append(f"cycle {i}: {e}")
    devs = taps()
    if i % 10 == 9:
        # Fault: QEMU crashes instead of a clean stop.
        pid = qemu_pid_of(NAME)
        os.kill(int(pid), signal.SIGKILL)
        crashes += 1
    else:
        virsh("destroy", NAME)
    try:
        wait_for(lambda: NAME not in names(), 15, "the domain to go")
        wait_for(lambda: virsh("domstate", NAME, check=False).returncode != 0, 30, "libvirt to forget it")
    except AssertionError as e:
        bad.append(f"cycle {i}: {e}")
    left = [d for d in devs if os.path.exists(f"/sys/class/net/{d}")]
    if left:
        bad.append(f"cycle {i}: taps left behind: {left}")
took = time.monotonic() - t0
fds1, rss1, heap1, kept1 = proc_counts()
t.check(not bad, f"real: {REAL_CYCLES} QEMU guests started and stopped under libvirtd in {took:.0f} s "
        f"({crashes} QEMU crashes, {restarts} libvirtd restart): each mapped and probed, then gone",
        "\n".join(bad[:10]))
t.check(bpf_links() == links_before,
        f"real: BPF tcx links on the host: {links_before} before, {bpf_links()} after", "")
t.check(fds1 == fds0, f"real: the daemon's open fds after cycle {warm}: {fds0}, at the end: {fds1}")
per_cycle = ((heap1 - heap0) - (kept1 - kept0)) / max(REAL_CYCLES - warm, 1)
t.check(per_cycle < 1024,
        f"real: the daemon's live heap after cycle {warm}: {heap0} bytes, at the end: {heap1} bytes, "
        f"of which {kept1 - kept0:+d} in the stores kept by time (history minutes, flow summaries): "
        f"{per_cycle:+.1f} bytes per cycle otherwise")
# Resident memory also counts what the allocator keeps cached; a figure only.
print(f"# real: resident memory after cycle {warm}: {rss0} KiB, at the end: {rss1} KiB "
      f"({(rss1 - rss0) / max(REAL_CYCLES - warm, 1):+.1f} KiB per cycle)", flush=True)
profiles_end = len(sanitizer_log())
daemon.stop()
# The memory profiles asked for above are not problems; what follows them is.
reports = sanitizer_log()[profiles_end:]
problems = sanitizer_problems(reports + daemon.output())
t.check(daemon.proc.returncode == 0 and not problems,
        f"real: virtnetmond-asan exits cleanly; ASan, UBSan and LeakSanitizer report nothing "
        f"(exit {daemon.proc.returncode})", "\n".join(problems[:20]) or reports[-2000:])
t.done()
