#!/usr/bin/env python3
"""/metrics for a host with N VMs: scrape time, CPU and size, side by side
with node_exporter's netdev collector (the interface counters operators
scrape today, without VM labels) on the same host in the same run.

N "VMs" are domains of a libvirt test-driver connection, each owning one
veth device whose peer sits in a namespace; the flow probe is attached to
every one. Prints a Markdown block; with --update-doc FILE writes it
between <!-- bench-metrics:begin/end --> in FILE.
"""
import gzip
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
from vnmtest import (Bus, Daemon, cli_json, free_port, make_netns, on_cleanup,  # noqa: E402
                     require_root, wait_for)
from update_doc import write_block  # noqa: E402

require_root()
N = int(os.environ.get("VNM_BENCH_VMS", "200"))
SCRAPES = 50
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

node_xml = os.path.join(tmp, "node.xml")
with open(node_xml, "w") as f:
    f.write("<node>\n")
    for i in range(N):
        f.write(f"""  <domain type='test'><name>bench-vm-{i:03d}</name>
    <uuid>7b000000-0000-4000-8000-{i:012d}</uuid><memory>65536</memory>
    <os><type>hvm</type></os>
    <devices><interface type='ethernet'><mac address='52:54:00:bb:{i // 256:02x}:{i % 256:02x}'/>
      <target dev='vnmbm-{i}'/></interface></devices></domain>
""")
    f.write("</node>\n")

PORT, NPORT = free_port(), free_port()
bus = Bus()
daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                "--metrics-listen", f"127.0.0.1:{PORT}")
wait_for(lambda: sum(p["attached"] for p in cli_json(bus, "status")["probes"]) == N, 60,
         f"the probe on all {N} VM interfaces")
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


rows = []
for gz in (False, True):
    rows.append(("virtnetmond /metrics", gz, measure(PORT, daemon.proc.pid, gz)))
    if nexp:
        rows.append(("node_exporter 1.5, netdev collector only", gz, measure(NPORT, nexp.pid, gz)))

n_links = len(os.listdir("/sys/class/net"))
out = [f"Measured {time.strftime('%Y-%m-%d')} on {platform.processor() or platform.machine()}, "
       f"{os.cpu_count()} CPUs, kernel {platform.release()}; {N} running VMs (libvirt test driver), "
       f"one veth each with the flow probe attached; {n_links} interfaces on the host. "
       f"Median of {SCRAPES} scrapes, a new connection each; CPU is the exporter's own "
       "(utime + stime) per scrape.\n",
       "| endpoint | gzip | median ms | p95 ms | exporter CPU ms | bytes on the wire | bytes uncompressed | samples |",
       "|---|---|---:|---:|---:|---:|---:|---:|"]
for name, gz, m in rows:
    out.append(f"| {name} | {'yes' if gz else 'no'} | {m['median']:.2f} | {m['p95']:.2f} | {m['cpu']:.2f} | "
               f"{m['wire']} | {m['raw']} | {m['samples']} |")
with open(f"/proc/{daemon.proc.pid}/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
out.append("")
out.append(f"virtnetmond's RSS with {N} VMs after the scrapes: {rss / 1024:.1f} MiB.")
text = "\n".join(out) + "\n"
print(text)
if len(sys.argv) > 2 and sys.argv[1] == "--update-doc":
    write_block(sys.argv[2], "bench-metrics", text)
