#!/usr/bin/env python3
"""Integration: TCP connection states, handshake failures and exposed
services (virtnetmon conns, virtnetmon services, /metrics, ServiceAppeared)
against ground truth the code did not produce.

The "VM" csvm (libvirt test driver) is the namespace vnmcs-vm behind veth
vnmcs-a on bridge vnmcs-br0; the remote end is the namespace vnmcs-rm
behind vnmcs-r on the same bridge (no VM), with three addresses so that
clients are distinct. Ground truth: `ss -tan` inside the VM's namespace
(every state held at the same moment: half-open by nftables in the remote
namespace dropping the SYN or the SYN-ACK, closing by shutdown(SHUT_WR)),
the errors the clients got (ECONNREFUSED), the SYN retransmissions ss
shows for a black-holed connect, the remote server's log of a reset, and
the bytes, ports and client addresses the test used.
"""
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, cli, cli_json, make_link, netns_on_bridge,  # noqa: E402
                     on_cleanup, require_root, sh, skip, wait_for, write_test_node)

require_root()
for tool in ("nft", "ss", "dbus-monitor"):
    if shutil.which(tool) is None:
        skip(f"needs {tool}")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnmcs-")
on_cleanup(shutil.rmtree, tmp, True)
VM_IP, R_IP, R_IP2, R_IP3 = "10.217.0.11", "10.217.0.2", "10.217.0.3", "10.217.0.4"
DOMAIN = "csvm"

# The VM's servers: 8080 reads to EOF and answers 500 bytes; 8081-8083 read
# to EOF and keep the connection (8083's client half-closes: CLOSE-WAIT
# here); 8084 listens but nobody connects; UDP 5353 echoes.
VM_SERVERS = r"""
import socket, threading, time
held = []
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16)
    while True:
        c, _ = s.accept(); threading.Thread(target=fn, args=(c,), daemon=True).start()
def answer(c):
    while c.recv(65536): pass
    c.sendall(b"a" * 500); c.close()
def hold(c):
    held.append(c)
    try:
        while c.recv(65536): pass
    except OSError: pass
for port, fn in ((8080, answer), (8081, hold), (8082, hold), (8083, hold), (8084, hold)):
    threading.Thread(target=serve, args=(port, fn), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5353))
print("up", flush=True)
while True:
    b, a = u.recvfrom(65536); u.sendto(b, a)
"""

# The remote end's servers: 9000 and 9004 read to EOF, answer 200 bytes and
# close; 9001 and 9003 keep the connection; 9005 logs a reset. 9002 is
# black-holed by nftables, nothing listens on 9009.
REMOTE_SERVERS = r"""
import socket, threading
held = []
def serve(port, fn):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(16)
    while True:
        c, _ = s.accept(); threading.Thread(target=fn, args=(c, port), daemon=True).start()
def answer(c, port):
    while c.recv(65536): pass
    c.sendall(b"r" * 200); c.close()
def hold(c, port):
    held.append(c)
    try:
        while c.recv(65536): pass
    except ConnectionResetError:
        print("reset", port, flush=True)
for port, fn in ((9000, answer), (9001, hold), (9002, hold), (9003, hold), (9004, answer), (9005, hold)):
    threading.Thread(target=serve, args=(port, fn), daemon=True).start()
print("up", flush=True)
threading.Event().wait()
"""


def run_bg(ns, code, *args):
    p = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    on_cleanup(p.kill)
    return p


def py(ns, code, *args):
    return subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", code, *args],
                          text=True, capture_output=True, timeout=60)


def settle():
    time.sleep(2.5)  # two intervals: the daemon read the table since


def conns(*args):
    return cli_json(bus, "conns", DOMAIN, *args)


def services():
    return cli_json(bus, "services", DOMAIN)


def state_row(doc, initiator):
    return next(r for r in doc["states"] if r["initiator"] == initiator)


SS_STATES = {"ESTAB": "established", "SYN-SENT": "syn_sent", "SYN-RECV": "syn_received",
             "FIN-WAIT-1": "closing", "FIN-WAIT-2": "closing", "CLOSE-WAIT": "closing",
             "LAST-ACK": "closing", "CLOSING": "closing", "TIME-WAIT": "closed"}


def ss_vm():
    """{(local ip, local port, peer ip, peer port): ss state} of the VM's
    TCP sockets other than listeners (ground truth: ss -tan in its netns)."""
    out = sh("ss", "-tanH", netns=vm).stdout
    found = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) < 5 or f[0] == "LISTEN":
            continue
        (lip, lport), (pip, pport) = f[3].rsplit(":", 1), f[4].rsplit(":", 1)
        found[(lip, int(lport), pip, int(pport))] = f[0]
    return found


def scrape():
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10) as r:
        return r.read().decode()


def sample(text, name, **labels):
    """The value of @name's sample for the VM with @labels, or None."""
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        ls = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if ls.get("vm_name") == DOMAIN and all(ls.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


with t.setup("a VM and a remote namespace on a bridge, servers, nftables, a bus, the daemon"):
    make_link("vnmcs-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmcs-br0", "up")
    vm = netns_on_bridge("vnmcs-br0", "vnmcs-a", "vnmcs-vm", VM_IP, quiet=True)
    rm = netns_on_bridge("vnmcs-br0", "vnmcs-r", "vnmcs-rm", R_IP, quiet=True)
    for a in (R_IP2, R_IP3):
        sh("ip", "addr", "add", a + "/24", "dev", "vnmcs-rg", netns=rm)
    # The remote end drops SYNs to 9002 (a black hole for the VM's connect)
    # and the VM's SYN-ACKs from 8082 (a half-open incoming connection).
    sh("nft", "-f", "-", netns=rm, input="""
table inet vnmcs {
  chain input {
    type filter hook input priority 0;
    tcp dport 9002 drop
    tcp sport 8082 tcp flags & (syn | ack) == syn | ack drop
  }
}
""")
    node = write_test_node(os.path.join(tmp, "node.xml"), [
        (DOMAIN, "5c0e7a1e-2d1b-4c3e-9a2f-000000000020", [("52:54:00:17:00:0b", "vnmcs-br0", "vnmcs-a")])])
    vm_srv = run_bg(vm, VM_SERVERS)
    rm_srv = run_bg(rm, REMOTE_SERVERS)
    assert vm_srv.stdout.readline().strip() == "up" and rm_srv.stdout.readline().strip() == "up"

    bus = Bus()
    monitor = subprocess.Popen(["dbus-monitor", "--address", bus.address,
                                "type='signal',interface='org.virtnetmon.Monitor1',member='ServiceAppeared'"],
                               stdout=open(os.path.join(tmp, "signals.txt"), "w"), stderr=subprocess.DEVNULL)
    on_cleanup(monitor.kill)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    PORT = s.getsockname()[1]
    s.close()
    daemon = Daemon(bus, "--connect", f"test://{node}", "--interval", "1",
                    "--state-dir", os.path.join(tmp, "state"), "--metrics-listen", f"127.0.0.1:{PORT}")
    wait_for(lambda: any(p["iface"] == "vnmcs-a" and p["attached"] for p in cli_json(bus, "status")["probes"]),
             10, "the probe on vnmcs-a")


@t.case("healthy: normal connections give no handshake failure, exactly the used ports are services")
def _():
    # Three TCP clients of 8080 from two addresses; one UDP client of 5353
    # (two datagrams, one socket); a datagram to 5354 (nobody: ICMP
    # unreachable, no answer); the VM's own connection to the remote 9000.
    r = py(rm, r"""
import socket, sys
sent = 0
for src, n in ((sys.argv[2], 1000), (sys.argv[2], 2000), (sys.argv[3], 3000)):
    s = socket.create_connection((sys.argv[1], 8080), source_address=(src, 0))
    s.sendall(b"q" * n); s.shutdown(socket.SHUT_WR)
    got = 0
    while True:
        b = s.recv(65536)
        if not b: break
        got += len(b)
    assert got == 500, got
    s.close()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind((sys.argv[4], 0)); u.settimeout(5)
for _ in range(2):
    u.sendto(b"d" * 100, (sys.argv[1], 5353)); assert len(u.recv(1000)) == 100
u.sendto(b"x" * 10, (sys.argv[1], 5354))
print("ok")
""", VM_IP, R_IP, R_IP2, R_IP3)
    t.check(r.returncode == 0 and r.stdout.strip() == "ok", "clients of the VM's TCP 8080 and UDP 5353 done",
            r.stderr)
    r = py(vm, r"""
import socket, sys
s = socket.create_connection((sys.argv[1], 9000)); s.sendall(b"v" * 4000); s.shutdown(socket.SHUT_WR)
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n)
""", R_IP)
    t.check(r.returncode == 0 and r.stdout.strip() == "200", "the VM's own connection to the remote 9000 done",
            r.stderr)
    settle()
    doc = conns()
    t.check(doc["handshake_failures"] == [] and
            all(row["handshake_refused"] == 0 and row["handshake_timed_out"] == 0 for row in doc["states"]),
            "no handshake failure after normal connections", json.dumps(doc["states"]))
    t.check(all(c["state"] == "closed" for c in doc["connections"]) and len(doc["connections"]) == 4,
            "the four connections, all ended with FIN both ways, are listed as closed",
            json.dumps(doc["connections"]))
    sv = services()
    got = {(x["proto"], x["port"]) for x in sv["services"]}
    t.check(got == {("tcp", 8080), ("udp", 5353)},
            "exactly the ports the clients used are exposed services (not 8084 that listens unused, "
            "not UDP 5354 without listener, not the remote's 9000)", str(got))
    web = next((x for x in sv["services"] if x["port"] == 8080), {})
    dns = next((x for x in sv["services"] if x["port"] == 5353), {})
    t.check(web.get("clients") == 2 and web.get("connections") == 3 and web.get("rx_bytes") == 6000
            and web.get("tx_bytes") == 1500, "tcp/8080: 2 client addresses, 3 connections, 6000 bytes in, "
            "1500 out (what the clients sent and got)", str(web))
    t.check(dns.get("clients") == 1 and dns.get("connections") == 1 and dns.get("rx_bytes") == 200
            and dns.get("tx_bytes") == 200, "udp/5353: 1 client, 1 flow, 200 bytes each way", str(dns))
    t.check(web.get("first_seen", 0) > time.time() - 60 and web.get("last_seen", 0) >= web.get("first_seen", 1),
            "first and last seen are recent wall-clock times", str(web))
    m = scrape()
    t.check(sample(m, "virtnetmon_vm_tcp_handshake_failures_total", reason="refused", initiator="vm") == 0 and
            sample(m, "virtnetmon_vm_services", proto="tcp") == 1 and
            sample(m, "virtnetmon_vm_service_connections_total", proto="tcp", port="8080") == 3,
            "/metrics: no handshake failure, one TCP service with 3 connections",
            "\n".join(line for line in m.splitlines() if "handshake" in line or "service" in line))


@t.case("every state held at one moment, as ss -tan in the VM shows it")
def _():
    # The VM opens: 9001 established, 9003 half-closed by the VM
    # (FIN-WAIT-2), 9004 closed by the VM first (TIME-WAIT), 9005 reset by
    # the VM (SO_LINGER 0), 9002 black-holed (SYN-SENT). The remote opens:
    # 8081 established, 8083 half-closed by the remote (CLOSE-WAIT here),
    # 8082 with the SYN-ACK dropped there (SYN-RECV here).
    vm_cl = run_bg(vm, r"""
import socket, struct, sys, time
R = sys.argv[1]; held = []
def conn(port, n):
    s = socket.create_connection((R, port)); s.sendall(b"c" * n); return s
held.append(conn(9001, 1000))
s = conn(9003, 500); s.shutdown(socket.SHUT_WR); held.append(s)
s = conn(9004, 100); s.shutdown(socket.SHUT_WR)
while s.recv(65536): pass
s.close()
s = conn(9005, 10); time.sleep(0.3)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); s.close()
s = socket.socket(); s.setblocking(False); s.connect_ex((R, 9002)); held.append(s)
print("ready", flush=True); sys.stdin.readline()
""", R_IP)
    rm_cl = run_bg(rm, r"""
import socket, sys
V = sys.argv[1]; held = []
s = socket.create_connection((V, 8081)); s.sendall(b"e" * 700); held.append(s)
s = socket.create_connection((V, 8083)); s.sendall(b"f" * 300); s.shutdown(socket.SHUT_WR); held.append(s)
s = socket.socket(); s.setblocking(False); s.connect_ex((V, 8082)); held.append(s)
print("ready", flush=True); sys.stdin.readline()
""", VM_IP)
    t.check(vm_cl.stdout.readline().strip() == "ready" and rm_cl.stdout.readline().strip() == "ready",
            "clients hold their connections")
    time.sleep(1.5)   # the black-holed SYN is sent again (after 1 s)
    settle()
    before = ss_vm()
    doc = conns()
    after = ss_vm()
    live = {k: v for k, v in before.items() if after.get(k) == v}
    ours = {(c["local_ip"], c["local_port"], c["remote_ip"], c["remote_port"]): c for c in doc["connections"]}
    want = {"ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-2", "CLOSE-WAIT", "TIME-WAIT"}
    t.check(want <= set(live.values()), "ss in the VM holds every state at once", str(before))
    bad = []
    for k, st in live.items():
        c = ours.get(k)
        initiator = "remote" if k[1] in (8080, 8081, 8082, 8083, 8084) else "vm"
        if not c or c["state"] != SS_STATES.get(st) or c["initiator"] != initiator:
            bad.append(f"ss {st} {k}: ours {c and (c['state'], c['initiator'])}")
    t.check(not bad, "every TCP socket of the VM in ss is listed in its state (syn_sent, syn_received, "
            "established, closing, closed = TIME-WAIT) and initiator", "\n".join(bad))
    gone = [f"{k}: {c['state']}" for k, c in ours.items()
            if c["state"] not in ("closed", "reset") and k not in live]
    t.check(not gone, "no connection is listed in a live state that ss does not have", "\n".join(gone))
    reset = next((c for k, c in ours.items() if k[3] == 9005), None)
    logged = rm_srv.stdout.readline().strip() if select.select([rm_srv.stdout], [], [], 2)[0] else ""
    t.check(logged == "reset 9005", "the remote server saw the reset (its log)", logged)
    t.check(reset is not None and reset["state"] == "reset" and not any(k[3] == 9005 for k in live),
            "the connection the VM reset is listed as reset (ss: gone)", str(reset))
    for initiator in ("vm", "remote"):
        row = state_row(doc, initiator)
        mine = [c for c in doc["connections"] if c["initiator"] == initiator]
        counts = {s: sum(1 for c in mine if c["state"] == s) for s in
                  ("syn_sent", "syn_received", "established", "closing", "closed", "reset")}
        t.check(all(row[s] == n for s, n in counts.items()),
                f"the {initiator} row counts the listed connections by state", f"{row} vs {counts}")
    only = conns("--state", "syn_received")["connections"]
    t.check([(c["local_port"], c["initiator"]) for c in only] == [(8082, "remote")],
            "--state syn_received lists only the half-open incoming connection", str(only))
    m = scrape()
    t.check(sample(m, "virtnetmon_vm_tcp_connections", state="syn_sent", initiator="vm") ==
            state_row(doc, "vm")["syn_sent"] == 1 and
            sample(m, "virtnetmon_vm_tcp_connections", state="syn_received", initiator="remote") == 1,
            "/metrics: the same half-open connections",
            "\n".join(line for line in m.splitlines() if "tcp_connections{" in line and "csvm" in line))
    sv = {(x["proto"], x["port"]): x for x in services()["services"]}
    t.check(set(sv) == {("tcp", 8080), ("udp", 5353), ("tcp", 8081), ("tcp", 8082), ("tcp", 8083)},
            "the ports the VM answered with a SYN-ACK are services now (8081-8083), 8084 still not",
            str(sorted(sv)))
    vm_cl.stdin.write("\n"), vm_cl.stdin.flush()
    rm_cl.stdin.write("\n"), rm_cl.stdin.flush()
    vm_cl.wait(10), rm_cl.wait(10)


@t.case("a refused connection and a black-holed one are handshake failures")
def _():
    r = py(vm, r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9009), timeout=5); print("connected")
except ConnectionRefusedError:
    print("refused")
""", R_IP)
    t.check(r.stdout.strip() == "refused", "the VM's connect to a port nobody listens on is refused", r.stderr)
    r = py(rm, r"""
import socket, sys
try:
    socket.create_connection((sys.argv[1], 8099), timeout=5); print("connected")
except ConnectionRefusedError:
    print("refused")
""", VM_IP)
    t.check(r.stdout.strip() == "refused", "a remote's connect to a closed port of the VM is refused", r.stderr)
    # A black-holed connect held until ss shows its SYN sent again.
    hole = run_bg(vm, r"""
import socket, sys
s = socket.socket(); s.setblocking(False); s.connect_ex((sys.argv[1], 9002))
print("ready", flush=True); sys.stdin.readline()
""", R_IP)
    hole.stdout.readline()

    def syn_retransmitted():
        out = sh("ss", "-tanoH", "state", "syn-sent", "dst", R_IP, netns=vm).stdout
        m = re.search(r"timer:\(on,[^,]+,(\d+)\)", out)
        return m and int(m.group(1)) >= 1
    wait_for(syn_retransmitted, 10, "ss to show the black-holed SYN sent again")
    settle()
    doc = conns()
    fails = {(f["remote_ip"], f["initiator"], f["local_port"], f["remote_port"]): f
             for f in doc["handshake_failures"]}
    refused_out = fails.get((R_IP, "vm", -1, 9009), {})
    refused_in = fails.get((R_IP, "remote", 8099, -1), {})
    hole_out = fails.get((R_IP, "vm", -1, 9002), {})
    t.check(refused_out.get("refused") == 1 and refused_out.get("timed_out") == 0,
            "the VM's refused connect: refused 1 for the remote and port 9009", json.dumps(doc["handshake_failures"]))
    t.check(refused_in.get("refused") == 1 and refused_in.get("timed_out") == 0,
            "the remote's refused connect: refused 1 on the VM's port 8099", json.dumps(doc["handshake_failures"]))
    # Two black-holed connects to 9002: this case's and the one the case
    # before held.
    t.check(hole_out.get("timed_out") == 2 and hole_out.get("refused") == 0,
            "the black-holed connects (2): timed out for port 9002", json.dumps(doc["handshake_failures"]))
    t.check(len(fails) == 3, "no other handshake failure (the half-open incoming one was answered)",
            json.dumps(doc["handshake_failures"]))
    vm_row, rm_row = state_row(doc, "vm"), state_row(doc, "remote")
    t.check(vm_row["handshake_refused"] == 1 and vm_row["handshake_timed_out"] == 2 and
            rm_row["handshake_refused"] == 1 and rm_row["handshake_timed_out"] == 0,
            "the totals since the probe attached: vm refused 1, timed out 2; remote refused 1",
            json.dumps(doc["states"]))
    m = scrape()
    t.check(sample(m, "virtnetmon_vm_tcp_handshake_failures_total", reason="refused", initiator="vm") == 1 and
            sample(m, "virtnetmon_vm_tcp_handshake_failures_total", reason="timed_out", initiator="vm") == 2 and
            sample(m, "virtnetmon_vm_tcp_handshake_failures_total", reason="refused", initiator="remote") == 1,
            "/metrics: the same counters",
            "\n".join(line for line in m.splitlines() if "handshake_failures_total{" in line))
    t.check(("tcp", 8099) not in {(x["proto"], x["port"]) for x in services()["services"]},
            "a port that refused is no service")
    hole.stdin.write("\n"), hole.stdin.flush()
    hole.wait(10)


@t.case("ServiceAppeared once for each new service")
def _():
    monitor.terminate()
    monitor.wait(5)
    with open(os.path.join(tmp, "signals.txt")) as f:
        text = f.read()
    n = text.count("member=ServiceAppeared")
    ports = sorted(int(p) for p in re.findall(r'string "port"\s+variant\s+int32 (\d+)', text))
    t.check(n == 5 and ports == [5353, 8080, 8081, 8082, 8083],
            "five signals, one for each service port", text[-3000:])


@t.case("the tables a person reads")
def _():
    text = cli(bus, "conns", DOMAIN).stdout
    print("# " + text.replace("\n", "\n# "))
    vm_line = next((line.split() for line in text.splitlines() if line.split()[:1] == ["vm"]), [])
    doc = conns()
    row = state_row(doc, "vm")
    t.check(vm_line[1:] == [str(row[k]) for k in ("syn_sent", "syn_received", "established", "closing", "closed",
                                                 "reset", "handshake_refused", "handshake_timed_out")],
            "conns: the vm row shows the counts of --json", f"{vm_line} {row}")
    t.check("Handshake failures per remote" in text and "9009" in text and "9002" in text,
            "conns: the failures per remote are listed", text)
    text = cli(bus, "services", DOMAIN).stdout
    print("# " + text.replace("\n", "\n# "))
    t.check(re.search(r"^\s*tcp\s+8080\s+2\s+3\s", text, re.M) is not None and
            re.search(r"^\s*udp\s+5353\s+1\s+1\s", text, re.M) is not None,
            "services: PROTO PORT CLIENTS CONNS of each service", text)


@t.case("bad input: an unknown state is refused with a message naming it")
def _():
    r = cli(bus, "conns", DOMAIN, "--state", "half-open", check=False)
    t.check(r.returncode != 0 and "half-open" in r.stderr, "conns --state half-open fails naming it", r.stderr)
    r = cli(bus, "services", "no-such-vm", check=False)
    t.check(r.returncode != 0 and "no-such-vm" in r.stderr, "services of an unknown domain fails naming it",
            r.stderr)



@t.case("bounded: services beyond the 256 kept for a VM are counted, not kept")
def _():
    before = services()
    n, first = 260, 20000
    srv = run_bg(vm, r"""
import selectors, socket, sys
first, n = int(sys.argv[1]), int(sys.argv[2])
sel = selectors.DefaultSelector()
for port in range(first, first + n):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port)); s.listen(4); s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
print("up", flush=True)
held = []
while True:
    for key, _ in sel.select():
        c, _ = key.fileobj.accept(); held.append(c)
""", str(first), str(n))
    assert srv.stdout.readline().strip() == "up"
    r = py(rm, r"""
import socket, sys
first, n = int(sys.argv[2]), int(sys.argv[3])
ok = 0
for port in range(first, first + n):
    s = socket.create_connection((sys.argv[1], port)); s.close(); ok += 1
print(ok)
""", VM_IP, str(first), str(n))
    t.check(r.stdout.strip() == str(n), f"the remote connected once to each of {n} ports of the VM", r.stderr)
    settle()
    sv = services()
    kept = len(before["services"])
    new_ports = {x["port"] for x in sv["services"]} - {x["port"] for x in before["services"]}
    t.check(sv["services_max"] == 256 and len(sv["services"]) == 256 and
            new_ports <= set(range(first, first + n)) and len(new_ports) == 256 - kept,
            f"256 services kept: the {kept} before and {256 - kept} of the {n} new ports", f"{len(sv['services'])}")
    t.check(sv["flows_untracked"] == n - (256 - kept),
            f"the connections to the {n - (256 - kept)} ports that did not fit are counted", str(sv["flows_untracked"]))
    text = cli(bus, "services", DOMAIN).stdout
    t.check(f"{n - (256 - kept)} flows went to ports beyond the 256 services" in text,
            "services says so under its table", text[-300:])
    m = scrape()
    total = (sample(m, "virtnetmon_vm_services", proto="tcp") or 0) + (sample(m, "virtnetmon_vm_services", proto="udp") or 0)
    series = sum(1 for line in m.splitlines()
                 if line.startswith("virtnetmon_vm_service_connections_total{") and 'vm_name="csvm"' in line)
    t.check(total == 256 and series == 32 and sample(m, "virtnetmon_vm_services_unlisted") == 224 and
            sample(m, "virtnetmon_vm_service_flows_untracked_total") == n - (256 - kept),
            "/metrics: 256 services, 32 of them with their own series, 224 unlisted, the untracked flows",
            f"total {total} series {series}")


t.done()
