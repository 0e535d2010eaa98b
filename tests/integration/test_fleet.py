#!/usr/bin/env python3
"""Fleet: two virtnetmond "hosts" scraped by a real Prometheus configured from
docs/prometheus/, and a global Prometheus federating it.

Each host is a virtnetmond on its own bus, its own metrics address
(127.0.0.1 and 127.0.0.2, so the example's host label tells them apart) and
its own libvirt test-driver node: host A runs web1 and cache1, host B runs
db1 and cache1 again (same uuid: the VM after a live migration, with traffic
counted on both hosts). Each VM is a network namespace behind a veth on its
host's bridge and pings a peer a known number of times. Ground truth: the
kernel's counters of each VM's veth (`ip -s link`).

The two hosts, their VMs' traffic and the site Prometheus are the shared
setup; each case makes and cleans up what else it needs (the global
Prometheus), so one that fails does not stop the others. The last case
stops the daemons.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import promtext  # noqa: E402
from vnmtest import (Bus, Daemon, Results, free_port, kernel_link, make_link,  # noqa: E402
                     netns_on_bridge, on_cleanup, require_root, sh, skip, source_dir, wait_for,
                     write_test_node)

require_root()
for tool in ("promtool", "prometheus", "ping"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (Debian packages prometheus, iputils-ping)")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-fleet-")
on_cleanup(shutil.rmtree, tmp, True)
DOCS = os.path.join(source_dir(), "docs", "prometheus")


@t.case("the examples, as shipped")
def _():
    # --- the examples, as shipped ---------------------------------------------------
    for f in ("prometheus.yml", "prometheus-global.yml"):
        r = sh("promtool", "check", "config", os.path.join(DOCS, f), check=False)
        t.check(r.returncode == 0, f"promtool check config docs/prometheus/{f}", r.stdout + r.stderr)
    r = sh("promtool", "check", "rules", os.path.join(DOCS, "virtnetmon-rules.yml"), check=False)
    t.check(r.returncode == 0, "promtool check rules docs/prometheus/virtnetmon-rules.yml", r.stdout + r.stderr)


def kernel_sent(key, name):
    """Bytes the VM sent: the host side's receive counter of its veth."""
    return kernel_link(HOSTS[key]["devs"][name])["rx_bytes"]


def kernel_host_vm():
    """Ground truth read now: {(host address, VM name): bytes it sent}."""
    return {(h["addr"], name): kernel_sent(key, name) for key, h in HOSTS.items() for name, _, _ in h["vms"]}


def kernel_per_vm():
    """Ground truth read now: {VM name: bytes it sent on all its hosts}."""
    return {"web1": kernel_sent("A", "web1"), "db1": kernel_sent("B", "db1"),
            "cache1": kernel_sent("A", "cache1") + kernel_sent("B", "cache1")}


def start_prometheus(directory, name):
    port = free_port()
    log = open(os.path.join(directory, "prometheus.log"), "w")
    p = subprocess.Popen(["prometheus", f"--config.file={directory}/prometheus.yml",
                          f"--storage.tsdb.path={directory}/tsdb",
                          f"--web.listen-address=127.0.0.1:{port}"],
                         stdout=log, stderr=subprocess.STDOUT)
    on_cleanup(p.wait, 10)
    on_cleanup(p.terminate)
    return port


def promql(port, q):
    return promtext.query(port, q)


def result(port, q):
    r = promql(port, q)
    return r["data"]["result"] if r.get("status") == "success" else []


def per_host_vm():
    return {(x["metric"].get("host"), x["metric"].get("vm_name")): float(x["value"][1]) for x in
            result(SITE, 'sum by (host, vm_name) (virtnetmon_interface_transmit_bytes_total{vm_name!=""})')}


def recorded():
    return {(x["metric"].get("host"), x["metric"].get("vm_name")) for x in
            result(SITE, "host_vm:virtnetmon_transmit_bytes:rate1m")}


with t.setup("two virtnetmond hosts with their VMs' traffic, and the site Prometheus"):
    # --- two hosts ------------------------------------------------------------------------
    CACHE_UUID = "6a1e2f3c-0b4d-4c5e-8f70-11223344c001"
    HOSTS = {
        "A": {"addr": "127.0.0.1", "net": "10.221.0", "vms": [
            ("web1", "6a1e2f3c-0b4d-4c5e-8f70-11223344a001", 10),
            ("cache1", CACHE_UUID, 5)]},
        "B": {"addr": "127.0.0.2", "net": "10.222.0", "vms": [
            ("db1", "6a1e2f3c-0b4d-4c5e-8f70-11223344b001", 15),
            ("cache1", CACHE_UUID, 7)]},
    }
    for key, host in HOSTS.items():
        k = key.lower()
        br = make_link(f"vnmf{k}-br0", "type", "bridge")
        sh("sysctl", "-qw", f"net.ipv6.conf.{br}.disable_ipv6=1")
        sh("ip", "link", "set", br, "up")
        netns_on_bridge(br, f"vnmf{k}-p1", f"vnmf{k}-peer", f"{host['net']}.100", quiet=True)
        domains = []
        host["devs"] = {}
        for i, (name, uuid, _) in enumerate(host["vms"], 1):
            dev = f"vnmf{k}-v{i}"
            host["devs"][name] = dev
            netns_on_bridge(br, dev, f"vnmf{k}-vm{i}", f"{host['net']}.{i}", quiet=True)
            domains.append((name, uuid, [(f"52:54:00:21:{ord(key):02x}:{i:02x}", br, dev)]))
        node = write_test_node(os.path.join(tmp, f"node-{k}.xml"), domains)
        host["port"] = free_port()
        host["bus"] = Bus()
        host["daemon"] = Daemon(host["bus"], "--connect", f"test://{node}", "--interval", "1",
                                "--metrics-listen", f"{host['addr']}:{host['port']}",
                                "--state-dir", os.path.join(tmp, f"state-{k}"), name=f"virtnetmond-{k}")

    # Traffic: each VM pings its host's peer a known number of times.
    for key, host in HOSTS.items():
        k = key.lower()
        for i, (name, _, count) in enumerate(host["vms"], 1):
            sh("ping", "-q", "-c", str(count), "-i", "0.02", "-s", "600", f"{host['net']}.100",
               netns=f"vnmf{k}-vm{i}")

    # --- the site Prometheus, from docs/prometheus/prometheus.yml ----------------------------
    targets_dir = os.path.join(tmp, "targets")
    os.makedirs(targets_dir)
    with open(os.path.join(targets_dir, "hosts.yml"), "w") as f:
        f.write("- targets:\n" + "".join(f"    - {h['addr']}:{h['port']}\n" for h in HOSTS.values()) +
                "  labels:\n    rack: test\n")
    site_dir = os.path.join(tmp, "site")
    os.makedirs(site_dir)
    shutil.copy(os.path.join(DOCS, "virtnetmon-rules.yml"), site_dir)
    with open(os.path.join(DOCS, "prometheus.yml")) as f:
        conf = f.read()
    conf = conf.replace("/etc/prometheus/virtnetmon-targets/*.yml", os.path.join(targets_dir, "*.yml"))
    conf = conf.replace("scrape_interval: 15s", "scrape_interval: 1s").replace(
        "evaluation_interval: 15s", "evaluation_interval: 1s").replace("scrape_interval: 10s", "scrape_interval: 1s")
    conf = conf.replace("scrape_timeout: 5s", "scrape_timeout: 1s")
    with open(os.path.join(site_dir, "prometheus.yml"), "w") as f:
        f.write(conf)

    SITE = start_prometheus(site_dir, "site")


@t.case("the site example adapts to the test")
def _():
    t.check(os.path.join(targets_dir, "*.yml") in conf and conf.count(": 1s") == 4,
            "the site example adapts to the test (targets directory, 1 s intervals)", conf)


@t.case("the site Prometheus scrapes both hosts")
def _():
    wait_for(lambda: sorted(x["metric"].get("host") for x in result(SITE, 'up{job="virtnetmon"} == 1'))
             == ["127.0.0.1", "127.0.0.2"], 60, "the site Prometheus to scrape both hosts")
    t.check(True, "the site Prometheus scrapes both hosts from the file_sd targets: up == 1, host labels set")


@t.case("sum by (host, vm_name): each host's VMs")
def _():
    want_host_vm = kernel_host_vm()
    try:
        wait_for(lambda: per_host_vm() == want_host_vm, 30, "Prometheus to hold the final counters")
    except AssertionError:
        pass
    t.check(per_host_vm() == want_host_vm,
            "sum by (host, vm_name): each host's VMs, each equal to the bytes the kernel counted",
            f"prometheus {per_host_vm()} kernel {want_host_vm}")


@t.case("summed per VM across hosts; hosts per VM")
def _():
    q = 'sum by (vm_uuid, vm_name) (virtnetmon_interface_transmit_bytes_total{vm_uuid!=""})'
    across = {x["metric"]["vm_name"]: float(x["value"][1]) for x in result(SITE, q)}
    want = kernel_per_vm()
    t.check(across == want and want["cache1"] > max(kernel_sent("A", "cache1"), kernel_sent("B", "cache1")),
            "summed per VM across hosts: both hosts' VMs answer; cache1 (on both) adds up its hosts' traffic",
            f"prometheus {across} kernel {want}")
    hosts_of = {x["metric"]["vm_name"]: int(float(x["value"][1])) for x in
                result(SITE, 'count by (vm_name) (count by (host, vm_name) (virtnetmon_vm_info))')}
    t.check(hosts_of == {"web1": 1, "db1": 1, "cache1": 2}, "count of hosts per VM from virtnetmon_vm_info",
            str(hosts_of))


@t.case("the example's recording rule")
def _():
    want_host_vm = kernel_host_vm()
    try:
        wait_for(lambda: recorded() == set(want_host_vm), 30, "the recording rules")
    except AssertionError:
        pass
    t.check(recorded() == set(want_host_vm), "the example's recording rule holds one series per host and VM",
            str(recorded()))


@t.case("the global Prometheus federates the site")
def _():
    want, want_host_vm = kernel_per_vm(), kernel_host_vm()
    # --- the global Prometheus, from docs/prometheus/prometheus-global.yml --------------------
    glob_dir = os.path.join(tmp, "global")
    os.makedirs(glob_dir)
    with open(os.path.join(DOCS, "prometheus-global.yml")) as f:
        conf = f.read()
    conf = conf.replace("          - prometheus.site-a.example.net:9090\n", f"          - 127.0.0.1:{SITE}\n")
    conf = conf.replace("          - prometheus.site-b.example.net:9090\n", "")
    conf = conf.replace("scrape_interval: 30s", "scrape_interval: 1s").replace(
        "evaluation_interval: 30s", "evaluation_interval: 1s")
    with open(os.path.join(glob_dir, "prometheus.yml"), "w") as f:
        f.write(conf)
    GLOBAL = start_prometheus(glob_dir, "global")

    def global_across():
        return {(x["metric"].get("site"), x["metric"]["vm_name"]): float(x["value"][1]) for x in
                result(GLOBAL, "sum by (site, vm_name) (virtnetmon_interface_transmit_bytes_total"
                               '{vm_name!=""})')}

    want_global = {("site-a", name): v for name, v in want.items()}
    try:
        wait_for(lambda: global_across() == want_global, 60, "the global Prometheus to federate")
    except AssertionError:
        pass
    t.check(global_across() == want_global,
            "through federation: per-VM sums across hosts, labelled with the site", f"{global_across()}")
    fed_rec = {(x["metric"].get("host"), x["metric"].get("vm_name")) for x in
               result(GLOBAL, "host_vm:virtnetmon_transmit_bytes:rate1m")}
    t.check(fed_rec == set(want_host_vm), "the recorded per-host, per-VM series are federated with their host label",
            str(fed_rec))


@t.case("fleet topology: a VM-to-VM edge across hosts, both ends named, the bytes the pings carried")
def _():
    # web1 (host A) and db1 (host B) on one more subnet, the two hosts'
    # bridges joined by a veth pair: web1 pings db1 N times. The flow probe
    # counts an ICMP echo's data as its payload (after the 8-byte header):
    # S bytes each way.
    N, S = 12, 400
    make_link("vnmfa-x", "type", "veth", "peer", "name", "vnmfb-x")
    for dev, br in (("vnmfa-x", "vnmfa-br0"), ("vnmfb-x", "vnmfb-br0")):
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
        sh("ip", "link", "set", dev, "master", br)
        sh("ip", "link", "set", dev, "up")
    sh("ip", "addr", "add", "10.223.0.1/24", "dev", HOSTS["A"]["devs"]["web1"] + "g", netns="vnmfa-vm1")
    sh("ip", "addr", "add", "10.223.0.2/24", "dev", HOSTS["B"]["devs"]["db1"] + "g", netns="vnmfb-vm1")
    out = sh("ping", "-c", str(N), "-i", "0.05", "-s", str(S), "10.223.0.2", netns="vnmfa-vm1").stdout
    t.check(f"{N} packets transmitted, {N} received" in out, f"web1 on host A pings db1 on host B {N} times", out)
    payload = N * S

    def edges():
        q = ("sum by (host, vm_name, direction, remote_host, remote_vm_name) (virtnetmon_vm_peer_bytes_total"
             " * on (remote_ip) group_left (remote_host, remote_vm_name) address:virtnetmon_vm:info)")
        return {(x["metric"]["host"], x["metric"]["vm_name"], x["metric"]["direction"], x["metric"]["remote_host"],
                 x["metric"]["remote_vm_name"]): float(x["value"][1]) for x in result(SITE, q)}

    want = {("127.0.0.1", "web1", "tx", "127.0.0.2", "db1"): payload,
            ("127.0.0.1", "web1", "rx", "127.0.0.2", "db1"): payload,
            ("127.0.0.2", "db1", "tx", "127.0.0.1", "web1"): payload,
            ("127.0.0.2", "db1", "rx", "127.0.0.1", "web1"): payload}
    try:
        wait_for(lambda: edges() == want, 60, "the edge web1 <-> db1 in the site Prometheus")
    except AssertionError:
        pass
    t.check(edges() == want,
            f"exactly the edges web1 (127.0.0.1) <-> db1 (127.0.0.2), both ends named from the other host's "
            f"addresses, {payload} bytes each way (virtnetmon_vm_peer_bytes_total joined by the example's rule)",
            f"{edges()}")
    try:
        wait_for(lambda: {(x["metric"]["vm_name"], x["metric"]["remote_host"], x["metric"]["remote_vm_name"]) for x in
                          result(SITE, 'host_vm_peer:virtnetmon_peer_bytes:rate1m{direction="tx"}')}
                 == {("web1", "127.0.0.2", "db1"), ("db1", "127.0.0.1", "web1")}, 30, "the recorded edges")
    except AssertionError:
        pass
    rates = {(x["metric"]["vm_name"], x["metric"]["remote_host"], x["metric"]["remote_vm_name"]) for x in
             result(SITE, 'host_vm_peer:virtnetmon_peer_bytes:rate1m{direction="tx"}')}
    t.check(rates == {("web1", "127.0.0.2", "db1"), ("db1", "127.0.0.1", "web1")},
            "the recording rule host_vm_peer:virtnetmon_peer_bytes:rate1m has exactly those edges", str(rates))

    # The dashboard's topology panel: its queries against this Prometheus.
    with open(os.path.join(source_dir(), "docs", "grafana-dashboard.json")) as f:
        panel = next(p for p in json.load(f)["panels"] if p["type"] == "nodeGraph")
    frames = {tq["refId"]: result(SITE, tq["expr"]) for tq in panel["targets"]}
    nodes = {x["metric"]["id"] for x in frames["nodes"]}
    edge_ids = {(x["metric"]["source"], x["metric"]["target"], x["metric"]["id"]) for x in frames["edges"]}
    t.check({"127.0.0.1/web1", "127.0.0.2/db1", "127.0.0.1/cache1", "127.0.0.2/cache1"} <= nodes and
            edge_ids == {("127.0.0.1/web1", "127.0.0.2/db1", "127.0.0.1/web1->127.0.0.2/db1"),
                         ("127.0.0.2/db1", "127.0.0.1/web1", "127.0.0.2/db1->127.0.0.1/web1")},
            "the dashboard's node graph: every VM a node (host/name), the two edges with source, target and id",
            f"nodes {nodes} edges {edge_ids}")


@t.case("the daemons stop cleanly")
def _():
    for host in HOSTS.values():
        host["daemon"].stop()
        t.check(host["daemon"].proc.returncode == 0, f"virtnetmond on {host['addr']} stops cleanly",
                host["daemon"].output()[-500:])


t.done()
