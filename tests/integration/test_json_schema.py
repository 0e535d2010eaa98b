#!/usr/bin/env python3
"""Integration: every `virtnetmon ... --json` output, in each of its modes,
matches its JSON Schema in docs/schema, on a real daemon with real traffic.

"VM" jsvm1 (a libvirt test-driver domain) is a namespace behind the veth
vnmjs-v1, a port of bridge vnmjs-br0; a remote namespace sits behind
vnmjs-r. The VM opens TCP connections to the remote, the remote sends it
UDP, both ping; an nftables rule drops some of it, latency tracing is
switched on, and the settings are changed, so that every record is filled
in for real (flow probe totals, flows of each grouping, histograms, slow
packets, drops). Every output is validated by tests/lib/jsonschema_check.py
(cli_json does it); the last cases show that a schema refuses a document
with an unknown, missing, mistyped or renamed key, and that each schema
file was used.
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import jsonschema_check  # noqa: E402
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, make_link, netns_on_bridge,  # noqa: E402
                     on_cleanup, require_root, sh, skip, tcp_clients, tcp_server, wait_for,
                     write_test_node)

require_root()
try:
    import jsonschema  # noqa: F401
except ImportError:
    skip("needs python3-jsonschema")
for tool in ("nft", "ping"):
    if subprocess.run(["which", tool], capture_output=True).returncode != 0:
        skip(f"needs {tool}")

t = Results()
tmp = os.environ.get("TMPDIR", "/tmp")
UUID = "3a6b1c2d-4e5f-4a7b-8c9d-0e1f2a3b4c01"
VM_IP, REMOTE_IP = "10.219.0.11", "10.219.0.2"
used = set()   # the schemas the cases validated against


def out(*args):
    """`virtnetmon ARGS --json`, validated against its schema."""
    doc = cli_json(bus, *args)
    used.add(jsonschema_check.schema_for(list(args)))
    return doc


def udp_to_vm(port, count):
    sh("python3", "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range({count}):
    s.sendto(b"u" * 300, ({VM_IP!r}, {port}))
""", netns=remote)


def settle():
    time.sleep(2.2)  # two intervals: the daemon has read the counters and flows since


with t.setup("a bridge, a VM namespace behind a veth, a remote, a daemon, traffic"):
    make_link("vnmjs-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmjs-br0", "up")
    vm = netns_on_bridge("vnmjs-br0", "vnmjs-v1", "vnmjs-vm1", VM_IP, quiet=True)
    remote = netns_on_bridge("vnmjs-br0", "vnmjs-r", "vnmjs-remote", REMOTE_IP, quiet=True)
    VM_MAC = json.loads(sh("ip", "-j", "link", "show", "vnmjs-v1g", netns=vm).stdout)[0]["address"]
    node_xml = write_test_node(os.path.join(tmp, f"vnmjs-node-{os.getpid()}.xml"),
                               [("jsvm1", UUID, [(VM_MAC, "vnmjs-br0", "vnmjs-v1")])])
    on_cleanup(os.unlink, node_xml)
    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1")
    wait_for(lambda: any(p["iface"] == "vnmjs-v1" and p["attached"]
                         for p in cli_json(bus, "status").get("probes", [])), 10,
             "the flow probe on vnmjs-v1")
    tcp_server(remote, REMOTE_IP, 5001, 3, reply=2000)
    wait_for(lambda: ":5001" in sh("ss", "-Hltn", netns=remote).stdout, 10, "the server to listen")
    tcp_clients(vm, REMOTE_IP, 5001, 3, 5000)
    udp_to_vm(5002, 5)
    sh("ping", "-c", "3", "-i", "0.2", "-q", REMOTE_IP, netns=vm)
    settle()


@t.case("list, domiflist, domifstat")
def _():
    domains = out("list")
    t.check([d["vm_name"] for d in domains] == ["jsvm1"] and domains[0]["vm_uuid"] == UUID,
            "list --json: the domain", json.dumps(domains)[:300])
    ifl = out("domiflist", "jsvm1")
    t.check(len(ifl) == 1 and ifl[0]["iface"] == "vnmjs-v1" and ifl[0]["has_stats"],
            "domiflist --json: its interface", json.dumps(ifl)[:300])
    for args in (("domifstat", "jsvm1"), ("domifstat", "jsvm1", "vnmjs-v1")):
        rows = out(*args)
        t.check(len(rows) == 1 and rows[0]["probe_attached"] and rows[0]["tx_packets"] > 0
                and rows[0]["tcp_conns_opened"] == 3,
                f"{' '.join(args)} --json: counters and the flow probe's totals", json.dumps(rows)[:400])


@t.case("ifstat and top, each option")
def _():
    for args in (("ifstat",), ("ifstat", "--all"), ("ifstat", "--sort", "rx", "--asc"),
                 ("ifstat", "--top", "1"), ("ifstat", "--filter", "jsvm1"), ("top",),
                 ("top", "--all", "--sort", "rx", "--asc"), ("top", "--filter", "vnmjs")):
        rows = out(*args)
        t.check(rows and ("--top" in args or any(r["iface"] == "vnmjs-v1" for r in rows)),
                f"{' '.join(args)} --json: {len(rows)} rows", json.dumps(rows)[:300])
    row = [r for r in out("ifstat") if r["iface"] == "vnmjs-v1"][0]
    t.check(row["vm_uuid"] == UUID and row["view"] == "guest" and row["mapped_by"] == "libvirt",
            "the VM's row names its VM", json.dumps(row))


@t.case("flows, each --by and filter")
def _():
    for by in jsonschema_check.FLOW_BYS:
        rows = out("flows", "jsvm1", "--by", by)
        # TCP, UDP and ICMP with one remote: one row by remote, more otherwise.
        t.check(len(rows) >= (1 if by == "remote" else 3), f"flows --by {by} --json: {len(rows)} rows",
                json.dumps(rows)[:400])
    rows = out("flows", "jsvm1")
    tcp = [r for r in rows if r["proto"] == "tcp" and r["remote_port"] == 5001]
    t.check(len(tcp) == 1 and tcp[0]["tx_bytes"] == 3 * 5000 and tcp[0]["initiator"] == "vm",
            "flows --json (by remote port): the VM's TCP connections", json.dumps(rows)[:400])
    udp = out("flows", "jsvm1", "--proto", "udp", "--initiator", "remote", "-b", "flow")
    t.check(udp and all(r["proto"] == "udp" and r["initiator"] == "remote" for r in udp),
            "flows --proto udp --initiator remote -b flow --json", json.dumps(udp)[:400])
    out("flows", "jsvm1", "--by", "remote", "--sort", "rtt", "--top", "1")
    out("flows", "jsvm1", "--by=local-port", "--sort", "conns")


@t.case("history, each metric and both resolutions")
def _():
    doc = out("history", "jsvm1")
    t.check(sorted(doc["series"]) == ["rx_mbps", "tx_mbps"] and doc["series"]["tx_mbps"]["points"],
            "history DOMAIN --json: rx_mbps and tx_mbps per second", json.dumps(doc)[:300])
    for metric in ("rx_mbps", "tx_mbps", "rx_pps", "tx_pps", "rx_errors_ps", "tx_errors_ps",
                   "rx_drops_ps", "tx_drops_ps"):
        out("history", "vnmjs-v1", "--metric", metric, "--since", "90s")
    doc = out("history", "jsvm1", "--since", "2h")
    t.check(doc["series"]["rx_mbps"]["resolution_seconds"] == 60, "history --since 2h --json: per minute",
            json.dumps(doc)[:300])


@t.case("latency: off, on, percentiles, slow-packet events")
def _():
    off = out("latency", "jsvm1")
    t.check(not off["state"]["traced"] and off["state"]["mode"] == "sampled" and
            off["state"]["traced_seconds"] >= 0, "latency --json while not traced in full: sampled",
            json.dumps(off)[:400])
    on = out("latency", "jsvm1", "--on", "--threshold", "0")
    t.check(on["state"]["traced"] and on["state"]["scope"] == "domain" and on["state"]["threshold_us"] == 0,
            "latency --on --json: the state after the switch", json.dumps(on))
    args = ["latency", "jsvm1", "--events", "--json", "--count", "6"]
    events = subprocess.Popen([os.path.join(build_dir(), "src", "virtnetmon"), "--bus-address", bus.address,
                               *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    on_cleanup(events.kill)
    wait_for(lambda: out("status")["latency"]["subscribers"] == 1, 10, "the event stream to subscribe")
    sh("ping", "-c", "5", "-i", "0.2", "-q", REMOTE_IP, netns=vm)
    udp_to_vm(5004, 5)
    try:
        stdout, stderr = events.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        events.kill()
        stdout, stderr = events.communicate()
    lines = jsonschema_check.validate_lines(args, stdout)
    used.add(jsonschema_check.schema_for(args))
    t.check(len(lines) == 6 and all(e["vm_uuid"] == UUID for e in lines),
            "latency --events --json: one valid object a line", f"{stdout[:600]} {stderr}")
    time.sleep(0.5)
    for extra in ((), ("--interface", "vnmjs-v1"), ("--hist",), ("--direction", "rx"), ("-d", "tx")):
        doc = out("latency", "jsvm1", *extra)
        t.check(doc["state"]["traced"] and doc["state"]["threshold_us"] == 0
                and any(s["packets"] > 0 and s["buckets_ns"] for s in doc["stages"]),
                f"latency {' '.join(extra)} --json: state and histograms", json.dumps(doc)[:400])
    off = out("latency", "jsvm1", "--off")
    t.check(not off["state"]["traced"], "latency --off --json: the state after the switch", json.dumps(off))
    every = out("latency", "--all", "--on")
    t.check(every["latency"]["all"] and every["latency"]["available"],
            "latency --all --on --json: the Latency property after the switch", json.dumps(every))
    every = out("latency", "--all", "--off")
    t.check(not every["latency"]["all"], "latency --all --off --json: the Latency property after the switch",
            json.dumps(every))


@t.case("domifaddr")
def _():
    sh("ping", "-c", "2", "-i", "0.2", "-q", REMOTE_IP, netns=vm)
    wait_for(lambda: any(r["address"] == VM_IP for r in out("domifaddr", "jsvm1", "--source", "learned")), 10,
             "the VM's address to be learned")
    rows = out("domifaddr", "jsvm1")
    t.check(any(r["address"] == VM_IP and r["source"] == "learned" and r["family"] == "ipv4" for r in rows),
            "domifaddr --json: the VM's address, learned", json.dumps(rows))


@t.case("drops")
def _():
    sh("nft", "-f", "-", input=f"""
table bridge vnmjs {{
  chain vm_forward {{
    type filter hook forward priority 0;
    ether daddr {VM_MAC} udp dport 5003 counter drop
  }}
}}
""")
    on_cleanup(sh, "nft", "delete", "table", "bridge", "vnmjs", check=False)
    udp_to_vm(5003, 4)
    time.sleep(0.3)
    rows = out("drops", "jsvm1")
    t.check({"iface": "vnmjs-v1", "direction": "rx", "reason": "NETFILTER_DROP"}.items() <=
            next((r for r in rows if r["reason"] == "NETFILTER_DROP"), {}).items()
            and sum(r["packets"] for r in rows if r["reason"] == "NETFILTER_DROP") == 4,
            "drops --json: the rule's 4 drops", json.dumps(rows))


@t.case("conns and services")
def _():
    tcp_server(vm, VM_IP, 7001, 1, reply=100)
    wait_for(lambda: ":7001" in sh("ss", "-Hltn", netns=vm).stdout, 10, "the VM's server to listen")
    tcp_clients(remote, VM_IP, 7001, 1, 50)
    r = sh("python3", "-c", f"""
import socket
try:
    socket.create_connection(({VM_IP!r}, 7002), timeout=5)
except ConnectionRefusedError:
    print("refused")
""", netns=remote)
    settle()
    doc = out("conns", "jsvm1")
    rm_row = next(x for x in doc["states"] if x["initiator"] == "remote")
    t.check(r.stdout.strip() == "refused" and rm_row["closed"] == 1 and rm_row["reset"] == 1
            and any(c["local_port"] == 7001 and c["state"] == "closed" for c in doc["connections"])
            and any(f["local_port"] == 7002 and f["refused"] == 1 for f in doc["handshake_failures"]),
            "conns --json: the remote's closed connection and refused one", json.dumps(doc)[:600])
    out("conns", "jsvm1", "--state", "closed")
    doc = out("services", "jsvm1")
    t.check([(x["proto"], x["port"], x["clients"]) for x in doc["services"]] == [("tcp", 7001, 1)],
            "services --json: the VM's server", json.dumps(doc))


@t.case("set: show, change, unset")
def _():
    s = out("set", "jsvm1")
    t.check(s["from_metadata"] == [], "set --json: the defaults", json.dumps(s))
    s = out("set", "jsvm1", "--latency-threshold", "5000", "--flow-table-size", "4096")
    t.check(s["latency_threshold_us"] == 5000 and sorted(s["from_metadata"]) ==
            ["flow_table_size", "latency_threshold_us"], "set --latency-threshold --flow-table-size --json",
            json.dumps(s))
    s = out("set", "jsvm1", "--unset", "latency-threshold", "--unset", "flow-table-size")
    t.check(s["from_metadata"] == [], "set --unset --json", json.dumps(s))


@t.case("usage")
def _():
    rows = out("usage")
    t.check(any(r["vm_name"] == "jsvm1" and r["iface"] == "" and r["period"] == "month" for r in rows),
            "usage --json: the VM's month", json.dumps(rows)[:400])
    rows = out("usage", "jsvm1", "--daily", "--interfaces")
    t.check(any(r["iface"] == "vnmjs-v1" and r["period"] == "day" for r in rows),
            "usage DOMAIN --daily --interfaces --json", json.dumps(rows)[:400])
    t.check(out("usage", "--month", "2001-01") == [], "usage --month --json: a month without traffic")


@t.case("status")
def _():
    st = out("status")
    t.check(st["usage_store"]["available"] and st["usage_store"]["last_error"] == "",
            "status --json: the usage database", json.dumps(st["usage_store"]))
    t.check(st["flow_table"]["available"] and st["latency"]["available"] and
            any(p["iface"] == "vnmjs-v1" and p["attached"] for p in st["probes"]),
            "status --json: the probes", json.dumps(st)[:400])


@t.case("the schemas refuse what they must")
def _():
    def refused(args, doc, *words):
        try:
            jsonschema_check.validate_output(args, doc)
        except AssertionError as e:
            msg = str(e)
            t.check(all(w in msg for w in (f"virtnetmon {args[0]}", *words)),
                    f"{args[0]}: refused, naming {', '.join(words)}", msg)
            return
        t.check(False, f"{args[0]}: a document with {', '.join(words)} is refused", json.dumps(doc)[:300])

    domains = out("list")
    bad = json.loads(json.dumps(domains))
    bad[0]["name"] = bad[0]["vm_name"]        # the key list --json had before 0.x
    refused(["list"], bad, "$[0]", "'name' was unexpected")
    bad = json.loads(json.dumps(domains))
    del bad[0]["vm_uuid"]
    refused(["list"], bad, "$[0]", "'vm_uuid' is a required property")
    bad = json.loads(json.dumps(domains))
    bad[0]["vm_id"] = str(bad[0]["vm_id"])    # a string where a number belongs
    refused(["list"], bad, "$[0].vm_id", "is not of type 'integer'")
    bad = json.loads(json.dumps(domains))
    bad[0]["settings"]["surprise"] = True
    refused(["list"], bad, "$[0].settings", "'surprise' was unexpected")

    rows = out("flows", "jsvm1", "--by", "flow")
    bad = json.loads(json.dumps(rows))
    bad[0]["conns_opened"] = bad[0].pop("tcp_conns_opened")
    refused(["flows", "jsvm1", "--by", "flow"], bad, "$[0]", "tcp_conns_opened")
    bad = json.loads(json.dumps(rows))
    bad[0]["initiator"] = "out"
    refused(["flows", "jsvm1", "--by", "flow"], bad, "$[0].initiator", "'out'")
    bad = json.loads(json.dumps(rows))
    bad[0]["remote_port"] = -1                # mixed: impossible when grouped by flow
    refused(["flows", "jsvm1", "--by", "flow"], bad, "$[0].remote_port")

    rows = out("ifstat", "--all")
    bad = json.loads(json.dumps(rows))
    bad[0]["rx_errs"] = bad[0].pop("rx_errors")
    refused(["ifstat", "--all"], bad, "rx_errors")
    bad = json.loads(json.dumps(rows))
    bad[0]["tx_packets"] = 1.5
    refused(["ifstat"], bad, ".tx_packets", "is not of type 'integer'")

    st = out("latency", "jsvm1")
    bad = json.loads(json.dumps(st))
    bad["state"]["traced"] = True             # traced, yet without its filters
    refused(["latency", "jsvm1"], bad, "$.state", "'direction' is a required property")
    event = {"time": 1.0, "vm_name": "jsvm1", "vm_uuid": UUID, "iface": "vnmjs-v1", "direction": "rx",
             "proto": "udp", "src_ip": REMOTE_IP, "dst_ip": VM_IP, "src_port": 1, "dst_port": 2, "len": 60,
             "rcv_to_queue_us": 1.0, "queue_to_xmit_us": 1.0, "xmit_to_guest_us": 1.0, "total_us": 3.0,
             "lost_total": 0}
    jsonschema_check.validate_output(["latency", "jsvm1", "--events"], event)
    refused(["latency", "jsvm1", "--events"], {**event, "count": 1}, "'count' was unexpected")
    refused(["latency", "jsvm1", "--events"], {**event, "direction": "in"}, "$.direction", "'in'")


@t.case("every schema was used")
def _():
    every = {os.path.basename(p) for p in jsonschema_check.schema_files()} - {jsonschema_check.RECORDS}
    t.check(used == every, f"the {len(every)} schemas of the outputs were each validated against",
            f"unused: {sorted(every - used)}")


daemon.stop()
t.done()
