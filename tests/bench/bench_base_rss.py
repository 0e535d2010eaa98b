#!/usr/bin/env python3
"""virtnetmond's base RSS with N VM interfaces: what it takes at start,
before any history, and where it goes (heap, other anonymous memory, files).

N "VMs" are domains of a libvirt test-driver connection, each owning one
veth device whose peer sits in a namespace (as bench_metrics.py); the
daemon runs with its defaults (flow probe on every VM interface, sampled
latency) at --interval 1. After the probe is on every interface it waits
--settle seconds, then reads /proc/PID/status and /proc/PID/smaps and asks
glibc's malloc_stats() through gdb (when gdb is there) for the heap's
figures. History is then about a minute old, a few KiB a series: the
history growth after 48 hours is tests/bench/bench-history's, and the two
add up to the total (docs/performance.md).

--env VAR=VALUE runs another daemon with VAR in its environment (e.g.
MALLOC_ARENA_MAX=1, GLIBC_TUNABLES=...), side by side; --rounds runs each
configuration that many times in turn. Prints a Markdown block; with
--update-doc FILE writes it between <!-- bench-base-rss:begin/end --> in
FILE. Run it under `flock /tmp/vnm-root-tests.lock`: it loads BPF programs
and creates network devices.
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
from vnmtest import (Bus, Daemon, build_dir, cli_json, free_port, make_netns, on_cleanup,  # noqa: E402
                     require_root, wait_for)
from update_doc import write_block  # noqa: E402

ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
ap.add_argument("--vms", type=int, default=200, help="VMs of one interface each (200)")
ap.add_argument("--settle", type=float, default=60, help="seconds after start-up before reading (60)")
ap.add_argument("--env", action="append", default=[], metavar="VAR=VALUE[,VAR=VALUE]",
                help="also run a daemon with these variables (repeatable: one configuration each)")
ap.add_argument("--rounds", type=int, default=1, help="runs of each configuration, in turn (1)")
ap.add_argument("--exe", help="the virtnetmond to run (default: the build tree's)")
ap.add_argument("--wrapper", default="", help="a command that runs the daemon (e.g. heaptrack)")
ap.add_argument("--try-trim", action="store_true",
                help="then call malloc_trim(0) in the daemon through gdb and read its RSS again")
ap.add_argument("--history", metavar="BENCH_HISTORY",
                help="then run this bench-history with --base-rss set to the RSS measured (defaults), "
                     "and with --update-doc write its block too")
ap.add_argument("--libvirt", choices=("daemon", "in-process"), default="daemon",
                help="where the test driver keeps the 200 domains: in libvirtd, reached over "
                     "test+unix:// as qemu:///system is (default), or in virtnetmond (test://)")
ap.add_argument("--scrapes", type=int, default=0,
                help="then scrape /metrics this many times and read the RSS again (0)")
ap.add_argument("--update-doc", metavar="FILE", help="write the block into FILE")
args = ap.parse_args()

require_root()
N = args.vms
tmp = tempfile.mkdtemp(prefix="vnm-bench-base-")
on_cleanup(shutil.rmtree, tmp, True)


def step(msg):
    print(f"# {msg}", file=sys.stderr, flush=True)


ns = make_netns("vnmbb-ns")
batch = "".join(f"link add vnmbb-{i} type veth peer name vnmbb-{i}g netns {ns}\n"
                f"link set vnmbb-{i} up\n" for i in range(N))
subprocess.run(["ip", "-batch", "-"], input=batch, text=True, check=True)


def del_links():
    subprocess.run(["ip", "-batch", "-"], input="".join(f"link del vnmbb-{i}\n" for i in range(N)),
                   text=True, capture_output=True)


on_cleanup(del_links)

node_xml = os.path.join(tmp, "node.xml")
with open(node_xml, "w") as f:
    f.write("<node>\n")
    for i in range(N):
        f.write(f"""  <domain type='test'><name>bench-vm-{i:03d}</name>
    <uuid>7b000000-0000-4000-8000-{i:012d}</uuid><memory>65536</memory>
    <os><type>hvm</type></os>
    <devices><interface type='ethernet'><mac address='52:54:00:bc:{i // 256:02x}:{i % 256:02x}'/>
      <target dev='vnmbb-{i}'/></interface></devices></domain>
""")
    f.write("</node>\n")


def status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM", "RssAnon", "RssFile", "RssShmem"):
                out[k] = int(v.split()[0])
            elif k == "Threads":
                out[k] = int(v)
    return out


def rollup(pid):
    """Rss, Pss and USS (Private_Clean + Private_Dirty) in KiB, from
    /proc/PID/smaps_rollup: RSS counts pages shared with other processes
    (libvirtd maps the same libraries) in full, PSS a share of them, USS
    only the pages no other process maps (what exiting would free)."""
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[k] = int(v.split()[0])
    out["Uss"] = out["Private_Clean"] + out["Private_Dirty"]
    return out


def libvirt_client(bus):
    """The floor: bench-libvirt-client on the same connection and bus,
    started and read in the same round as the daemon."""
    exe = os.path.join(build_dir(), "tests", "bench", "bench-libvirt-client")
    proc = subprocess.Popen([exe, uri, bus.address], stdout=subprocess.PIPE, text=True)
    on_cleanup(proc.kill)
    line = proc.stdout.readline()
    if not line.startswith("ready"):
        raise SystemExit(f"bench-libvirt-client did not start: {line!r}")
    return proc


def smaps_files(pid):
    """Rss (KiB) of each mapped file, largest first."""
    files, name = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
            elif line.startswith("Rss:") and name.startswith("/"):
                files[name] = files.get(name, 0) + int(line.split()[1])
    return sorted(files.items(), key=lambda kv: -kv[1])


def smaps(pid):
    """Rss (KiB) by kind of mapping: heap (brk), other anonymous (malloc's
    thread arenas, mmap'd large blocks, thread stacks), files, the rest."""
    kinds = {"heap": 0, "anon": 0, "stack": 0, "file": 0, "other": 0}
    name = None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                parts = line.split(None, 5)
                name = parts[5].strip() if len(parts) > 5 else ""
            elif line.startswith("Rss:"):
                kb = int(line.split()[1])
                if name == "[heap]":
                    kinds["heap"] += kb
                elif name == "":
                    kinds["anon"] += kb
                elif name.startswith("[stack"):
                    kinds["stack"] += kb
                elif name.startswith("/"):
                    kinds["file"] += kb
                else:
                    kinds["other"] += kb
    return kinds


def malloc_stats(pid, log):
    """glibc's malloc_stats() of the daemon, called through gdb; it writes
    to the daemon's stderr (its log). (system bytes, in use bytes) of all
    arenas, and the number of arenas."""
    if not shutil.which("gdb"):
        return None
    log.flush()
    start = log.seek(0, os.SEEK_END)
    subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "call (void) malloc_stats()"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    time.sleep(0.5)
    log.seek(start)
    text = log.read()
    total = re.search(r"Total \(incl\. mmap\):\s*system bytes\s*=\s*(\d+)\s*in use bytes\s*=\s*(\d+)", text)
    arenas = len(re.findall(r"^Arena \d+:", text, re.M))
    if not total:
        return None
    return int(total.group(1)), int(total.group(2)), arenas


if args.libvirt == "daemon":
    subprocess.run([os.path.join(os.path.dirname(__file__), "..", "guest", "libvirt-up.sh")], check=True)
    uri = f"test+unix://{node_xml}"
else:
    uri = f"test://{node_xml}"


def run(env):
    bus = Bus()
    exe = args.exe or None
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        port = free_port()
        daemon = Daemon(bus, "--connect", uri, "--interval", "1", "--metrics-listen", f"127.0.0.1:{port}",
                        exe=exe,
                        wrapper=tuple(args.wrapper.split()))
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    wait_for(lambda: sum(p["attached"] for p in cli_json(bus, "status")["probes"]) == N, 60,
             f"the probe on all {N} VM interfaces")
    client = libvirt_client(bus)
    time.sleep(args.settle)
    pid = daemon.proc.pid
    st, sm = status(pid), smaps(pid)
    st.update(rollup(pid))
    floor = status(client.pid)
    floor.update(rollup(client.pid))
    floor["smaps"] = smaps(client.pid)
    client.kill()
    client.wait()
    st["floor"] = floor
    for path, kb in smaps_files(pid)[:12]:
        step(f"    {kb:6d} KiB  {path}")
    ms = malloc_stats(pid, daemon.log)
    st2 = status(pid)
    if args.scrapes:
        import http.client
        for _ in range(args.scrapes):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/metrics")
            conn.getresponse().read()
            conn.close()
        st2 = status(pid)
        sm2 = smaps(pid)
        step(f"  after {args.scrapes} scrapes: RSS {st2['VmRSS'] / 1024:.1f} MiB, heap {sm2['heap'] / 1024:.1f}, "
             f"other anon {sm2['anon'] / 1024:.1f}, files {sm2['file'] / 1024:.1f}, other {sm2['other'] / 1024:.1f}")
        ms2 = malloc_stats(pid, daemon.log)
        if ms2:
            step(f"  malloc in use {ms2[1] / 2**20:.1f} of {ms2[0] / 2**20:.1f} MiB in {ms2[2]} arenas")
    if args.try_trim and shutil.which("gdb"):
        subprocess.run(["gdb", "-p", str(pid), "-batch", "-nx", "-ex", "call (int) malloc_trim(0)"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        st2 = status(pid)
        step(f"  after malloc_trim(0) called from gdb: RSS {st2['VmRSS'] / 1024:.1f} MiB")
    daemon.stop()
    return st, sm, ms, st2, None


configs = [("defaults", {})]
for spec in args.env:
    env = dict(kv.split("=", 1) for kv in spec.split(","))
    configs.append((" ".join(f"{k}={v}" for k, v in env.items()), env))

results = {label: [] for label, _ in configs}
for r in range(args.rounds):
    for label, env in (configs if r % 2 == 0 else configs[::-1]):
        step(f"round {r + 1}: virtnetmond ({label}), {N} VMs, {args.settle:.0f} s")
        res = run(env)
        results[label].append(res)
        st, sm, ms, _, _ = res
        step(f"  RSS {st['VmRSS'] / 1024:.1f} MiB, PSS {st['Pss'] / 1024:.1f}, USS {st['Uss'] / 1024:.1f} "
             f"(bare libvirt client: RSS {st['floor']['VmRSS'] / 1024:.1f}, PSS {st['floor']['Pss'] / 1024:.1f}, "
             f"USS {st['floor']['Uss'] / 1024:.1f}); anon {st['RssAnon'] / 1024:.1f}, "
             f"file {st['RssFile'] / 1024:.1f}, heap {sm['heap'] / 1024:.1f}, other anon "
             f"{sm['anon'] / 1024:.1f}" + (f", malloc in use {ms[1] / 2**20:.1f} of {ms[0] / 2**20:.1f} "
                                          f"MiB in {ms[2]} arenas" if ms else ""))


def mib(kb):
    return f"{kb / 1024:.1f}"


cpu_model = "unknown"
with open("/proc/cpuinfo") as f:
    for line in f:
        if line.startswith("model name"):
            cpu_model = line.split(":", 1)[1].strip()
            break
out = [f"Measured {time.strftime('%Y-%m-%d')} on {cpu_model}, {os.cpu_count()} CPUs, kernel "
       f"{platform.release()}; {N} running VMs (libvirt test driver) of one veth each, the flow "
       f"probe on every one, virtnetmond at `--interval 1` with its defaults, read {args.settle:.0f} s "
       f"after the probe was on every interface; median of {args.rounds} run(s) (`tests/bench/bench_base_rss.py`). "
       f"The domains live in {'libvirtd (test+unix://), as with qemu:///system' if args.libvirt == 'daemon' else 'virtnetmond (test://)'}. "
       "The floor, read in the same rounds: `bench-libvirt-client`, a bare libvirt client on the same connection "
       "(lifecycle events, every domain's XML read once, connected to the same D-Bus bus).",
       "",
       "| process | RSS | PSS | USS | anonymous | of it: heap (brk) | other anonymous (arenas, stacks) | "
       "files (code, locale) | malloc: in use / held from the system | threads |",
       "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]


def row(label, runs, get, ms_list):
    def med(f):
        return statistics.median(f(get(x)) for x in runs)
    malloc = (f"{statistics.median(m[1] for m in ms_list) / 2**20:.1f} / "
              f"{statistics.median(m[0] for m in ms_list) / 2**20:.1f} MiB ({ms_list[0][2]} arenas)") if ms_list else "n/a"
    return (f"| {label} | **{mib(med(lambda x: x[0]['VmRSS']))} MiB** | {mib(med(lambda x: x[0]['Pss']))} | "
            f"{mib(med(lambda x: x[0]['Uss']))} | {mib(med(lambda x: x[0]['RssAnon']))} | "
            f"{mib(med(lambda x: x[1]['heap']))} | {mib(med(lambda x: x[1]['anon'] + x[1]['stack']))} | "
            f"{mib(med(lambda x: x[0]['RssFile']))} | {malloc} | {get(runs[0])[0]['Threads']} |")


for label, _ in configs:
    runs = results[label]
    out.append(row(f"virtnetmond ({label})", runs, lambda x: (x[0], x[1]), [x[2] for x in runs if x[2]]))
floor_runs = [x for label, _ in configs for x in results[label]]
out.append(row("bare libvirt client (floor)", floor_runs,
               lambda x: (x[0]["floor"], x[0]["floor"]["smaps"]), []))
out.append("")
out.append("RSS counts every page the process maps, its libraries' too: the files column is "
           "mostly shared libraries (libvirt, OpenSSL through libvirt's libssh, GLib, GnuTLS, "
           "libxml2), pages it shares with libvirtd and any other process that maps them. PSS "
           "divides each shared page among the processes that map it; USS counts only the pages "
           "no other process maps, what the host gets back when the process exits. The "
           "heap is larger than what malloc has in use: free chunks among live ones; "
           "virtnetmond gives whole free pages back 30 s after start and hourly (malloc_trim).")
text = "\n".join(out) + "\n"
print(text)
if args.update_doc:
    write_block(args.update_doc, "bench-base-rss", text)
if args.history:
    base = statistics.median(x[0]["VmRSS"] for x in results["defaults"]) / 1024
    base_uss = statistics.median(x[0]["Uss"] for x in results["defaults"]) / 1024
    step(f"running {args.history} --interfaces {N} --base-rss {base:.1f} --base-uss {base_uss:.1f}")
    hist = subprocess.run([args.history, "--interfaces", str(N), "--base-rss", f"{base:.1f}",
                           "--base-uss", f"{base_uss:.1f}"],
                          check=True, text=True, stdout=subprocess.PIPE).stdout
    print(hist)
    if args.update_doc:
        write_block(args.update_doc, "bench-history", hist)
