#!/usr/bin/env python3
"""/metrics for a host with N VMs: scrape time, CPU and size, side by side
with node_exporter's netdev collector (the interface counters operators
scrape today, without VM labels) on the same host in the same run.

N "VMs" are domains of a libvirt test-driver connection, each owning one
veth device whose peer sits in a namespace; the flow probe is attached to
every one. Prints a Markdown block; with --update-doc FILE writes it
between <!-- bench-metrics:begin/end --> in FILE.

VNM_BENCH_BASELINE=PATH runs a second virtnetmond (another build, on its own
bus and port) on the same VMs and scrapes both in alternating blocks, side
by side. VNM_BENCH_TRAFFIC=1 makes every VM a port of one bridge with an
uplink, traces every VM's latency in full (--latency-devices N, so that all
have histograms), and sends frames both ways between each VM and the uplink
(UDP to a MAC the bridge knows, some dropped in the VM's namespace): every
VM then has histograms in each direction and stage, flows and drops.
VNM_BENCH_TRAFFIC=sampled sends the same frames for several of the
sampler's periods with every VM in the default sampled mode: end-to-end
histograms both ways for every VM.
"""
import gzip
import json
import http.client
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
sys.path.insert(0, os.path.dirname(__file__))
from vnmtest import (Bus, Daemon, cli, cli_json, free_port, make_netns, on_cleanup,  # noqa: E402
                     require_root, wait_for)
from update_doc import write_block  # noqa: E402

require_root()
N = int(os.environ.get("VNM_BENCH_VMS", "200"))
SCRAPES = 50
BASELINE = os.environ.get("VNM_BENCH_BASELINE")
TRAFFIC = os.environ.get("VNM_BENCH_TRAFFIC") in ("1", "sampled")
# "sampled": the same traffic, every VM in the default sampled mode (its
# end-to-end histograms only, filled during the sampler's windows).
SAMPLED = os.environ.get("VNM_BENCH_TRAFFIC") == "sampled"
tmp = tempfile.mkdtemp(prefix="vnm-bench-metrics-")
on_cleanup(shutil.rmtree, tmp, True)


ns = make_netns("vnmbm-ns")
batch = "".join(f"link add vnmbm-{i} type veth peer name vnmbm-{i}g netns {ns}\n"
                f"link set vnmbm-{i} up\n" for i in range(N))
subprocess.run(["ip", "-batch", "-"], input=batch, text=True, check=True)


def del_links():
    subprocess.run(["ip", "-batch", "-"], input="".join(f"link del vnmbm-{i}\n" for i in range(N)),
                   text=True, capture_output=True)


on_cleanup(del_links)


def mac(i):
    return f"52:54:00:bb:{i // 256:02x}:{i % 256:02x}"


if TRAFFIC:
    subprocess.run(["ip", "-batch", "-"], text=True, check=True, input=(
        "link add vnmbm-br type bridge\nlink set vnmbm-br up\n"
        f"link add vnmbm-up type veth peer name vnmbm-upg netns {ns}\nlink set vnmbm-up master vnmbm-br\n"
        "link set vnmbm-up up\n" + "".join(f"link set vnmbm-{i} master vnmbm-br\n" for i in range(N))))
    on_cleanup(subprocess.run, ["ip", "link", "del", "vnmbm-br"], capture_output=True)
    on_cleanup(subprocess.run, ["ip", "link", "del", "vnmbm-up"], capture_output=True)
    subprocess.run(["ip", "-n", ns, "-batch", "-"], text=True, check=True, input=(
        "link set vnmbm-upg up\n" + "".join(f"link set vnmbm-{i}g address {mac(i)}\nlink set vnmbm-{i}g up\n"
                                            for i in range(N))))

node_xml = os.path.join(tmp, "node.xml")
with open(node_xml, "w") as f:
    f.write("<node>\n")
    for i in range(N):
        f.write(f"""  <domain type='test'><name>bench-vm-{i:03d}</name>
    <uuid>7b000000-0000-4000-8000-{i:012d}</uuid><memory>65536</memory>
    <os><type>hvm</type></os>
    <devices><interface type='ethernet'><mac address='{mac(i)}'/>
      <target dev='vnmbm-{i}'/></interface></devices></domain>
""")
    f.write("</node>\n")

PORT, NPORT, BPORT = free_port(), free_port(), free_port()
extra = ("--latency-devices", str(max(N, 128))) if TRAFFIC and not SAMPLED else ()
bus = Bus()
daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                "--metrics-listen", f"127.0.0.1:{PORT}", *extra)
wait_for(lambda: sum(p["attached"] for p in cli_json(bus, "status")["probes"]) == N, 60,
         f"the probe on all {N} VM interfaces")
base = None
if BASELINE:
    bbus = Bus()
    base = Daemon(bbus, "--connect", f"test://{node_xml}", "--interval", "1",
                  "--metrics-listen", f"127.0.0.1:{BPORT}", *extra, exe=BASELINE, name="virtnetmond-baseline",
                  usage_db=False)
    wait_for(lambda: sum(p["attached"] for p in json.loads(cli(bbus, "status", "--json").stdout)["probes"]) == N, 60,
             f"the baseline's probe on all {N} VM interfaces")

SENDER = r"""
import socket, struct, sys
n, up = int(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", ""))
def frame(dst, src, sport, i):
    payload = b"b" * 64
    udp = struct.pack("!HHHH", sport, 9, 8 + len(payload), 0) + payload
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                               bytes([10, 99, sport >> 8, sport & 255]), bytes([10, 98, 0, 1])))
    c = sum(struct.unpack("!10H", ip)); c = (c & 0xffff) + (c >> 16); c = (c & 0xffff) + (c >> 16)
    ip[10:12] = struct.pack("!H", ~c & 0xffff)
    return dst + src + b"\x08\x00" + bytes(ip) + udp
socks = {}
def sock(dev):
    if dev not in socks:
        socks[dev] = socket.socket(socket.AF_PACKET, socket.SOCK_RAW); socks[dev].bind((dev, 0))
    return socks[dev]
for rnd in range(int(sys.argv[3])):
    for i in range(n):
        vm = bytes([0x52, 0x54, 0, 0xbb, i // 256, i % 256])
        sock(f"vnmbm-{i}g").send(frame(up, vm, 1000 + i, rnd))   # from the VM
        sock("vnmbm-upg").send(frame(vm, up, 1000 + i, rnd))     # to the VM
"""

if TRAFFIC:
    for b in [bus] + ([bbus] if BASELINE else []):
        if not SAMPLED:
            cli(b, "latency", "--all", "--on")
    up_mac = subprocess.run(["ip", "-n", ns, "-j", "link", "show", "vnmbm-upg"], capture_output=True,
                            text=True, check=True).stdout.split('"address":"')[1].split('"')[0]
    # Sampled: rounds for several of the sampler's periods (100 ms every
    # 2 s), so that every VM's histograms catch packets in a window.
    rounds = "20"
    t0 = time.monotonic()
    while True:
        subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", SENDER, str(N), up_mac, rounds],
                       check=True)
        if not SAMPLED or time.monotonic() - t0 > 8:
            break
    time.sleep(2.5)
node_exporter = shutil.which("prometheus-node-exporter")
nexp = None
if node_exporter:
    nexp = subprocess.Popen([node_exporter, "--collector.disable-defaults", "--collector.netdev",
                             f"--web.listen-address=127.0.0.1:{NPORT}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_cleanup(nexp.kill)
time.sleep(3)


def cpu_s(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(port, pid, accept_gzip):
    headers = {"Accept-Encoding": "gzip"} if accept_gzip else {}
    times, body = [], b""
    c0 = cpu_s(pid)
    for _ in range(SCRAPES):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        t0 = time.perf_counter()
        conn.request("GET", "/metrics", headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        times.append((time.perf_counter() - t0) * 1000)
        encoding = resp.getheader("Content-Encoding")
        conn.close()
    cpu_ms = (cpu_s(pid) - c0) * 1000 / SCRAPES
    text = gzip.decompress(body) if encoding == "gzip" else body
    samples = sum(1 for line in text.decode().splitlines() if line and not line.startswith("#"))
    times.sort()
    return {"median": statistics.median(times), "p95": times[int(0.95 * len(times)) - 1],
            "cpu": cpu_ms, "wire": len(body), "raw": len(text), "samples": samples}


def measure_alternating(targets, gz, blocks=5):
    """Scrapes each target SCRAPES times, in @blocks blocks that take turns,
    so that the machine's drift touches them alike; figures over all."""
    global SCRAPES
    total, SCRAPES = SCRAPES, SCRAPES // blocks
    parts = {name: [] for name, _, _ in targets}
    try:
        for _ in range(blocks):
            for name, port, pid in targets:
                parts[name].append(measure(port, pid, gz))
    finally:
        SCRAPES = total
    out = {}
    for name, ms in parts.items():
        out[name] = {"median": statistics.median(m["median"] for m in ms),
                     "p95": max(m["p95"] for m in ms), "cpu": statistics.mean(m["cpu"] for m in ms),
                     "wire": ms[-1]["wire"], "raw": ms[-1]["raw"], "samples": ms[-1]["samples"]}
    return out


rows = []
targets = [("virtnetmond /metrics", PORT, daemon.proc.pid)]
if base:
    targets.append(("virtnetmond /metrics, baseline build", BPORT, base.proc.pid))
if nexp:
    targets.append(("node_exporter 1.5, netdev collector only", NPORT, nexp.pid))
for gz in (False, True):
    got = measure_alternating(targets, gz)
    rows += [(name, gz, got[name]) for name, _, _ in targets]

n_links = len(os.listdir("/sys/class/net"))
out = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()}, "
       f"{os.cpu_count()} CPUs, kernel {platform.release()}; {N} running VMs (libvirt test driver), "
       f"one veth each with the flow probe attached; {n_links} interfaces on the host. " +
       ("Every VM sampled (the default: 100 ms every 2 s), with traffic both ways through a bridge "
        "for several periods: end-to-end histograms both ways, flows and drops. " if SAMPLED else
        "Every VM traced in full, with traffic both ways through a bridge: histograms in every "
        "direction and stage, flows and drops. " if TRAFFIC else "No traffic. ") +
       f"Median of {SCRAPES} scrapes, a new connection each, in blocks that take turns between the "
       "endpoints; CPU is the exporter's own (utime + stime) per scrape.\n",
       "| endpoint | gzip | median ms | p95 ms | exporter CPU ms | bytes on the wire | bytes uncompressed | samples |",
       "|---|---|---:|---:|---:|---:|---:|---:|"]
for name, gz, m in rows:
    out.append(f"| {name} | {'yes' if gz else 'no'} | {m['median']:.2f} | {m['p95']:.2f} | {m['cpu']:.2f} | "
               f"{m['wire']} | {m['raw']} | {m['samples']} |")


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024


out.append("")
out.append(f"virtnetmond's RSS with {N} VMs after the scrapes: {rss_mib(daemon.proc.pid):.1f} MiB" +
           (f" (baseline build: {rss_mib(base.proc.pid):.1f} MiB)." if base else "."))
text = "\n".join(out) + "\n"
print(text)
if len(sys.argv) > 2 and sys.argv[1] == "--update-doc":
    write_block(sys.argv[2], "bench-metrics-sampled" if SAMPLED else
                "bench-metrics-traffic" if TRAFFIC else "bench-metrics", text)
