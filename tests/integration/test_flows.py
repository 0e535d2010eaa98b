#!/usr/bin/env python3
"""Integration: the per-VM flow probe against kernel ground truth.

"VMs" flvm1 and flvm2 (libvirt test driver) are namespaces behind veth
devices vnmfl-a and vnmfl-b on bridge vnmfl-br0. Their remote peer is the
namespace vnmfl-remote, behind a delay line (tests/lib/delayline.py) that
adds DELAY_MS each way, so TCP has a known round trip. Ground truth: exact
byte counts the test sends, `ss -ti` in the VM (rtt, retransmissions),
`ip -s link` (interface totals), the kernel's tcx program lists
(tests/helpers/tcx-progs) and `tc filter show` (hooks). The probe runs on
tcx, as on any kernel that has it; the crash-recovery part runs it as tc
clsact filters, the fallback for older kernels.

The namespaces, devices, delay line, foreign programs, servers, bus and
daemon are the shared setup. Each case makes and cleans up what else it
needs (clients, nftables rules), so one that fails does not stop the
others; a case that stops, restarts or replaces the daemon leaves one for
the next (need_daemon() starts one if it did not).
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, make_link,  # noqa: E402
                     make_netns, on_cleanup, pin_dir, require_root, sh, shared_cleanups, skip,
                     wait_for)

require_root()
for tool in ("bpftool", "ethtool", "nft", "ss", "tc"):
    if subprocess.run(["which", tool], capture_output=True).returncode != 0:
        skip(f"needs {tool}")

DELAY_MS = 10
t = Results()
tmp = tempfile.mkdtemp(prefix="vnmfl-")
on_cleanup(subprocess.run, ["rm", "-rf", tmp])
lib = os.path.join(os.path.dirname(__file__), "..", "lib")


def no_offloads(dev, netns=None):
    sh("ethtool", "-K", dev, "tx", "off", "tso", "off", "gso", "off", "gro", "off", netns=netns)


def veth_to(host, inside, netns, addrs, index=None):
    make_link(host, *(("index", str(index)) if index else ()), "type", "veth", "peer", "name", inside,
              "netns", netns)
    for a in addrs:
        nodad = ["nodad"] if ":" in a else []  # IPv6: usable at once
        sh("ip", "addr", "add", a, "dev", inside, *nodad, netns=netns)
    sh("ip", "link", "set", inside, "up", netns=netns)
    no_offloads(inside, netns)
    no_offloads(host)
    sh("ip", "link", "set", host, "up")


# Servers in the remote namespace (and one in vm2), one port per scenario.
SERVER = r"""
import socket, sys, threading


def serve(port, family, reply):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", port)); s.listen(64)
    while True:
        c, _ = s.accept()
        threading.Thread(target=reply, args=(c,), daemon=True).start()


def sink_then_send(c):          # read to EOF, answer N bytes, close
    n = 0
    while True:
        b = c.recv(65536)
        if not b: break
        n += len(b)
    c.sendall(b"r" * int(sys.argv[1])); c.close()


def echo(c):
    while True:
        b = c.recv(65536)
        if not b: break
        c.sendall(b)
    c.close()
for port, fam, fn in ((5001, socket.AF_INET, sink_then_send), (5002, socket.AF_INET, sink_then_send),
                      (5003, socket.AF_INET, echo), (5004, socket.AF_INET, sink_then_send),
                      (5005, socket.AF_INET6, sink_then_send)):
    threading.Thread(target=serve, args=(port, fam, fn), daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", 5006))
while True: u.recv(65536)
"""
REPLY = 300000
SEND = 1_000_000   # what a client sends in "exact bytes each way"

CLIENT = r"""
import socket, struct, sys, time
host, port, send, mode = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM); s.connect((host, port))
if mode == "pingpong":                        # send rounds of 100 bytes, wait for the echo
    for i in range(send):
        s.sendall(b"p" * 100); got = 0
        while got < 100: got += len(s.recv(100 - got))
    print("ready", flush=True); sys.stdin.readline()   # hold it open for ss
else:
    print("connected", flush=True)
    s.sendall(b"q" * send); s.shutdown(socket.SHUT_WR)
    n = 0
    while True:
        b = s.recv(65536)
        if not b: break
        n += len(b)
    info = s.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 104)
    print(n, struct.unpack_from("I", info, 100)[0], flush=True)   # bytes, tcpi_total_retrans
s.close()
"""


def client(ns, host, port, send, mode="bulk", **kw):
    r = subprocess.run(["ip", "netns", "exec", ns, sys.executable, "-c", CLIENT, host, str(port),
                        str(send), mode], text=True, capture_output=True, timeout=120, **kw)
    r.stdout = r.stdout.replace("connected\n", "")
    return r


def probes():
    return {p["iface"]: p for p in cli_json(bus, "status")["probes"]}


def tcx_progs(dev):
    """(side, program name) on DEV's tcx hooks in run order (ground truth:
    the kernel's BPF_PROG_QUERY)."""
    out = sh(TCX_PROGS, "show", dev, check=False).stdout
    return [tuple(line.split()) for line in out.splitlines()]


def our_tcx(dev):
    return [p for p in tcx_progs(dev) if p[1].startswith("vnm_tc_")]


def our_filters(dev):
    """virtnetmon's clsact filters on DEV (ground truth: tc filter show)."""
    found = []
    for side in ("ingress", "egress"):
        out = sh("tc", "-j", "filter", "show", "dev", dev, side, check=False).stdout or "[]"
        for f in json.loads(out):
            name = f.get("options", {}).get("bpf_name", "")
            if name.startswith("vnm_tc_"):
                found.append((side, name.split(":")[0]))
    return found


def kernel_ifindex(dev):
    return json.loads(sh("ip", "-j", "link", "show", dev).stdout)[0]["ifindex"]


def has_clsact(dev):
    return "clsact" in sh("tc", "qdisc", "show", "dev", dev, check=False).stdout


def flows(domain, *args):
    return cli_json(bus, "flows", domain, *args)


def flow_row(domain, remote_ip, port, proto="tcp", by="flow"):
    for r in flows(domain, "--by", by):
        if r["remote_ip"] == remote_ip and r["remote_port"] == port and r["proto"] == proto:
            return r
    return None


def settle():
    time.sleep(2.2)  # two intervals: the daemon has read the table since


def start_daemon(*args):
    """A daemon for this case and the ones after it (stopped at exit)."""
    global daemon
    with shared_cleanups():
        daemon = Daemon(bus, *args)
    return daemon


def need_daemon():
    """A case's own setup, after cases that stop or replace the daemon: one
    runs (started with DAEMON_ARGS if none does), its probe on vnmfl-a."""
    if daemon.proc.poll() is not None:
        start_daemon(*DAEMON_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "the probe on vnmfl-a")


def resume(proc):
    """Lets a daemon a case stopped (SIGSTOP) go on, if it still runs."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGCONT)


with t.setup("namespaces, veth devices, a delay line, foreign tc and tcx programs, servers, a bus and the daemon"):
    # --- topology -------------------------------------------------------------
    vm1, vm2, remote = make_netns("vnmfl-vm1"), make_netns("vnmfl-vm2"), make_netns("vnmfl-remote")
    make_link("vnmfl-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmfl-br0", "up")
    veth_to("vnmfl-a", "eth0", vm1, ["10.216.0.11/24", "fd16::11/64"])
    veth_to("vnmfl-b", "eth0", vm2, ["10.216.0.12/24", "fd16::12/64"])
    # A third VM whose device's ifindex is vnmfl-a's plus VNM_TOTALS_SLOTS
    # (4096): both want the same totals slot, so one of them spills to the
    # per-CPU hash, and both must still be exact.
    vm3 = make_netns("vnmfl-vm3")
    A_IFINDEX = json.loads(sh("ip", "-j", "link", "show", "vnmfl-a").stdout)[0]["ifindex"]
    veth_to("vnmfl-c", "eth0", vm3, ["10.216.0.13/24"], index=A_IFINDEX + 4096)
    veth_to("vnmfl-r", "eth0", remote, ["10.216.0.2/24", "fd16::2/64"])
    make_link("vnmfl-x0", "type", "veth", "peer", "name", "vnmfl-x1")
    for dev in ("vnmfl-x0", "vnmfl-x1"):
        no_offloads(dev)
        sh("ip", "link", "set", dev, "up")
    for dev in ("vnmfl-a", "vnmfl-b", "vnmfl-c", "vnmfl-x0"):
        sh("ip", "link", "set", dev, "master", "vnmfl-br0")
    line = subprocess.Popen([sys.executable, os.path.join(lib, "delayline.py"), "vnmfl-x1", "vnmfl-r",
                             str(DELAY_MS)], stdout=subprocess.PIPE, text=True)
    on_cleanup(line.kill)
    line.stdout.readline()

    # Foreign programs on vnmfl-b that virtnetmon must leave alone: a tc filter
    # and a tcx link (pinned, as a long-lived agent would keep it).
    sh("tc", "qdisc", "add", "dev", "vnmfl-b", "clsact")
    FOREIGN = os.path.join(build_dir(), "tests", "helpers", "foreign-tc.bpf.o")
    TCX_PROGS = os.path.join(build_dir(), "tests", "helpers", "tcx-progs")
    sh("tc", "filter", "add", "dev", "vnmfl-b", "ingress", "prio", "100", "bpf", "obj", FOREIGN, "sec", "tc", "da")
    FOREIGN_PIN = f"/sys/fs/bpf/vnmfl-foreign-{os.getpid()}"
    sh(TCX_PROGS, "pin", "vnmfl-b", FOREIGN, FOREIGN_PIN)
    on_cleanup(subprocess.run, ["rm", "-f", FOREIGN_PIN])

    node_xml = os.path.join(tmp, "node.xml")
    with open(node_xml, "w") as f:
        f.write("<node>\n" + "".join(f"""  <domain type='test'>
    <name>flvm{i}</name>
    <uuid>6a1e0c52-7d1b-4c3e-9a2f-00000000000{i}</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <interface type='bridge'>
        <mac address='52:54:00:16:00:0{i}'/>
        <source bridge='vnmfl-br0'/>
        <target dev='vnmfl-{dev}'/>
        <model type='virtio'/>
      </interface>
    </devices>
  </domain>
""" for i, dev in ((1, "a"), (2, "b"), (3, "c"))) + "</node>\n")

    for ns in (remote, vm2):
        srv = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", SERVER, str(REPLY)])
        on_cleanup(srv.kill)
    time.sleep(0.5)

    bus = Bus()
    state_dir = os.path.join(tmp, "state")
    PIN_DIR = pin_dir()
    DAEMON_ARGS = ("--connect", f"test://{node_xml}", "--interval", "1", "--flow-table-size", "256",
                   "--pin-dir", PIN_DIR,
                   "--state-dir", state_dir)
    daemon = Daemon(bus, *DAEMON_ARGS)
    wait_for(lambda: all(probes().get(d, {}).get("attached") for d in ("vnmfl-a", "vnmfl-b", "vnmfl-c")), 10,
             "the probe to attach to the VMs' devices")


@t.case("the probe on tcx hooks, before a foreign program")
def _():
    t.check(sorted(our_tcx("vnmfl-a")) == [("egress", "vnm_tc_to_vm"), ("ingress", "vnm_tc_from_vm")],
            "the kernel lists the probe on vnmfl-a's tcx hooks: ingress = from the VM, egress = to the VM",
            str(tcx_progs("vnmfl-a")))
    t.check(tcx_progs("vnmfl-b")[:2] == [("ingress", "vnm_tc_from_vm"), ("ingress", "foreign_pass")],
            "on vnmfl-b the probe runs first, before the foreign tcx program", str(tcx_progs("vnmfl-b")))
    t.check(our_filters("vnmfl-a") == [], "no clsact filter is used where tcx exists")
    st = cli(bus, "status").stdout
    t.check(re.search(r"vnmfl-a\s+flvm1\s+tcx ingress,egress\s+yes", st) is not None,
            "virtnetmon status names the program attached to each device", st)


@t.case("exact bytes each way, one connection opened and closed")
def _():
    # --- exact bytes each way, one connection opened and closed --------------
    r = client(vm1, "10.216.0.2", 5001, SEND)
    received = int(r.stdout.split()[0]) if r.returncode == 0 else -1
    settle()
    row = flow_row("flvm1", "10.216.0.2", 5001)
    t.check(received == REPLY and row is not None, "TCP transfer done and its flow listed", f"{r.stderr} {row}")
    t.check(row and row["tx_bytes"] == SEND and row["rx_bytes"] == REPLY,
            f"TCP bytes exact: tx {SEND}, rx {REPLY} (payload, VM's view)", str(row))
    t.check(row and row["initiator"] == "vm" and row["tcp_conns_opened"] == 1 and row["tcp_conns_closed"] == 1
            and row["tcp_resets"] == 0, "one outgoing connection opened and closed", str(row))


@t.case("K connections")
def _():
    # --- K connections ---------------------------------------------------------
    K = 7
    for _ in range(K):
        client(vm1, "10.216.0.2", 5002, 100)
    settle()
    row = flow_row("flvm1", "10.216.0.2", 5002, by="remote-port")
    t.check(row and row["tcp_conns_opened"] == K and row["tcp_conns_closed"] == K and row["tx_bytes"] == K * 100,
            f"{K} connections opened and closed, grouped by remote port", str(row))


@t.case("RTT against ss -ti")
def _():
    # --- RTT against the kernel's own (ss -ti in the VM) ------------------------
    pp = subprocess.Popen(["ip", "netns", "exec", vm1, sys.executable, "-c", CLIENT, "10.216.0.2", "5003",
                           "60", "pingpong"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    on_cleanup(pp.kill)
    pp.stdout.readline()
    ss = sh("ss", "-tiH", "dst", "10.216.0.2:5003", netns=vm1).stdout
    m = re.search(r"\brtt:([\d.]+)/", ss)
    kernel_rtt_us = float(m.group(1)) * 1000 if m else -1
    settle()
    row = flow_row("flvm1", "10.216.0.2", 5003)
    ours = row["rtt_avg_us"] if row else -1
    t.check(m is not None and row is not None and row["rtt_samples"] >= 30 and
            abs(ours - kernel_rtt_us) <= max(0.10 * kernel_rtt_us, 200),
            f"RTT agrees with ss -ti within 10% (ours {ours:.0f} us, kernel {kernel_rtt_us:.0f} us, "
            f"{DELAY_MS} ms each way on the line)", f"{ss} {row}")
    t.check(row and row["rtt_min_us"] >= 2 * DELAY_MS * 1000 * 0.95 and row["vm_rtt_avg_us"] < 2000,
            "the remote leg carries the delay, the VM leg does not", str(row))
    pp.stdin.write("\n")
    pp.stdin.flush()
    pp.wait(10)


@t.case("retransmissions forced by a drop rule")
def _():
    # --- retransmissions forced by a drop rule ----------------------------------
    sh("nft", "add", "table", "inet", "vnmfl", netns=remote)
    sh("nft", "add", "chain", "inet", "vnmfl", "in", "{ type filter hook input priority 0 ; }", netns=remote)
    BULK = 30_000_000
    bulk = subprocess.Popen(["ip", "netns", "exec", vm1, sys.executable, "-c", CLIENT, "10.216.0.2", "5004",
                             str(BULK), "bulk"], stdout=subprocess.PIPE, text=True)
    on_cleanup(bulk.kill)
    on_cleanup(sh, "nft", "delete", "table", "inet", "vnmfl", netns=remote, check=False)
    bulk.stdout.readline()  # connected: the transfer is under way
    time.sleep(0.2)
    sh("nft", "add", "rule", "inet", "vnmfl", "in", "tcp", "dport", "5004", "drop", netns=remote)
    time.sleep(0.3)
    sh("nft", "flush", "chain", "inet", "vnmfl", "in", netns=remote)
    out = bulk.communicate(timeout=120)[0].split()
    kernel_retrans = int(out[1]) if len(out) == 2 else -1
    sh("nft", "delete", "table", "inet", "vnmfl", netns=remote)
    settle()
    row = flow_row("flvm1", "10.216.0.2", 5004)
    t.check(row and kernel_retrans > 0 and
            abs(row["tcp_retrans_tx"] - kernel_retrans) <= max(2, 0.1 * kernel_retrans),
            f"retransmissions match the sender's tcpi_total_retrans ({kernel_retrans})", str(row))
    t.check(row and row["tx_bytes"] == BULK,
            "retransmitted bytes are not counted twice: tx_bytes = the transfer", str(row))
    t.check(row and row["rtt_samples"] >= 20 and abs(row["rtt_min_us"] - 2000 * DELAY_MS) < 0.1 * 2000 * DELAY_MS,
            "a bulk transfer yields timestamp RTT samples near the line's delay", str(row))


@t.case("IPv6")
def _():
    # --- IPv6 -------------------------------------------------------------------
    r = client(vm1, "fd16::2", 5005, 123_456)
    settle()
    row = flow_row("flvm1", "fd16::2", 5005)
    t.check(row and row["tx_bytes"] == 123_456 and row["rx_bytes"] == REPLY and row["tcp_conns_closed"] == 1,
            "IPv6 TCP flow with exact bytes", f"{r.stderr} {row}")


@t.case("UDP and ICMP")
def _():
    # --- UDP and ICMP -------------------------------------------------------------
    UDP_N, UDP_SIZE = 40, 700
    sh(sys.executable, "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({UDP_N}): s.sendto(b"u" * {UDP_SIZE}, ("10.216.0.2", 5006))
""", netns=vm1)
    sh("ping", "-c", "3", "-i", "0.2", "10.216.0.2", netns=vm1)
    settle()
    row = flow_row("flvm1", "10.216.0.2", 5006, "udp")
    t.check(row and row["tx_bytes"] == UDP_N * UDP_SIZE and row["tx_packets"] == UDP_N and
            row["initiator"] == "vm", "UDP datagrams counted exactly", str(row))
    icmp = [r for r in flows("flvm1", "--proto", "icmp") if r["remote_ip"] == "10.216.0.2"]
    t.check(len(icmp) == 1 and icmp[0]["tx_packets"] == 3 and icmp[0]["rx_packets"] == 3 and
            icmp[0]["initiator"] == "vm", "ping: one ICMP flow, 3 echo requests out, 3 replies in", str(icmp))


@t.case("VM to VM: one edge in the topology")
def _():
    # --- VM to VM: one edge in the topology ---------------------------------------
    client(vm1, "10.216.0.12", 5001, 50_000)
    settle()
    topo = subprocess.run(["gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
                           "--object-path", "/org/virtnetmon/Monitor1", "--method",
                           "org.virtnetmon.Monitor1.GetTopology"], text=True, capture_output=True).stdout
    u1, u2 = "6a1e0c52-7d1b-4c3e-9a2f-000000000001", "6a1e0c52-7d1b-4c3e-9a2f-000000000002"
    edge = re.search(rf"'source': <'{u1}'>, 'target': <'{u2}'>, 'bytes_to_target': <uint64 (\d+)>", topo)
    t.check(edge and int(edge.group(1)) >= 50_000 and len(re.findall(rf"'target': <'{u2}'>", topo)) == 1,
            "VM-to-VM traffic is one flvm1 -> flvm2 edge of the topology", topo[:2000])
    t.check(re.search(rf"'source': <'{u1}'>, 'target': <'10.216.0.2'>", topo) is not None,
            "VM-to-remote edge flvm1 -> 10.216.0.2", topo[:2000])


# --- a flood of short flows overflows the table -------------------------------
def totals():
    o = cli_json(bus, "domifstat", "flvm1", "vnmfl-a")[0]
    k = json.loads(sh("ip", "-j", "-s", "link", "show", "dev", "vnmfl-a").stdout)[0]["stats64"]
    return o, k


@t.case("a flood of short flows overflows the table")
def _():
    FLOOD = 1500
    before = totals()
    sh(sys.executable, "-c", f"""
import socket
for i in range({FLOOD}):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.sendto(b"f" * 10, ("10.216.0.2", 5007)); s.close()
""", netns=vm1)
    settle()
    for _ in range(5):  # a stray neighbour packet between the two reads: read again
        after = totals()
        d_probe = after[0]["probe_tx_packets"] - before[0]["probe_tx_packets"]
        d_kernel = after[1]["rx"]["packets"] - before[1]["rx"]["packets"]
        d_probe_b = after[0]["probe_tx_bytes"] - before[0]["probe_tx_bytes"]
        d_kernel_b = after[1]["rx"]["bytes"] - before[1]["rx"]["bytes"]
        if d_probe == d_kernel and d_probe_b == d_kernel_b:
            break
        time.sleep(0.3)
    t.check(d_probe == d_kernel and d_probe_b == d_kernel_b and d_probe >= FLOOD,
            f"interface totals exact through the flood ({d_probe} packets, {d_probe_b} bytes; "
            f"ip -s link: {d_kernel}, {d_kernel_b})")
    ev = after[0]["flows_evicted"]
    t.check(ev >= FLOOD - 256, f"evictions reported ({ev} of {FLOOD} short flows, table of 256)", str(after[0]))
    t.check(probes()["vnmfl-a"]["flows_evicted"] == ev, "status reports the same evictions")


# --- two devices on one totals slot: one spills, both exact ---------------------
def tx_totals(domain, dev):
    o = cli_json(bus, "domifstat", domain, dev)[0]
    k = json.loads(sh("ip", "-j", "-s", "link", "show", "dev", dev).stdout)[0]["stats64"]["rx"]
    return o["probe_tx_packets"], o["probe_tx_bytes"], k["packets"], k["bytes"]


SPILL_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(int(sys.argv[2])): s.sendto(b"s" * 200, (sys.argv[1], 7200))
"""


@t.case("two devices on one totals slot: one spills, both exact")
def _():
    t.check(kernel_ifindex("vnmfl-c") % 4096 == kernel_ifindex("vnmfl-a") % 4096,
            "vnmfl-a and vnmfl-c want the same totals slot",
            f"{kernel_ifindex('vnmfl-a')} {kernel_ifindex('vnmfl-c')}")
    spilled = json.loads(sh("bpftool", "-j", "map", "dump", "pinned",
                            os.path.join(PIN_DIR, "totals-spill")).stdout)
    t.check(len(spilled) == 1, "exactly one of the two is in the spill map (bpftool map dump)",
            json.dumps(spilled)[:400])
    for _ in range(5):  # a stray neighbour packet between the reads: read again
        b1, b3 = tx_totals("flvm1", "vnmfl-a"), tx_totals("flvm3", "vnmfl-c")
        sh(sys.executable, "-c", SPILL_SEND, "10.216.0.2", "40", netns=vm1)
        sh(sys.executable, "-c", SPILL_SEND, "10.216.0.2", "70", netns=vm3)
        settle()
        a1, a3 = tx_totals("flvm1", "vnmfl-a"), tx_totals("flvm3", "vnmfl-c")
        d1 = [a - b for a, b in zip(a1, b1)]
        d3 = [a - b for a, b in zip(a3, b3)]
        if d1[:2] == d1[2:] and d3[:2] == d3[2:]:
            break
    t.check(d1[:2] == d1[2:] and d1[0] >= 40 and d3[:2] == d3[2:] and d3[0] >= 70,
            f"both devices' totals exact against ip -s link (vnmfl-a +{d1[0]} packets, "
            f"vnmfl-c +{d3[0]} packets)", f"{d1} {d3}")


@t.case("bad input")
def _():
    # --- bad input -----------------------------------------------------------------
    r = cli(bus, "flows", "flvm1", "--by", "nonsense", check=False)
    t.check(r.returncode == 2 and "nonsense" in r.stderr, "a bad --by value is a usage error naming it", r.stderr)
    r = cli(bus, "flows", "no-such-vm", check=False)
    t.check(r.returncode == 1 and "no-such-vm" in r.stderr, "unknown domain named", r.stderr)
    r = subprocess.run(["gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
                        "--object-path", "/org/virtnetmon/Monitor1", "--method",
                        "org.virtnetmon.Monitor1.GetFlows", "flvm1", "{'top': <'x'>}"],
                       text=True, capture_output=True)
    t.check("org.virtnetmon.Error.InvalidArgument" in r.stderr and "top" in r.stderr,
            "GetFlows with a wrongly typed option: InvalidArgument naming it", r.stderr)


# --- restarts without loss: the flow table and totals are pinned -------------------
UDP_SEND = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("10.216.0.11", 7100))
for _ in range(int(sys.argv[1])): s.sendto(b"u" * 64, ("10.216.0.2", 7101))
"""


def udp_burst(n):
    sh(sys.executable, "-c", UDP_SEND, str(n), netns=vm1)


def probe_tx_packets():
    return cli_json(bus, "domifstat", "flvm1", "vnmfl-a")[0]["probe_tx_packets"]


def flow_table():
    return cli_json(bus, "status")["flow_table"]


def cached_udp_packets():
    """Packets of the 7100 -> 7101 flow waiting in the per-CPU flow cache
    (ground truth: bpftool's dump of the pinned map)."""
    out = sh("bpftool", "-j", "map", "dump", "pinned", os.path.join(PIN_DIR, "flow-cache")).stdout
    n = 0
    for entry in json.loads(out):
        for v in entry.get("formatted", entry).get("values", []):
            slot = v["value"]
            if slot["key"]["local_port"] == 7100 and slot["key"]["remote_port"] == 7101:
                n += slot["packets"] & ((1 << 48) - 1)
    return n


@t.case("the flow table and its cache in status")
def _():
    t.check(flow_table()["cache_slots"] == 4096 and "Flow cache:          4096 slots a CPU" in cli(bus, "status").stdout,
            "status names the per-CPU flow cache (FlowTable cache_slots)", json.dumps(flow_table()))
    t.check(flow_table()["pinned"] == "new" and PIN_DIR in flow_table()["pin_status"]
            and os.path.exists(os.path.join(PIN_DIR, "flows")),
            "the flow table and totals are pinned in the pin directory (bpffs)", json.dumps(flow_table()))


@t.case("restarts without loss: a stop, a crash, another table size")
def _():
    need_daemon()
    # The TCP flow that must continue: exact bytes each way (as in the case
    # "exact bytes each way"), made here so that this case stands alone.
    client(vm1, "10.216.0.2", 5001, SEND)
    udp_burst(50)
    settle()
    udp1 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    tcp1 = flow_row("flvm1", "10.216.0.2", 5001)
    tot1 = probe_tx_packets()
    daemon.stop()
    t.check(our_tcx("vnmfl-a") == [], "a stopped daemon leaves no hook, even with pinned maps")
    udp_burst(20)                       # while no daemon runs: not seen
    start_daemon(*DAEMON_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach after a restart")
    settle()
    udp2 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    tcp2 = flow_row("flvm1", "10.216.0.2", 5001)
    t.check(flow_table()["pinned"] == "adopted" and sorted(our_tcx("vnmfl-a")) ==
            [("egress", "vnm_tc_to_vm"), ("ingress", "vnm_tc_from_vm")],
            "the restarted daemon adopts the pinned maps and hooks each side once", str(tcx_progs("vnmfl-a")))
    t.check(udp1 and udp2 and udp2["tx_packets"] == udp1["tx_packets"] == 50 and tcp2 and
            (tcp2["tx_bytes"], tcp2["rx_bytes"]) == (tcp1["tx_bytes"], tcp1["rx_bytes"]) == (SEND, REPLY),
            "per-flow totals continue across a restart: UDP 50 packets, TCP exact bytes both ways",
            f"{udp1} {udp2} {tcp2}")
    udp_burst(30)
    settle()
    udp3 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    tot3 = probe_tx_packets()
    t.check(udp3 and udp3["tx_packets"] == 80 and tot3 >= tot1 + 30,
            "after the restart the same flow counts on (80 = 50 + 30) and the interface totals continue",
            f"{udp3} totals {tot1} -> {tot3}")

    # A crash while packets wait in the flow cache: the daemon is stopped
    # (no poll flushes the cache), 10 more packets pass, then it is killed.
    on_cleanup(resume, daemon.proc)
    os.kill(daemon.proc.pid, signal.SIGSTOP)
    sh("taskset", "-c", "0", sys.executable, "-c", UDP_SEND, "10", netns=vm1)
    waiting = cached_udp_packets()
    t.check(waiting >= 9, "with the daemon stopped, the flow's packets wait in the per-CPU cache "
            "(at least 9 of 10: the first on a CPU may take the flow table)", str(waiting))
    os.kill(daemon.proc.pid, signal.SIGKILL)
    daemon.proc.wait()
    start_daemon(*DAEMON_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach after a crash")
    settle()
    udp4 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    t.check(flow_table()["pinned"] == "adopted" and udp4 and udp4["tx_packets"] == 90
            and probe_tx_packets() >= tot3 and len(our_tcx("vnmfl-a")) == 2,
            "after a crash (SIGKILL) too: maps adopted, flow (90, the cached ones too) and totals "
            "continue, one hook per side",
            f"{udp4} {probe_tx_packets()} {tcx_progs('vnmfl-a')}")
    daemon.stop()
    start_daemon(*("512" if a == "256" else a for a in DAEMON_ARGS))
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach with another table size")
    t.check(flow_table()["pinned"] == "new" and "another shape" in daemon.output()
            and probe_tx_packets() < tot3,
            "a restart with another flow table size starts new maps, and says why", daemon.output()[-600:])


@t.case("a host where nothing mounted bpffs: the daemon mounts it, and a crash loses nothing")
def _():
    # A fresh host without systemd has no BPF filesystem on /sys/fs/bpf. A
    # mount namespace of this case's own, whose /sys/fs/bpf is unmounted,
    # stands for one; its holder keeps it (and what is pinned there) between
    # the daemons this case starts in it.
    daemon.stop()                       # one daemon hooks the VMs at a time
    holder = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                               "while grep -q ' /sys/fs/bpf bpf ' /proc/self/mounts; do "
                               "umount /sys/fs/bpf || exit 1; done; echo bare; exec sleep 3600"],
                              stdout=subprocess.PIPE, text=True)
    on_cleanup(holder.wait)
    on_cleanup(holder.kill)
    t.check(holder.stdout.readline().strip() == "bare", "a mount namespace without bpffs on /sys/fs/bpf")
    in_ns = ("nsenter", "-t", str(holder.pid), "-m", "--")

    def fs_type():
        return sh(*in_ns, "stat", "-f", "-c", "%T", "/sys/fs/bpf").stdout.strip()

    before = fs_type()
    bare_pins = f"/sys/fs/bpf/vnmfl-bare-{os.getpid()}"
    args = ("--connect", f"test://{node_xml}", "--interval", "1", "--flow-table-size", "256",
            "--pin-dir", bare_pins, "--state-dir", os.path.join(tmp, "state-bare"))

    def start():
        d = Daemon(bus, *args, wrapper=in_ns, name="virtnetmond-bare")
        wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "the probe on vnmfl-a")
        return d

    first = start()
    after = fs_type()
    t.check(before != "bpf_fs" and after == "bpf_fs",
            "the daemon mounts a BPF filesystem on /sys/fs/bpf where none was", f"{before} -> {after}")
    t.check(flow_table()["pinned"] == "new" and "mounted the BPF filesystem on /sys/fs/bpf" in flow_table()["pin_status"]
            and "Mounted a BPF filesystem on /sys/fs/bpf" in first.output(),
            "it pins there and says so in status and in its log", f"{flow_table()} {first.output()[-400:]}")
    udp_burst(40)
    settle()
    udp1 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    os.kill(first.proc.pid, signal.SIGKILL)
    first.proc.wait()
    second = start()
    udp_burst(25)
    settle()
    udp2 = flow_row("flvm1", "10.216.0.2", 7101, proto="udp")
    t.check(flow_table()["pinned"] == "adopted" and udp1 and udp2 and udp1["tx_packets"] == 40
            and udp2["tx_packets"] == 65,
            "after a crash (SIGKILL) the restarted daemon adopts the maps: the flow counts on (65 = 40 + 25)",
            f"{flow_table()} {udp1} {udp2}")
    t.check("Mounted a BPF filesystem" not in second.output(),
            "the restarted daemon finds the BPF filesystem mounted and mounts no other", second.output()[-400:])
    second.stop()
    t.check(sh("stat", "-f", "-c", "%T", "/sys/fs/bpf").stdout.strip() == "bpf_fs",
            "the host's own /sys/fs/bpf is left as it was")


@t.case("a tap recreated under the same name: mapping and probe follow, no spike")
def _():
    need_daemon()
    # --- a tap recreated under the same name: mapping and probe follow, no spike ---------
    old_ifindex = kernel_ifindex("vnmfl-a")
    before = cli_json(bus, "domifstat", "flvm1", "vnmfl-a")[0]
    sh("ip", "link", "del", "vnmfl-a")
    with shared_cleanups():  # the fixture's device, for the cases after this one
        veth_to("vnmfl-a", "eth0", vm1, ["10.216.0.11/24", "fd16::11/64"])
    sh("ip", "link", "set", "vnmfl-a", "master", "vnmfl-br0")
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached") and
             cli_json(bus, "domifstat", "flvm1", "vnmfl-a")[0]["ifindex"] != old_ifindex, 10,
             "the probe on the recreated vnmfl-a")
    udp_burst(10)
    settle()
    after = cli_json(bus, "domifstat", "flvm1", "vnmfl-a")[0]
    k = json.loads(sh("ip", "-j", "-s", "link", "show", "vnmfl-a").stdout)[0]["stats64"]
    t.check(sorted(our_tcx("vnmfl-a")) == [("egress", "vnm_tc_to_vm"), ("ingress", "vnm_tc_from_vm")]
            and after["ifindex"] == kernel_ifindex("vnmfl-a") != old_ifindex,
            "vnmfl-a recreated (new ifindex): still flvm1's, its probe on the new device, once",
            f"{old_ifindex} -> {after['ifindex']} {tcx_progs('vnmfl-a')}")
    # The counters are the last interval's; a neighbour solicitation may come after.
    t.check(k["rx"]["packets"] - 3 <= after["tx_packets"] <= k["rx"]["packets"] < before["tx_packets"]
            and k["rx"]["packets"] - 3 <= after["probe_tx_packets"] <= k["rx"]["packets"] and after["tx_pps"] < 1000
            and after["rx_mbps"] < 10,
            "its counters start with the new device (kernel's, not the old ones), and no rate spike",
            f"before {before['tx_packets']} after {after['tx_packets']} kernel {k['rx']['packets']} "
            f"probe {after['probe_tx_packets']} pps {after['tx_pps']} mbps {after['rx_mbps']}")


@t.case("stop removes exactly ours")
def _():
    need_daemon()
    # --- stop removes exactly ours -------------------------------------------------
    daemon.stop()
    t.check(our_tcx("vnmfl-a") == [] and our_tcx("vnmfl-b") == [], "after stop no virtnetmon tcx link is left")
    t.check(tcx_progs("vnmfl-b") == [("ingress", "foreign_pass")], "the foreign tcx program on vnmfl-b stays",
            str(tcx_progs("vnmfl-b")))
    foreign = sh("tc", "filter", "show", "dev", "vnmfl-b", "ingress").stdout
    t.check("foreign_pass" in foreign and has_clsact("vnmfl-b"),
            "the foreign filter and its clsact on vnmfl-b are untouched", foreign)


@t.case("a killed daemon's tcx links die with it")
def _():
    daemon.stop()  # this case starts its own
    # --- killed daemon: tcx links die with it --------------------------------------
    start_daemon(*DAEMON_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach")
    os.kill(daemon.proc.pid, signal.SIGKILL)
    daemon.proc.wait()
    t.check(our_tcx("vnmfl-a") == [], "a killed daemon's tcx links are gone with it (the kernel owns them)")


@t.case("the tc clsact fallback: filters, the qdisc, and crash recovery")
def _():
    daemon.stop()  # this case starts its own
    # --- the tc clsact fallback: filters, the qdisc, and crash recovery -------------
    CLSACT_ARGS = DAEMON_ARGS + ("--probe-attach", "tc-clsact")
    start_daemon(*CLSACT_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach as clsact filters")
    t.check(sorted(our_filters("vnmfl-a")) == [("egress", "vnm_tc_to_vm"), ("ingress", "vnm_tc_from_vm")]
            and our_tcx("vnmfl-a") == [], "with --probe-attach tc-clsact, tc shows the probe as filters",
            str(our_filters("vnmfl-a")))
    t.check(probes()["vnmfl-a"]["program"] == "tc-clsact", "status names the fallback", str(probes()["vnmfl-a"]))
    os.kill(daemon.proc.pid, signal.SIGKILL)
    daemon.proc.wait()
    t.check(len(our_filters("vnmfl-a")) == 2, "a killed daemon leaves its clsact filters behind (as expected)")
    start_daemon(*CLSACT_ARGS)
    wait_for(lambda: probes().get("vnmfl-a", {}).get("attached"), 10, "attach after restart")
    t.check("stale" in daemon.output() and len(our_filters("vnmfl-a")) == 2,
            "the restart removed the stale hooks and attached once", daemon.output()[-800:])
    sh("ip", "link", "del", "vnmfl-b")
    wait_for(lambda: not probes().get("vnmfl-b", {}).get("attached", True), 10, "vnmfl-b to lose its probe")
    t.check("not present" in probes()["vnmfl-b"]["reason"], "a vanished device is reported with why",
            str(probes()["vnmfl-b"]))
    daemon.stop()
    t.check(our_filters("vnmfl-a") == [] and not has_clsact("vnmfl-a"),
            "clean after the restarted daemon stops: no filter, and the clsact qdisc it created is gone")


@t.case("an unknown --probe-attach mode")
def _():
    r = subprocess.run([os.path.join(build_dir(), "src", "virtnetmond"), "--probe-attach", "xdp"],
                       text=True, capture_output=True)
    t.check(r.returncode == 2 and "xdp" in r.stderr, "an unknown --probe-attach mode is refused, named", r.stderr)


t.done()
