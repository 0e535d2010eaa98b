#!/usr/bin/env python3
"""Integration: the Prometheus endpoint (--metrics-listen).

Two "VMs" of a libvirt test-driver host are network namespaces behind veth
devices on a bridge, a peer is a third namespace. The VM pmvm1 opens TCP
connections to the peer. Ground truth: `ip -j -s link` for the counters, the
connections, datagrams and pings this test made for TCP health and flows,
nftables rule counters for drops, the daemon's own `virtnetmon latency`,
`drops` and `flows` for the histograms (every bucket, _sum, _count, and
histogram_quantile computed here as Prometheus does), promtool for the
format, and Debian's real Prometheus scraping the endpoint and answering
queries -- including every query of docs/grafana-dashboard.json.

The namespaces, the daemon serving metrics and pmvm1's connections are the
shared setup; each case makes and cleans up what else it needs (the
Prometheus server), so one that fails does not stop the others. The last
case stops the daemon.
"""
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, free_port,  # noqa: E402
                     kernel_link, make_link, netns_on_bridge, on_cleanup, require_root, sh,
                     skip, source_dir, tcp_clients, tcp_server, wait_for, write_test_node)
import promtext  # noqa: E402

require_root()
for tool in ("promtool", "prometheus"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (Debian package prometheus)")
for tool in ("nft", "ping"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (Debian packages nftables, iputils-ping)")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-metrics-")
on_cleanup(shutil.rmtree, tmp, True)


def http(path, method="GET", headers=None):
    req = urllib.request.Request(URL + path, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def scrape():
    status, headers, body = http("/metrics")
    assert status == 200, (status, body[:300])
    return headers, body.decode()


def exprs(node):
    if isinstance(node, dict):
        if node.get("type") == "datasource":     # a variable naming the data source
            return
        for k, v in node.items():
            if k in ("expr", "query") and isinstance(v, str) and v.strip():
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


def grafana_to_promql(e):
    e = re.sub(r"label_values\(([^,()]+(?:\{[^}]*\})?),\s*(\w+)\)", r"\1", e)
    for var, val in (("$__rate_interval", "1m"), ("$__interval", "15s"), ("$__range", "5m")):
        e = e.replace(var, val)
    # Dashboard variables ($vm, ${host:regex}); not label_replace's $1.
    return re.sub(r"\$\{?[A-Za-z_]\w*(:\w+)?\}?", ".*", e)


with t.setup("two VMs and a peer, the daemon serving metrics, and K TCP connections from pmvm1"):
    # --- two "VMs" and a peer ---------------------------------------------------
    VM2_NAME = 'pm "quoted" \\ vm2'     # label escaping, end to end
    # IPv6 off on every device here: no neighbour discovery or MLD chatter, so
    # the counters stand still once the test's traffic ends and compare exactly.
    make_link("vnmpm-br0", "type", "bridge")
    sh("sysctl", "-qw", "net.ipv6.conf.vnmpm-br0.disable_ipv6=1")
    sh("ip", "link", "set", "vnmpm-br0", "up")
    nets = {dev: netns_on_bridge("vnmpm-br0", dev, ns_name, addr, quiet=True)
            for dev, ns_name, addr in (("vnmpm-v1", "vnmpm-vm1", "10.217.0.1"),
                                       ("vnmpm-v2", "vnmpm-vm2", "10.217.0.3"),
                                       ("vnmpm-p1", "vnmpm-peer", "10.217.0.2"))}

    # pmvm1 is an OpenStack instance: Nova's <metadata> as a compute node
    # writes it, and a libvirt title.
    NOVA = """
    <title>Shop front end</title>
    <description>nginx, blue</description>
    <metadata>
      <nova:instance xmlns:nova="http://openstack.org/xmlns/libvirt/nova/1.1">
        <nova:package version="27.1.0"/>
        <nova:name>web-1</nova:name>
        <nova:flavor name="m1.small"><nova:vcpus>1</nova:vcpus></nova:flavor>
        <nova:owner>
          <nova:user uuid="8e5a9c1f0b2d4e3f9a7b6c5d4e3f2a1b">alice</nova:user>
          <nova:project uuid="c0ffee0badd04a11b2c3d4e5f6a7b8c9">shop-prod</nova:project>
        </nova:owner>
      </nova:instance>
    </metadata>"""
    TENANT = {"vm_title": "Shop front end", "nova_instance_name": "web-1", "nova_project_name": "shop-prod",
              "nova_project_uuid": "c0ffee0badd04a11b2c3d4e5f6a7b8c9", "nova_user_name": "alice",
              "nova_user_uuid": "8e5a9c1f0b2d4e3f9a7b6c5d4e3f2a1b", "nova_flavor": "m1.small"}
    node_xml = write_test_node(os.path.join(tmp, "node.xml"), [
        ("pmvm1", "6a1e2f3c-0b4d-4c5e-8f70-112233445501", [("52:54:00:17:00:01", "vnmpm-br0", "vnmpm-v1")], NOVA),
        (VM2_NAME, "6a1e2f3c-0b4d-4c5e-8f70-112233445502", [("52:54:00:17:00:02", "vnmpm-br0", "vnmpm-v2")])])

    PORT = free_port()
    URL = f"http://127.0.0.1:{PORT}"
    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                    "--metrics-listen", f"127.0.0.1:{PORT}")

    # --- traffic: K TCP connections from pmvm1 to the peer, exact bytes ------------
    K, SEND = 4, 300000
    server = tcp_server(nets["vnmpm-p1"], "10.217.0.2", 7001, K)
    time.sleep(0.5)
    wait_for(lambda: any(p["iface"] == "vnmpm-v1" and p["attached"]
                         for p in cli_json(bus, "status")["probes"]), 10, "the probe on vnmpm-v1")
    tcp_clients(nets["vnmpm-v1"], "10.217.0.2", 7001, K, SEND)
    server.wait(20)
    time.sleep(2.5)       # two samples after the last packet


@t.case("tenant labels: libvirt's title and Nova's instance, project, user and flavor")
def _():
    doms = {d["vm_name"]: d for d in cli_json(bus, "list")}
    got = {k: doms["pmvm1"].get(k) for k in TENANT}
    t.check(got == TENANT and doms["pmvm1"]["vm_description"] == "nginx, blue",
            "list --json has the title, description and Nova's tenant of the instance", json.dumps(doms["pmvm1"]))
    t.check(all(doms[VM2_NAME][k] == "" for k in TENANT), "a VM that is not Nova's has them empty",
            json.dumps(doms[VM2_NAME]))
    text = cli(bus, "list", "--title").stdout
    line = next((x for x in text.splitlines() if "pmvm1" in x), "")
    t.check("Project" in text and "web-1" in line and "shop-prod" in line and "Shop front end" in line,
            "list shows the Nova instance and project, and --title the title", text)
    _, metrics = scrape()
    _, samples = promtext.parse(metrics)
    info = promtext.select(samples, "virtnetmon_vm_info", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501")
    t.check(len(info) == 1 and {k: info[0][0].get(k) for k in TENANT} == TENANT and
            "vm_description" not in info[0][0],
            "virtnetmon_vm_info carries the tenant labels (not the description)", str(info))
    # The documented join: bytes per Nova project, from the interface
    # counters (labels vm_uuid) and vm_info (group_left by vm_uuid).
    project = {lab["vm_uuid"]: lab["nova_project_name"] for lab, _ in
               promtext.select(samples, "virtnetmon_vm_info")}
    by_project = {}
    for lab, v in promtext.select(samples, "virtnetmon_interface_transmit_bytes_total"):
        if lab.get("vm_uuid") in project:
            by_project[project[lab["vm_uuid"]]] = by_project.get(project[lab["vm_uuid"]], 0) + v
    kernel = int(sh("cat", "/sys/class/net/vnmpm-v1/statistics/rx_bytes").stdout)
    t.check(by_project.get("shop-prod", 0) > 0 and abs(by_project["shop-prod"] - kernel) <= 4096,
            "joined on vm_uuid, the project's bytes sent are its VM's (the kernel's rx of vnmpm-v1)",
            f"{by_project} kernel {kernel}")


@t.case("the daemon logs where it serves metrics")
def _():
    t.check(f"Serving Prometheus metrics at http://127.0.0.1:{PORT}/metrics" in daemon.output(),
            "the daemon logs where it serves metrics", daemon.output())


@t.case("the exposition itself")
def _():
    # --- the exposition itself --------------------------------------------------
    headers, text = scrape()
    t.check(headers.get("Content-Type", "").startswith("text/plain; version=0.0.4"),
            "Content-Type is the text exposition format 0.0.4", str(headers))
    with open(os.path.join(tmp, "metrics.txt"), "w") as f:
        f.write(text)
    r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True, capture_output=True)
    t.check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(),
            "promtool check metrics: valid, no lint problems", (r.stdout + r.stderr)[:2000])
    families, samples = promtext.parse(text)
    bad_counters = [n for n, f in families.items() if f.get("type") == "counter" and not n.endswith("_total")]
    t.check(not bad_counters and all(f.get("help") for f in families.values()),
            "every family has HELP; every counter ends in _total", str(bad_counters))

    k1 = kernel_link("vnmpm-v1")
    v1 = dict(iface="vnmpm-v1", vm_name="pmvm1", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501", vm_id="1")
    got = {key: promtext.value(samples, f"virtnetmon_interface_{key}_total", **v1)
           for key in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets")}
    want = {"receive_bytes": k1["tx_bytes"], "transmit_bytes": k1["rx_bytes"],
            "receive_packets": k1["tx_packets"], "transmit_packets": k1["rx_packets"]}
    t.check(got == want and got["transmit_bytes"] > K * SEND,
            "VM interface counters equal `ip -s link`, in the guest's view (transmit = sent by the VM)",
            f"metrics {got} kernel swapped {want}")
    kb = kernel_link("vnmpm-br0")
    t.check(promtext.value(samples, "virtnetmon_interface_receive_bytes_total", iface="vnmpm-br0", vm_name="")
            == kb["rx_bytes"], "a host-only bridge: host's view, empty VM labels")
    info = promtext.select(samples, "virtnetmon_interface_info", iface="vnmpm-v1")
    t.check(info and info[0][0]["view"] == "guest" and info[0][0]["mapped_by"] == "libvirt"
            and info[0][0]["kind"] == "veth", "interface_info: kind, view, mapped_by", str(info))

    tcp = {n: promtext.value(samples, f"virtnetmon_tcp_{n}", **v1)
           for n in ("connections_opened_total", "connections_closed_total", "resets_total", "connections_open")}
    t.check(tcp == {"connections_opened_total": K, "connections_closed_total": K, "resets_total": 0,
                    "connections_open": 0},
            f"TCP health: {K} connections opened and closed, none open or reset", str(tcp))
    rtt = promtext.select(samples, "virtnetmon_tcp_rtt_seconds", iface="vnmpm-v1")
    t.check(rtt and all(0 < v < 0.05 for _, v in rtt) and {lab["leg"] for lab, _ in rtt} <= {"remote", "vm"},
            "RTT gauges per leg in seconds, plausible for namespaces", str(rtt))
    t.check(promtext.value(samples, "virtnetmon_flow_evictions_total", **v1) == 0 and
            promtext.value(samples, "virtnetmon_probe_attached", iface="vnmpm-v1", program="tcx") == 1,
            "probe attached (tcx), no evictions")

    vm2 = promtext.select(samples, "virtnetmon_vm_info", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445502")
    t.check(len(vm2) == 1 and vm2[0][0]["vm_name"] == VM2_NAME and vm2[0][0]["state"] == "running",
            "a VM name with quotes and a backslash round-trips through label escaping", str(vm2))
    t.check(promtext.value(samples, "virtnetmon_libvirt_connected") == 1 and
            promtext.value(samples, "virtnetmon_vms") == 2 and
            promtext.value(samples, "virtnetmon_flow_probe_available") == 1,
            "daemon health: libvirt connected, 2 VMs, probe available")
    rss = promtext.value(samples, "process_resident_memory_bytes")
    with open(f"/proc/{daemon.proc.pid}/status") as f:
        vmrss = int(re.search(r"VmRSS:\s+(\d+) kB", f.read()).group(1)) * 1024
    fds = len(os.listdir(f"/proc/{daemon.proc.pid}/fd"))
    t.check(abs(rss - vmrss) < 0.2 * vmrss and abs(promtext.value(samples, "process_open_fds") - fds) <= 2,
            "process metrics agree with /proc/PID (VmRSS, fd/)", f"rss {rss} vs {vmrss}, fds vs {fds}")


def hist_series(samples, **labels):
    """{le: cumulative count} of a histogram's buckets, its _sum and _count."""
    buckets = {float(lab["le"]): v for lab, v in promtext.select(samples, "virtnetmon_latency_seconds_bucket", **labels)}
    sums = promtext.select(samples, "virtnetmon_latency_seconds_sum", **labels)
    counts = promtext.select(samples, "virtnetmon_latency_seconds_count", **labels)
    return buckets, (sums[0][1] if len(sums) == 1 else None), (counts[0][1] if len(counts) == 1 else None)


def histogram_quantile(q, buckets):
    """Prometheus' histogram_quantile over one series' buckets ({le: count}):
    the bucket holding rank q * count, linear inside it; the +Inf bucket gives
    the highest finite bound. Returns (value, width of the bucket)."""
    bounds = sorted(buckets)
    total = buckets[float("inf")]
    rank = q * total
    prev_bound, prev_count = 0.0, 0.0
    for b in bounds:
        if buckets[b] >= rank:
            if b == float("inf"):
                return prev_bound, float("inf")
            in_bucket = buckets[b] - prev_count
            return prev_bound + (b - prev_bound) * (rank - prev_count) / in_bucket, b - prev_bound
        prev_bound, prev_count = b, buckets[b]
    return prev_bound, float("inf")


@t.case("latency histograms: every stage of a VM traced in full agrees with virtnetmon latency")
def _():
    # Traced to the end: the dashboard's latency queries read its histograms.
    cli(bus, "latency", "pmvm1", "--on")
    before = kernel_link("vnmpm-v1")
    PINGS = 150
    sh("ping", "-q", "-c", str(PINGS), "-i", "0.005", "-s", "200", "10.217.0.2", netns=nets["vnmpm-v1"])
    time.sleep(0.5)
    after = kernel_link("vnmpm-v1")
    # The daemon's own account, read on both sides of the scrape: equal when
    # no packet came in between.
    for _ in range(5):
        lat = cli_json(bus, "latency", "pmvm1")
        samples = promtext.parse(scrape()[1])[1]
        if cli_json(bus, "latency", "pmvm1")["stages"] == lat["stages"]:
            break
    v1 = dict(vm_name="pmvm1", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501", vm_id="1")
    t.check(promtext.value(samples, "virtnetmon_latency_mode", mode="full", **v1) == 1,
            "virtnetmon_latency_mode: pmvm1 is traced in full", str(promtext.select(samples, "virtnetmon_latency_mode")))
    traced = promtext.value(samples, "virtnetmon_latency_traced_seconds_total", **v1)
    t.check(0 < traced <= lat["state"]["traced_seconds"] + 5, "traced seconds as GetLatency says",
            f"{traced} vs {lat['state']['traced_seconds']}")
    stages = {(r["direction"], r["stage"]): r for r in lat["stages"] if r["packets"]}
    got = {(lab["direction"], lab["stage"]) for lab, _ in
           promtext.select(samples, "virtnetmon_latency_seconds_count", vm_name="pmvm1")}
    t.check(len(stages) == 7 and got == set(stages),
            "one histogram per direction and stage with packets: tx 3 stages, rx 4", f"{sorted(got)} vs {sorted(stages)}")
    tx_total = stages.get(("tx", "total"), {}).get("packets", 0)
    t.check(PINGS <= tx_total <= after["rx_packets"] - before["rx_packets"],
            f"the {PINGS} echo requests are measured end to end from the VM, no more than the kernel counted",
            f"{tx_total}, kernel {after['rx_packets'] - before['rx_packets']}")
    bad = []
    for (direction, stage), r in sorted(stages.items()):
        buckets, total_s, count = hist_series(samples, vm_name="pmvm1", direction=direction, stage=stage)
        where = f"{direction}/{stage}"
        if count != r["packets"] or buckets.get(float("inf")) != count:
            bad.append(f"{where}: _count {count}, +Inf {buckets.get(float('inf'))}, packets {r['packets']}")
            continue
        if abs(total_s - r["mean_us"] * r["packets"] / 1e6) > 1e-6 * max(1.0, total_s):
            bad.append(f"{where}: _sum {total_s} vs mean*count {r['mean_us'] * r['packets'] / 1e6}")
        # Every bucket against the daemon's own fine buckets (high bound in ns).
        for le, n in buckets.items():
            want = sum(c for lo, hi, c in r["buckets_ns"] if hi <= le * 1e9 + 0.5)
            if le != float("inf") and n != want:
                bad.append(f"{where}: le={le} {n} vs {want} from buckets_ns")
        for q, key in ((0.5, "p50_us"), (0.9, "p90_us"), (0.99, "p99_us")):
            v, width = histogram_quantile(q, buckets)
            if abs(v - r[key] / 1e6) > width:
                bad.append(f"{where}: histogram_quantile({q}) {v * 1e6:.2f} us vs {key} {r[key]} us, bucket {width * 1e6:.2f} us")
    t.check(not bad, "_count = packets, _sum = mean x packets, every le exact against buckets_ns, and "
            "histogram_quantile(0.5, 0.9, 0.99) within its bucket's width of p50, p90, p99", "\n".join(bad))
    les = sorted({lab["le"] for lab, _ in promtext.select(samples, "virtnetmon_latency_seconds_bucket")},
                 key=float)
    t.check(len(les) == 27 and les[0] == "1.024e-06" and les[-1] == "+Inf",
            "27 buckets: powers of two of nanoseconds from 1.024 us to 34.4 s, and +Inf", str(les))
    vm2 = cli_json(bus, "latency", VM2_NAME)["state"]
    modes = {lab["vm_name"]: lab["mode"] for lab, _ in promtext.select(samples, "virtnetmon_latency_mode")}
    t.check(modes.get(VM2_NAME) == vm2["mode"] == "sampled", "the other VM's histograms are sampled, as GetLatency says",
            f"{modes} vs {vm2['mode']}")
    stages2 = {lab["stage"] for lab, _ in promtext.select(samples, "virtnetmon_latency_seconds_count", vm_name=VM2_NAME)}
    stages1 = {lab["stage"] for lab, _ in promtext.select(samples, "virtnetmon_latency_seconds_count", vm_name="pmvm1")}
    t.check(stages2 <= {"total"} and len(stages1) > 1,
            "a sampled VM exports the end-to-end histogram only, a VM traced in full every stage",
            f"sampled {stages2}, full {stages1}")
    t.check(promtext.value(samples, "virtnetmon_latency_probe_available") == 1 and
            {lab["cause"] for lab, _ in promtext.select(samples, "virtnetmon_latency_events_lost_total")} == {"ring", "rate"},
            "the probe is available; events lost by cause ring and rate")


@t.case("drops by kernel reason, as nftables counted them")
def _():
    sh("nft", "-f", "-", input="""
table bridge vnmpm {
  chain vm_forward {
    type filter hook forward priority 0;
    iifname "vnmpm-v1" udp dport 5002 counter drop
    oifname "vnmpm-v1" udp dport 5003 counter drop
  }
}
""")
    on_cleanup(sh, "nft", "delete", "table", "bridge", "vnmpm", check=False)
    send = "import socket, sys; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n" \
           "[s.sendto(b'd' * 50, (sys.argv[1], int(sys.argv[2]))) for _ in range(int(sys.argv[3]))]"
    sh("python3", "-c", send, "10.217.0.2", "5002", "7", netns=nets["vnmpm-v1"])
    sh("python3", "-c", send, "10.217.0.1", "5003", "3", netns=nets["vnmpm-p1"])
    time.sleep(0.3)
    counters = [int(w.split()[0]) for w in sh("nft", "list", "table", "bridge", "vnmpm").stdout.split("packets")[1:]]
    samples = promtext.parse(scrape()[1])[1]
    v1 = dict(iface="vnmpm-v1", vm_name="pmvm1", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501", vm_id="1")
    tx = promtext.select(samples, "virtnetmon_drops_total", direction="tx", reason="NETFILTER_DROP", **v1)
    rx = promtext.select(samples, "virtnetmon_drops_total", direction="rx", reason="NETFILTER_DROP", **v1)
    t.check(counters == [7, 3] and [v for _, v in tx] == [7] and [v for _, v in rx] == [3],
            "virtnetmon_drops_total: tx and rx NETFILTER_DROP of pmvm1's interface, as the nftables rules counted",
            f"tx {tx} rx {rx} nft {counters}")
    for vm in ("pmvm1", VM2_NAME):
        want = {(d["iface"], d["direction"], d["reason"]): d["packets"] for d in cli_json(bus, "drops", vm)}
        got = {(lab["iface"], lab["direction"], lab["reason"]): v
               for lab, v in promtext.select(samples, "virtnetmon_drops_total", vm_name=vm)}
        t.check(got == want, f"every drop of {vm!r} as virtnetmon drops --json lists it", f"{got} vs {want}")


def flow_classes(samples, family, label, **labels):
    return {(lab["proto"], lab[label]): v for lab, v in promtext.select(samples, family, **labels)}


@t.case("flows by protocol: exact, and as virtnetmon flows sums them")
def _():
    v1 = dict(vm_name="pmvm1", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501", vm_id="1")
    time.sleep(1.2)                 # a read of the flow table after the cases before
    k0, s0 = kernel_link("vnmpm-v1"), promtext.parse(scrape()[1])[1]
    # N datagrams of 100 bytes to a port nobody listens on: the peer answers
    # each with an ICMP port unreachable.
    N = 25
    sh("python3", "-c", "import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\n"
       f"[s.sendto(b'u' * 100, ('10.217.0.2', 5020)) for _ in range({N})]", netns=nets["vnmpm-v1"])
    time.sleep(2.5)                 # two reads of the flow table
    k1, text = kernel_link("vnmpm-v1"), scrape()[1]
    s1 = promtext.parse(text)[1]
    flows = cli_json(bus, "flows", "pmvm1", "--by", "flow", "--non-unicast")  # every flow, as the metrics count them

    def delta(family, label="direction"):
        a, b = flow_classes(s0, family, label, **v1), flow_classes(s1, family, label, **v1)
        return {k: v - a.get(k, 0) for k, v in b.items() if v != a.get(k, 0)}

    t.check(delta("virtnetmon_vm_flow_packets_total").get(("udp", "tx")) == N and
            delta("virtnetmon_vm_flow_bytes_total").get(("udp", "tx")) == N * 100,
            f"udp tx: the {N} datagrams and their {N * 100} payload bytes", str(delta("virtnetmon_vm_flow_bytes_total")))
    t.check(flow_classes(s1, "virtnetmon_vm_flow_bytes_total", "direction", **v1).get(("tcp", "tx")) == K * SEND and
            flow_classes(s1, "virtnetmon_vm_flows_created_total", "initiator", **v1).get(("tcp", "vm")) == K,
            f"tcp tx: the {K} connections' {K * SEND} bytes; {K} TCP flows the VM opened",
            str(flow_classes(s1, "virtnetmon_vm_flow_bytes_total", "direction", **v1)))
    untracked = (promtext.value(s1, "virtnetmon_untracked_packets_total", iface="vnmpm-v1") -
                 promtext.value(s0, "virtnetmon_untracked_packets_total", iface="vnmpm-v1"))
    kernel_packets = (k1["rx_packets"] + k1["tx_packets"]) - (k0["rx_packets"] + k0["tx_packets"])
    t.check(sum(delta("virtnetmon_vm_flow_packets_total").values()) + untracked == kernel_packets,
            "the packets of every protocol and direction, with the untracked ones, are what the kernel counted",
            f"{delta('virtnetmon_vm_flow_packets_total')} + untracked {untracked} vs kernel {kernel_packets}")
    cls = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "icmpv6": "icmp"}
    want_bytes, want_flows = {}, {}
    for r in flows:
        c = cls.get(r["proto"], "other")
        for d in ("tx", "rx"):
            want_bytes[(c, d)] = want_bytes.get((c, d), 0) + r[f"{d}_bytes"]
        want_flows[(c, r["initiator"])] = want_flows.get((c, r["initiator"]), 0) + r["active"]
    got_bytes = flow_classes(s1, "virtnetmon_vm_flow_bytes_total", "direction", **v1)
    got_active = {k: v for k, v in flow_classes(s1, "virtnetmon_vm_flows_active", "initiator", **v1).items() if v}
    t.check(got_bytes == want_bytes and got_active == {k: v for k, v in want_flows.items() if v},
            "bytes by protocol and direction, and flows active, as virtnetmon flows --json sums them",
            f"{got_bytes} vs {want_bytes}; {got_active} vs {want_flows}")
    labels = {k for n, lab, _ in s1 if n.startswith("virtnetmon_vm_flow") for k in lab}
    t.check(labels <= {"vm_name", "vm_uuid", "vm_id", "proto", "direction", "initiator"},
            "no address or port in the labels of the per-VM flow families", str(labels))
    # The whole exposition again, now with histograms, drops and flows by protocol.
    r = subprocess.run(["promtool", "check", "metrics"], input=text, text=True, capture_output=True)
    families = promtext.parse(text)[0]
    t.check(r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip() and
            families.get("virtnetmon_latency_seconds", {}).get("type") == "histogram",
            "promtool check metrics: valid with histograms, drops and flows by protocol", (r.stdout + r.stderr)[:2000])


@t.case("HTTP behaviour")
def _():
    families = promtext.parse(scrape()[1])[0]
    # --- HTTP behaviour ----------------------------------------------------------
    status, h, body = http("/metrics", headers={"Accept-Encoding": "gzip"})
    unz = gzip.decompress(body).decode() if h.get("Content-Encoding") == "gzip" else ""
    t.check(status == 200 and promtext.parse(unz)[0].keys() == families.keys(),
            "gzip when the scraper accepts it; same families", str(h))
    status, h, body = http("/metrics", method="POST")
    t.check(status == 405 and h.get("Allow") == "GET, HEAD", "POST: 405 with Allow: GET, HEAD", f"{status} {h}")
    status, _, body = http("/nope")
    t.check(status == 404 and b"/metrics" in body, "an unknown path: 404 pointing at /metrics", f"{status} {body!r}")
    status, _, body = http("/")
    t.check(status == 200 and b'href="/metrics"' in body, "/ links to /metrics")


@t.case("bad listen addresses")
def _():
    # --- bad listen addresses ------------------------------------------------------
    vnmd = os.path.join(build_dir(), "src", "virtnetmond")
    r = subprocess.run([vnmd, "--bus-address", bus.address, "--connect", "test:///default", "--pin-dir", "",
                        "--usage-db", "", "--metrics-listen", f"127.0.0.1:{PORT}"], capture_output=True, text=True, timeout=20)
    t.check(r.returncode == 1 and f"127.0.0.1:{PORT}" in r.stderr and "in use" in r.stderr,
            "a port in use: exit 1, names the address and the cause", r.stderr)
    for bad, word in (("localhost", "localhost"), ("127.0.0.1:0", "'0'"), ("[::1:9100", "[::1:9100"),
                      ("[nope]:9100", "'nope'")):
        r = subprocess.run([vnmd, "--metrics-listen", bad], capture_output=True, text=True, timeout=20)
        t.check(r.returncode == 2 and word in r.stderr, f"--metrics-listen {bad}: exit 2, named", r.stderr)
    bad_conf = os.path.join(tmp, "bad-listen.conf")
    with open(bad_conf, "w") as f:
        f.write("[daemon]\nmetrics-listen=localhost\n")
    r = subprocess.run([vnmd, "--config", bad_conf], capture_output=True, text=True, timeout=20)
    t.check(r.returncode == 2 and f"metrics-listen= in {bad_conf}" in r.stderr and "--metrics-listen" not in r.stderr,
            "a bad metrics-listen= in the config file: exit 2, naming the file, not the option", r.stderr)


@t.case("the real Prometheus scrapes it; the Grafana dashboard's queries")
def _():
    # --- the real Prometheus scrapes it ------------------------------------------------
    PPORT = free_port()
    conf = os.path.join(tmp, "prometheus.yml")
    with open(conf, "w") as f:
        f.write(f"""global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: virtnetmon
    static_configs:
      - targets: ['127.0.0.1:{PORT}']
""")
    plog = open(os.path.join(tmp, "prometheus.log"), "w")
    prom = subprocess.Popen(["prometheus", f"--config.file={conf}", f"--storage.tsdb.path={tmp}/tsdb",
                             f"--web.listen-address=127.0.0.1:{PPORT}"],
                            stdout=plog, stderr=subprocess.STDOUT)
    on_cleanup(prom.wait, 10)
    on_cleanup(prom.terminate)

    def promql(q):
        return promtext.query(PPORT, q)

    def target_up():
        r = promql('up{job="virtnetmon"}')
        return r.get("status") == "success" and [x["value"][1] for x in r["data"]["result"]] == ["1"]

    wait_for(target_up, 60, "Prometheus to scrape the endpoint (up == 1)")
    t.check(True, "Prometheus scrapes the endpoint: up == 1")
    k1 = kernel_link("vnmpm-v1")
    r = promql('sum by (vm_name) (virtnetmon_interface_transmit_bytes_total{vm_name!=""})')
    by_vm = {x["metric"]["vm_name"]: float(x["value"][1]) for x in r["data"]["result"]}
    t.check(by_vm.get("pmvm1") == k1["rx_bytes"] and VM2_NAME in by_vm,
            "PromQL sum by (vm_name): pmvm1 sent what the kernel counted; both VMs answer",
            f"{by_vm} kernel {k1['rx_bytes']}")
    wait_for(lambda: promql('rate(virtnetmon_interface_transmit_bytes_total{vm_name="pmvm1"}[5s])')
             ["data"]["result"], 20, "two scrapes for rate()")
    r = promql(f'sum(virtnetmon_tcp_connections_opened_total{{vm_name="pmvm1"}})')
    t.check(float(r["data"]["result"][0]["value"][1]) == K, f"PromQL: pmvm1 opened {K} TCP connections", str(r))

    # --- the Grafana dashboard queries only what the endpoint exposes -------------
    with open(os.path.join(source_dir(), "docs", "grafana-dashboard.json")) as f:
        dash = json.load(f)

    families, samples = promtext.parse(scrape()[1])
    queries = list(exprs(dash))
    exposed = set(families) | {n for n, _, _ in samples}
    # Names of the histogram/summary children count as their family's.
    exposed |= {n + s for n in families for s in ("_bucket", "_sum", "_count")}
    promql_words = {"sum", "rate", "irate", "increase", "by", "without", "avg", "max", "min", "topk",
                    "histogram_quantile", "clamp_min", "label_values", "on", "ignoring", "group_left",
                    "bool", "and", "or", "unless", "count", "le", "delta", "deriv", "abs", "time", "offset",
                    "label_join", "label_replace"}
    unknown, failed, empty = set(), [], []
    # Queries of the fleet's recording rules (names with a colon, from
    # docs/prometheus/virtnetmon-rules.yml) need the rules and more than one
    # host: the fleet suite runs them against its site Prometheus.
    fleet = [q for q in queries if re.search(r"\b[a-z_]+:[a-z_0-9]+:[a-z_0-9]+\b", q)]
    queries = [q for q in queries if q not in fleet]
    for q in queries:
        plain = grafana_to_promql(q)
        stripped = re.sub(r'\{[^}]*\}|"[^"]*"|\[[^\]]*\]', "", plain)
        for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", stripped):
            if word not in promql_words and (word.startswith("virtnetmon_") or word.startswith("process_")) \
               and word not in exposed:
                unknown.add(word)
        r = promql(plain)
        if r.get("status") != "success":
            failed.append((q, r.get("error")))
        elif not r["data"]["result"]:
            empty.append(q)
    t.check(len(queries) >= 10 and not unknown,
            f"all {len(queries)} dashboard queries use metrics the endpoint exposes "
            f"({len(fleet)} of the fleet's recording rules: the fleet suite)", str(sorted(unknown)))
    t.check(not failed, "Prometheus accepts every dashboard query", str(failed))
    t.check(not empty, "every dashboard query answers with data from this endpoint", str(empty))


@t.case("flow counters survive the flows' end (the VM's flow table size)")
def _():
    v1 = dict(vm_name="pmvm1", vm_uuid="6a1e2f3c-0b4d-4c5e-8f70-112233445501", vm_id="1")
    # 30 UDP flows from 30 source ports; then at most 16 flows for the VM:
    # the least recently seen end, their counts stay.
    sh("python3", "-c", "import socket\nfor i in range(30):\n"
       "    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.sendto(b'f' * 10, ('10.217.0.2', 5030)); s.close()",
       netns=nets["vnmpm-v1"])
    time.sleep(2.2)
    before = promtext.parse(scrape()[1])[1]
    cli(bus, "set", "pmvm1", "--flow-table-size", "16")
    on_cleanup(cli, bus, "set", "pmvm1", "--unset", "flow-table-size", check=False)
    wait_for(lambda: sum(r["active"] for r in cli_json(bus, "flows", "pmvm1", "--by", "flow")) <= 16, 10,
             "the VM's flows to be cut to 16")
    time.sleep(1.2)
    after = promtext.parse(scrape()[1])[1]
    b_bytes = flow_classes(before, "virtnetmon_vm_flow_bytes_total", "direction", **v1)
    a_bytes = flow_classes(after, "virtnetmon_vm_flow_bytes_total", "direction", **v1)
    evicted = sum(flow_classes(after, "virtnetmon_vm_flows_evicted_total", "initiator", **v1).values()) - \
        sum(flow_classes(before, "virtnetmon_vm_flows_evicted_total", "initiator", **v1).values())
    active = sum(flow_classes(after, "virtnetmon_vm_flows_active", "initiator", **v1).values())
    t.check(a_bytes == b_bytes and active <= 16 and evicted >= 14,
            "flows ended by the VM's flow table size: bytes unchanged, counted as evicted, 16 or fewer active",
            f"bytes {b_bytes} -> {a_bytes}, evicted +{evicted}, active {active}")


@t.case("shutdown")
def _():
    # --- shutdown ---------------------------------------------------------------------
    daemon.stop()
    t.check(daemon.proc.returncode == 0, "the daemon stops cleanly with the endpoint on", daemon.output()[-500:])
    try:
        socket.create_connection(("127.0.0.1", PORT), timeout=2).close()
        closed = False
    except OSError:
        closed = True
    t.check(closed, "the port is closed after the daemon stops")


t.done()
