#!/usr/bin/env python3
"""Integration: a remote a VM looked up itself gets that name.

Two "VMs" (libvirt test driver), namespaces behind veth vnmdn-a and vnmdn-b
on bridge vnmdn-br0 (host 10.224.0.1); a namespace vnmdn-srv that is no VM
on the bridge too, with dnsmasq on 10.224.0.2 (svc.example.test A and AAAA,
www.example.test a CNAME to cdn.example.test, impostor.example.test the
address of VM dnvm2), the addresses those names give, an address nobody
names (10.224.0.51), and a small responder on 10.224.0.3:53 that answers
with bytes that are no DNS answer. dnvm1's resolv.conf points at dnsmasq
(/etc/netns/vnmdn-dnvm1/resolv.conf); it resolves the names with glibc
(getaddrinfo), asks dnsmasq once more over IPv6 (fd24::2), pings what the
names gave, pings the unnamed address, and asks the bad responder. The srv namespace also sends a well-formed answer naming
10.224.0.51 to dnvm1 unasked.

Ground truth: dnsmasq's query log says which name it answered with which
address for dnvm1; the flows' remote_name must be that name (source dns),
for IPv4 and IPv6 and through the CNAME; the unnamed and forged addresses
stay unnamed; dnvm2 keeps its VM name whatever DNS says.
"""
import json
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, cli, cli_json, make_link, make_netns,  # noqa: E402
                     on_cleanup, require_root, sh, skip, wait_for, write_test_node)

require_root()
if subprocess.run(["which", "dnsmasq"], capture_output=True).returncode != 0:
    skip("needs dnsmasq (package dnsmasq-base)")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnmdn-")
on_cleanup(subprocess.run, ["rm", "-rf", tmp])

BR = "vnmdn-br0"
HOST_IP = "10.224.0.1"
DNS_IP, BAD_IP = "10.224.0.2", "10.224.0.3"
SVC4, SVC6, CDN4, UNNAMED = "10.224.0.50", "fd24::50", "10.224.0.52", "10.224.0.51"
DNS6, V6Q = "fd24::2", "10.224.0.53"  # dnsmasq over IPv6; what v6q.example.test gives
VMS = {  # name: (uuid, mac, host dev, IPv4, IPv6)
    "dnvm1": ("7b2e0c52-7d1b-4c3e-9a2f-0000000000d1", "52:54:00:24:00:01", "vnmdn-a", "10.224.0.11", "fd24::11"),
    "dnvm2": ("7b2e0c52-7d1b-4c3e-9a2f-0000000000d2", "52:54:00:24:00:02", "vnmdn-b", "10.224.0.12", "fd24::12"),
}
VM1_IP = VMS["dnvm1"][3]
VM2_IP = VMS["dnvm2"][3]


def dns_answer(qid, qname, addr4):
    """A well-formed DNS response: @qname A @addr4."""
    q = b"".join(bytes([len(l)]) + l.encode() for l in qname.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    return (struct.pack(">HHHHHH", qid, 0x8180, 1, 1, 0, 0) + q
            + b"\xc0\x0c" + struct.pack(">HHIH", 1, 1, 3600, 4) + socket.inet_aton(addr4))


# Answers every query with something that is no usable answer: first a
# response whose answer's name points at itself (a compression loop),
# then plain bytes.
BAD_RESPONDER = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
n = 0
while True:
    q, peer = s.recvfrom(512)
    qid = q[:2]
    qend = 12
    while q[qend] != 0:
        qend += 1 + q[qend]
    question = q[12:qend + 5]
    if n % 2 == 0:
        loop = 12 + len(question)
        msg = (qid + b"\x81\x80\x00\x01\x00\x01\x00\x00\x00\x00" + question
               + struct.pack(">H", 0xc000 | loop) + struct.pack(">HHIH", 1, 1, 3600, 4)
               + socket.inet_aton(sys.argv[2]))
    else:
        msg = b"this is no DNS message but comes from port 53, naming " + sys.argv[2].encode()
    s.sendto(msg, peer)
    n += 1
"""

# In dnvm1: resolve with glibc, then ping what the names gave.
RESOLVE = r"""
import json, socket, sys
out = {}
for name, family in (("svc.example.test", socket.AF_UNSPEC), ("www.example.test", socket.AF_INET),
                     ("impostor.example.test", socket.AF_INET)):
    out[name] = sorted({a[4][0] for a in socket.getaddrinfo(name, None, family, socket.SOCK_DGRAM)})
print(json.dumps(out))
"""

# In dnvm1: ask dnsmasq over IPv6 (a query of our own: glibc asks the
# first nameserver only).
ASK_V6 = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(struct.pack(">HHHHHH", 0x6666, 0x0100, 1, 0, 0, 0) + b"\x03v6q\x07example\x04test\x00\x00\x01\x00\x01",
         (sys.argv[1], 53))
s.recv(512)
"""

# In dnvm1: ask the bad responder twice, from one port each.
ASK_BAD = r"""
import socket, struct, sys
for i in range(2):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    q = struct.pack(">HHHHHH", 0x4242 + i, 0x0100, 1, 0, 0, 0) + b"\x06forged\x07example\x04test\x00\x00\x01\x00\x01"
    s.sendto(q, (sys.argv[1], 53))
    s.recv(512)
    s.close()
"""

with t.setup("a bridge, two namespace VMs, a DNS server and a bad responder, a bus and the daemon"):
    make_link(BR, "type", "bridge")
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", BR)
    sh("ip", "link", "set", BR, "up")
    ns = {}
    for name, (uuid, mac, dev, a4, a6) in VMS.items():
        ns[name] = make_netns("vnmdn-" + name)
        make_link(dev, "type", "veth", "peer", "name", "eth0", "netns", ns[name])
        sh("ip", "link", "set", "eth0", "address", mac, netns=ns[name])
        sh("ip", "addr", "add", a4 + "/24", "dev", "eth0", netns=ns[name])
        sh("ip", "addr", "add", a6 + "/64", "dev", "eth0", "nodad", netns=ns[name])
        sh("ip", "link", "set", "eth0", "up", netns=ns[name])
        sh("ip", "link", "set", dev, "master", BR)
        sh("ip", "link", "set", dev, "up")
    srv = make_netns("vnmdn-srv")
    make_link("vnmdn-s", "type", "veth", "peer", "name", "eth0", "netns", srv)
    for a in (DNS_IP, BAD_IP, SVC4, CDN4, UNNAMED, V6Q):
        sh("ip", "addr", "add", a + "/24", "dev", "eth0", netns=srv)
    for a in (SVC6, DNS6):
        sh("ip", "addr", "add", a + "/64", "dev", "eth0", "nodad", netns=srv)
    sh("ip", "link", "set", "eth0", "up", netns=srv)
    sh("ip", "link", "set", "vnmdn-s", "master", BR)
    sh("ip", "link", "set", "vnmdn-s", "up")

    log = os.path.join(tmp, "dnsmasq.log")
    dnsmasq = subprocess.Popen(
        ["ip", "netns", "exec", srv, "dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts",
         "--conf-file=/dev/null", "--pid-file=" + os.path.join(tmp, "dnsmasq.pid"),
         "--listen-address=" + DNS_IP, "--listen-address=" + DNS6, "--bind-interfaces", "--log-queries",
         "--log-facility=" + log, "--local-ttl=60",
         f"--host-record=svc.example.test,{SVC4},{SVC6}", f"--host-record=cdn.example.test,{CDN4}",
         "--cname=www.example.test,cdn.example.test", f"--host-record=impostor.example.test,{VM2_IP}",
         f"--host-record=v6q.example.test,{V6Q}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_cleanup(dnsmasq.wait)
    on_cleanup(dnsmasq.kill)
    bad = subprocess.Popen(["ip", "netns", "exec", srv, sys.executable, "-c", BAD_RESPONDER, BAD_IP, UNNAMED],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_cleanup(bad.wait)
    on_cleanup(bad.kill)
    etc = "/etc/netns/" + ns["dnvm1"]
    os.makedirs(etc, exist_ok=True)
    on_cleanup(subprocess.run, ["rm", "-rf", etc])
    with open(os.path.join(etc, "resolv.conf"), "w") as f:
        f.write(f"nameserver {DNS_IP}\noptions timeout:2 attempts:2\n")
    wait_for(lambda: os.path.exists(log) and "started" in open(log).read(), 10, "dnsmasq")

    node_xml = write_test_node(os.path.join(tmp, "node.xml"),
                               [(name, v[0], [(v[1], BR, v[2])]) for name, v in VMS.items()])
    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                    "--state-dir", os.path.join(tmp, "state"))

    def attached():
        probes = {p["iface"]: p for p in cli_json(bus, "status")["probes"]}
        return all(probes.get(v[2], {}).get("attached") for v in VMS.values())
    wait_for(attached, 15, "the probe on the VMs' devices")
    before = cli_json(bus, "status")["address_book"]

    resolved = json.loads(sh("ip", "netns", "exec", ns["dnvm1"], sys.executable, "-c", RESOLVE).stdout)
    sh("ip", "netns", "exec", ns["dnvm1"], sys.executable, "-c", ASK_V6, DNS6, timeout=20)
    for a in (SVC4, CDN4, UNNAMED, VM2_IP, V6Q):
        sh("ping", "-c", "2", "-i", "0.2", a, netns=ns["dnvm1"])
    sh("ping", "-6", "-c", "2", "-i", "0.2", SVC6, netns=ns["dnvm1"])
    sh("ip", "netns", "exec", ns["dnvm1"], sys.executable, "-c", ASK_BAD, BAD_IP, timeout=20)
    # Unasked: a well-formed answer naming the unnamed address, to a port
    # dnvm1 never sent from.
    sh(sys.executable, "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{UNNAMED}", 53))
s.sendto({dns_answer(0x5151, "forged.example.test", UNNAMED)!r}, ("{VM1_IP}", 33333))
""", netns=srv)
    time.sleep(2.5)  # two intervals


def answered():
    """address -> the name dnvm1 asked dnsmasq for, from dnsmasq's log:
    'query[A] NAME from 10.224.0.11' (or its IPv6 address), then 'reply X is ADDR' lines (a
    CNAME's target first)."""
    out, asked = {}, None
    for line in open(os.path.join(tmp, "dnsmasq.log")):
        m = re.search(r"query\[\w+\] (\S+) from (\S+)", line)
        if m:
            asked = m.group(1) if m.group(2) in (VM1_IP, VMS["dnvm1"][4]) else None
            continue
        m = re.search(r"(?:reply|config) (\S+) is (\S+)", line)
        if m and asked:
            try:
                socket.inet_pton(socket.AF_INET6 if ":" in m.group(2) else socket.AF_INET, m.group(2))
            except OSError:
                continue
            out[m.group(2)] = asked
    return out


@t.case("a remote dnvm1 resolved is named as dnsmasq answered it")
def _():
    truth = answered()
    t.check(truth.get(SVC4) == "svc.example.test" and truth.get(SVC6) == "svc.example.test"
            and truth.get(CDN4) == "www.example.test",
            "dnsmasq's log: it answered dnvm1 svc (A, AAAA) and www (through the CNAME)", json.dumps(truth))
    t.check(resolved.get("svc.example.test") == sorted([SVC4, SVC6]) and resolved.get("www.example.test") == [CDN4],
            "glibc in dnvm1 got those addresses", json.dumps(resolved))
    rows = cli_json(bus, "flows", "dnvm1", "--by", "flow")
    got = {r["remote_ip"]: (r["remote_kind"], r["remote_name"], r["remote_name_source"]) for r in rows}
    t.check(truth.get(V6Q) == "v6q.example.test", "dnsmasq answered dnvm1's query over IPv6", json.dumps(truth))
    for addr in (SVC4, SVC6, CDN4, V6Q):
        t.check(got.get(addr) == ("remote", truth.get(addr), "dns"),
                f"the flow to {addr} names the remote {truth.get(addr)} (source dns)", json.dumps(got))
    text = cli(bus, "flows", "dnvm1", "--by", "flow").stdout
    t.check("dns:svc.example.test" in text and "dns:www.example.test" in text, "the PEER column says dns:NAME", text)
    rows2 = cli_json(bus, "flows", "dnvm2", "--by", "flow")
    t.check(not any(r["remote_name_source"] == "dns" for r in rows2),
            "dnvm2 looked nothing up: none of its remotes has a DNS name",
            json.dumps([(r["remote_ip"], r["remote_name"]) for r in rows2]))


@t.case("an address nobody named, a forged or unasked answer: unnamed")
def _():
    rows = cli_json(bus, "flows", "dnvm1", "--by", "flow")
    got = {r["remote_ip"]: (r["remote_kind"], r["remote_name"], r["remote_name_source"]) for r in rows}
    t.check(got.get(UNNAMED) == ("remote", "", ""),
            f"{UNNAMED} (pinged; only the bad responder and an unasked answer named it) stays unnamed",
            json.dumps(got))
    after = cli_json(bus, "status")["address_book"]
    t.check(after["dns_refused"] - before["dns_refused"] == 2,
            "both replies of the bad responder were refused as no DNS answer", json.dumps(after))
    t.check(after["dns_unasked"] - before["dns_unasked"] >= 1,
            "the answer to a port dnvm1 never asked from was not taken (unasked)", json.dumps(after))
    t.check(after["dns_answers"] - before["dns_answers"] >= 3 and after["dns_names"] >= 3
            and after["dns_lost"] == 0 and after["dns_names_overflow"] == 0,
            "status counts the answers and kept names, none lost", json.dumps(after))


@t.case("another VM keeps its own name, whatever DNS says")
def _():
    t.check(answered().get(VM2_IP) == "impostor.example.test", "dnsmasq answered impostor with dnvm2's address")
    rows = cli_json(bus, "flows", "dnvm1", "--by", "flow")
    got = {r["remote_ip"]: (r["remote_kind"], r["remote_name"], r["remote_name_source"]) for r in rows}
    t.check(got.get(VM2_IP) == ("vm", "dnvm2", "vm"), "the flow to dnvm2 names the VM dnvm2 (source vm)",
            json.dumps(got))


@t.case("the topology labels the remote with its name")
def _():
    r = sh("busctl", f"--address={bus.address}", "--json=short", "call", "org.virtnetmon.Monitor1",
           "/org/virtnetmon/Monitor1", "org.virtnetmon.Monitor1", "GetTopology")
    nodes = json.loads(r.stdout)["data"][0]
    by_id = {n["id"]["data"]: {k: v["data"] for k, v in n.items()} for n in nodes}
    t.check(by_id.get(SVC4, {}).get("label") == "svc.example.test"
            and by_id.get(SVC4, {}).get("label_source") == "dns"
            and by_id.get(CDN4, {}).get("label") == "www.example.test",
            "remote nodes of resolved addresses are labelled with the names", json.dumps(by_id))
    t.check(by_id.get(UNNAMED, {}).get("label") == UNNAMED and by_id.get(UNNAMED, {}).get("label_source") == "",
            "the unnamed address is labelled with itself", json.dumps(by_id.get(UNNAMED)))
    t.check(by_id.get(VMS["dnvm2"][0], {}).get("label") == "dnvm2", "dnvm2's node keeps its name")


@t.case("status shows the bounds of the names kept")
def _():
    st = cli_json(bus, "status")["address_book"]
    t.check(st["dns_names_per_vm"] == 1024 and st["dns_names_min_seconds"] == 600, "bounds in status", json.dumps(st))


t.done()
