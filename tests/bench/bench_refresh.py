#!/usr/bin/env python3
"""Benchmark: one full stats refresh of every host interface, side by side.

Sets up, in the host's network namespace (libvirt's taps live there):
  * two running QEMU/TCG domains with 8 <interface type='ethernet'> each,
  * veth pairs (both ends here) up to 1000 host interfaces in all,
then, in one run:
  1. bench-refresh: virtnetmon's netlink dump vs /proc/net/dev vs sysfs vs
     libvirt's domain interface stats (in-process API call);
  2. `virsh domstats --interface`, `virtnetmon ifstat --all --json` (by
     column, the default, and by record, as from an older daemon) and
     `ip -j -s link` as the commands an operator or exporter runs (process
     wall time), side by side;
  3. virtnetmond's CPU and RSS at --interval 1 with 1000 and with 200
     interfaces.
With --baseline-build DIR (the build directory of another checkout, e.g. an
earlier commit), the command timings and the daemon watch run for that
build's virtnetmon and virtnetmond too, alternating with this build's in
rounds, so both see the same machine.
Prints a Markdown table; --update-doc FILE rewrites the block between
<!-- bench-refresh:begin --> and <!-- bench-refresh:end --> in FILE.

Everything it creates (dummies, domains, bus, daemon) is removed at exit.
Not a test: it reports figures and asserts nothing.
"""
import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from vnmtest import Bus, Daemon, build_dir, on_cleanup, require_root, sh, source_dir  # noqa: E402
from update_doc import write_block  # noqa: E402

URI = "qemu:///system"
GUESTS = 2
NICS_PER_GUEST = 8
FILLER_PREFIX = "vnmb"

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--interfaces", type=int, default=1000, help="host interfaces in all (default 1000)")
ap.add_argument("--small", type=int, default=200, help="interfaces for the second daemon run (200)")
ap.add_argument("--cpu-seconds", type=int, default=60, help="how long to watch the daemon (60)")
ap.add_argument("--iterations", type=int, default=200, help="refreshes per in-process method")
ap.add_argument("--update-doc", metavar="FILE", help="write the table into FILE")
ap.add_argument("--baseline-build", metavar="DIR",
                help="also measure the virtnetmond and virtnetmon of this build directory")
ap.add_argument("--baseline-label", default="baseline", help="its name in the tables")
ap.add_argument("--rounds", type=int, default=2,
                help="alternating rounds per build in the daemon watch (default 2)")
args = ap.parse_args()

require_root()
for tool in ("virsh", "libvirtd", "qemu-system-x86_64"):
    if shutil.which(tool) is None:
        sys.exit(f"bench: needs {tool}")


def step(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


def virsh(*a, check=True):
    return sh("virsh", "-c", URI, *a, check=check)


def host_links():
    return sh("ip", "-o", "link", "show").stdout.count("\n")


def filler_count():
    return len(re.findall(rf"^\d+: {FILLER_PREFIX}\d+[ab][:@]", sh("ip", "-o", "link").stdout, re.M))


def set_fillers(count):
    """Make exactly COUNT filler devices exist: veth pairs vnmbNa/vnmbNb,
    both ends in the host namespace (this kernel has no dummy driver)."""
    out = sh("ip", "-o", "link").stdout
    have = sorted(set(int(m.group(1)) for m in
                      re.finditer(rf"^\d+: {FILLER_PREFIX}(\d+)a[:@]", out, re.M)))
    pairs = count // 2
    batch = [f"link del {FILLER_PREFIX}{i}a" for i in have if i >= pairs]
    for i in range(pairs):
        if i not in have:
            batch += [f"link add {FILLER_PREFIX}{i}a type veth peer name {FILLER_PREFIX}{i}b",
                      f"link set {FILLER_PREFIX}{i}a up", f"link set {FILLER_PREFIX}{i}b up"]
    if batch:
        subprocess.run(["ip", "-batch", "-"], input="\n".join(batch) + "\n", text=True, check=True)


def drop_fillers():
    set_fillers(0)


for script in ("build-guest.sh", "libvirt-up.sh"):
    cmd = [os.path.join(source_dir(), "tests", "guest", script)]
    if script == "build-guest.sh":
        cmd.append("/var/lib/virtnetmon/guest")
    step(f"running {script}")
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)

work = tempfile.mkdtemp(prefix="vnm-bench-")
on_cleanup(shutil.rmtree, work, True)

step(f"starting {GUESTS} domains with {NICS_PER_GUEST} interfaces each")
for g in range(GUESTS):
    name = f"vnm-bench-{g}"
    virsh("destroy", name, check=False)
    nics = "\n".join(f"""    <interface type='ethernet'>
      <target dev='vnmbg{g}n{n}' managed='yes'/>
      <model type='virtio'/>
    </interface>""" for n in range(NICS_PER_GUEST))
    xml = f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>192</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>/var/lib/virtnetmon/guest/vmlinuz</kernel>
    <initrd>/var/lib/virtnetmon/guest/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet</cmdline>
  </os>
  <devices>
{nics}
  </devices>
</domain>
"""
    path = os.path.join(work, f"{name}.xml")
    with open(path, "w") as f:
        f.write(xml)
    virsh("create", path)
    on_cleanup(virsh, "destroy", name, check=False)

on_cleanup(drop_fillers)
base = host_links() - filler_count()
step(f"adding veth pairs up to {args.interfaces} host interfaces")
set_fillers(args.interfaces - base)
total = host_links()

rows = []  # (what, method, interfaces, median ms, p95 ms, us per interface)
step("in-process refresh timings")
bench = os.path.join(build_dir(), "tests", "bench", "bench-refresh")
out = sh(bench, "--iterations", str(args.iterations), "--libvirt", URI).stdout
labels = {
    "netlink": "virtnetmon: one RTM_GETLINK dump, 64-bit stats (libmnl)",
    "procfs": "read + parse /proc/net/dev (psutil, reference TUI)",
    "sysfs": "read /sys/class/net/*/statistics/* (8 files per device)",
    "libvirt": "libvirt virConnectGetAllDomainStats(INTERFACE), VM interfaces only",
}
for line in out.strip().splitlines()[1:]:
    method, n, _it, med, p95, per = line.split("\t")
    rows.append((labels[method], int(n), int(med) / 1000, int(p95) / 1000, float(per)))


def wall(cmd, runs):
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        times.append(time.monotonic() - t0)
    times.sort()
    return times[len(times) // 2] * 1000, times[min(len(times) - 1, len(times) * 95 // 100)] * 1000


step("command timings")
vm_ifaces = GUESTS * NICS_PER_GUEST
med, p95 = wall(["virsh", "-r", "-c", URI, "domstats", "--interface"], 20)
rows.append(("`virsh domstats --interface` (process), VM interfaces only", vm_ifaces, med, p95,
             med * 1000 / vm_ifaces))

builds = [("this build", build_dir())]
if args.baseline_build:
    builds.append((args.baseline_label, os.path.abspath(args.baseline_build)))


def start_daemon(build):
    bus = Bus()
    daemon = Daemon(bus, "--connect", URI, "--interval", "1",
                    exe=os.path.join(build, "src", "virtnetmond"))
    return bus, daemon


# ifstat --all --json, the way each client asks: by column
# (GetLinkStatsColumns, the default), by record (GetLinkStats, as with a
# daemon older than GetLinkStatsColumns: VIRTNETMON_COMPACT=0), and
# `ip -j -s link` for the same devices. Blocks of runs against a fresh
# daemon, each build in turn (ABBA...), the commands of a block in an order
# that rotates from run to run, so that all meet the same machine.
IFSTAT = "`virtnetmon ifstat --all --json` (process, D-Bus round trip), all interfaces"
COLUMNS = "by column (GetLinkStatsColumns)"
RECORDS = "by record (GetLinkStats, VIRTNETMON_COMPACT=0)"
IP_LINK = "`ip -j -s link` (process, one netlink dump, JSON), all interfaces"
RUNS = 20
blocks = 4 if len(builds) > 1 else 2
timings = {}
for blk in range(blocks):
    order = builds if blk % 2 == 0 else builds[::-1]
    for label, build in order:
        bus, daemon = start_daemon(build)
        cli = [os.path.join(build, "src", "virtnetmon"), "--bus-address", bus.address,
               "ifstat", "--all", "--json"]
        if build == build_dir():
            cmds = [(f"{IFSTAT}, {COLUMNS}", cli, None),
                    (f"{IFSTAT}, {RECORDS}", cli, dict(os.environ, VIRTNETMON_COMPACT="0")),
                    (IP_LINK, ["ip", "-j", "-s", "link"], None)]
        else:
            cmds = [(f"{IFSTAT}, {label}", cli, None)]
        time.sleep(2)
        for i in range(RUNS // blocks):
            for what, cmd, env in cmds[i % len(cmds):] + cmds[:i % len(cmds)]:
                t0 = time.monotonic()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
                timings.setdefault(what, []).append(time.monotonic() - t0)
        daemon.stop()
for what, times in timings.items():
    times.sort()
    med = times[len(times) // 2] * 1000
    p95 = times[min(len(times) - 1, len(times) * 95 // 100)] * 1000
    rows.append((what, total, med, p95, med * 1000 / total))


def proc_usage(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime + stime
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1])
    return ticks / os.sysconf("SC_CLK_TCK"), rss, hwm


def watch_daemon(build, seconds):
    """A fresh virtnetmond of @build, watched for @seconds after start-up:
    (CPU seconds, wall seconds, RSS KiB, peak RSS KiB)."""
    _bus, daemon = start_daemon(build)
    pid = daemon.proc.pid
    time.sleep(3)  # past start-up
    cpu0, _, _ = proc_usage(pid)
    t0 = time.monotonic()
    time.sleep(seconds)
    cpu1, rss, hwm = proc_usage(pid)
    elapsed = time.monotonic() - t0
    daemon.stop()
    return cpu1 - cpu0, elapsed, rss, hwm


def watch_builds(n):
    """Each build's daemon in turn, args.rounds times, the first build
    changing every round: per build (CPU %, median RSS MiB, max peak MiB)."""
    got = {label: [] for label, _ in builds}
    per_round = args.cpu_seconds / args.rounds
    for r in range(args.rounds):
        order = builds[r % len(builds):] + builds[:r % len(builds)]
        for label, build in order:
            step(f"watching {label}'s virtnetmond for {per_round:.0f} s with {n} interfaces")
            got[label].append(watch_daemon(build, per_round))
            cpu_s, wall_s, rss, hwm = got[label][-1]
            step(f"  {label}: CPU {cpu_s / wall_s * 100:.2f} %, RSS {rss / 1024:.1f} MiB, "
                 f"peak {hwm / 1024:.1f} MiB")
    out = []
    for label, _ in builds:
        runs = got[label]
        cpu = sum(x[0] for x in runs) / sum(x[1] for x in runs) * 100
        out.append((label, n, cpu, statistics.median(x[2] for x in runs) / 1024,
                    max(x[3] for x in runs) / 1024))
    return out


usage = watch_builds(total)
set_fillers(args.small - base)
small = host_links()
usage += watch_builds(small)

cpu_model = "unknown"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
table = [
    f"Measured {time.strftime('%Y-%m-%d')} on {cpu_model}, {os.cpu_count()} CPUs, "
    f"kernel {platform.release()}; {total} host interfaces ({vm_ifaces} taps of "
    f"{GUESTS} running QEMU/TCG domains, the rest veth pairs). "
    f"In-process methods: median of {args.iterations} refreshes (libvirt: "
    f"{max(args.iterations // 10, 5)}); commands: median of 20 runs.",
    "",
    "| method | interfaces covered | median ms | p95 ms | µs per interface |",
    "|---|---:|---:|---:|---:|",
]
for what, n, med, p95, per in rows:
    table.append(f"| {what} | {n} | {med:.2f} | {p95:.2f} | {per:.2f} |")
table += [
    "",
    f"virtnetmond at `--interval 1`, watched for {args.cpu_seconds} s in all, in "
    f"{args.rounds} rounds of a fresh daemon each, {args.cpu_seconds / args.rounds:.0f} s "
    f"after its start-up (connected to {URI}, {GUESTS} domains running)"
    + (f"; {' and '.join(label for label, _ in builds)} alternate." if len(builds) > 1 else ":"),
    "",
    "| build | host interfaces | CPU (% of one core) | RSS MiB | peak RSS MiB |",
    "|---|---:|---:|---:|---:|",
]
for label, n, cpu, rss, hwm in usage:
    table.append(f"| {label} | {n} | {cpu:.2f} | {rss:.1f} | {hwm:.1f} |")
text = "\n".join(table) + "\n"
print(text)

if args.update_doc:
    write_block(args.update_doc, "bench-refresh", text)
    step(f"updated {args.update_doc}")
