#!/usr/bin/env python3
"""Integration: the Prometheus endpoint (--metrics-listen).

Two "VMs" of a libvirt test-driver host are network namespaces behind veth
devices on a bridge, a peer is a third namespace. The VM pmvm1 opens TCP
connections to the peer. Ground truth: `ip -j -s link` for the counters, the
connections this test made for TCP health, promtool for the format, and
Debian's real Prometheus scraping the endpoint and answering queries --
including every query of docs/grafana-dashboard.json.

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
    return re.sub(r"\$\{?\w+(:\w+)?\}?", ".*", e)


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
                    "bool", "and", "or", "unless", "count", "le", "delta", "deriv", "abs", "time", "offset"}
    unknown, failed, empty = set(), [], []
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
            f"all {len(queries)} dashboard queries use metrics the endpoint exposes", str(sorted(unknown)))
    t.check(not failed, "Prometheus accepts every dashboard query", str(failed))
    t.check(not empty, "every dashboard query answers with data from this endpoint", str(empty))


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
