#!/usr/bin/env python3
"""Integration: IPFIX export (--ipfix-collector) to real collectors.

A "VM" ixvm1 (libvirt test driver) is a namespace behind veth vnmix-v1 on a
bridge; its peer is the namespace vnmix-peer. The VM sends UDP datagrams and
makes a TCP connection of known sizes each way. Ground truth: the sizes the
test sends, and `virtnetmon flows --json` for the same flows. Collectors:
Debian's nfcapd (UDP) with nfdump reading what it stored, tshark decoding a
capture of the messages on lo, and for TCP a small collector in this script
that parses the stream (nfcapd takes UDP only). A collector that is down
(UDP: ICMP port unreachable; TCP: connection refused), or that closes the
connection, must not stall the daemon, and what could not be sent is
counted.

The namespaces, the bus and the first daemon (UDP) are the shared setup;
the TCP cases replace the daemon.
"""
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, cli, cli_json, free_port, make_link,  # noqa: E402
                     netns_on_bridge, on_cleanup, pin_dir, require_root, sh, shared_cleanups, skip,
                     stop_pid, wait_for, write_test_node)

require_root()
for tool in ("nfcapd", "nfdump", "tshark"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (Debian packages nfdump, tshark)")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-ipfix-")
on_cleanup(shutil.rmtree, tmp, True)
VM, UUID = "ixvm1", "5b0c9a4e-77d1-4f3a-9d0e-0123456789ab"
VM_IP, PEER_IP = "10.219.0.1", "10.219.0.2"
UDP_PORT, TCP_PORT = 5006, 5007
N, SIZE, REPLY_SIZE = 40, 700, 90     # UDP: N datagrams of SIZE, each answered with REPLY_SIZE
SEND, REPLY = 200000, 50000           # TCP: bytes each way

PEER = r"""
import socket, sys, threading
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", %d)); s.listen(8)
    while True:
        c, _ = s.accept()
        while True:
            b = c.recv(65536)
            if not b: break
        c.sendall(b"r" * %d); c.close()
threading.Thread(target=tcp, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", %d))
while True:
    b, a = u.recvfrom(65536)
    u.sendto(b"a" * %d, a)
""" % (TCP_PORT, REPLY, UDP_PORT, REPLY_SIZE)

UDP_CLIENT = r"""
import socket, sys, time
port, n, size = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", port)); u.settimeout(2)
for i in range(n):
    u.sendto(b"u" * size, ("%s", %d)); u.recv(65536)
""" % (PEER_IP, UDP_PORT)

TCP_CLIENT = r"""
import socket, sys
s = socket.socket(); s.bind(("0.0.0.0", int(sys.argv[1]))); s.connect(("%s", %d))
s.sendall(b"q" * %d); s.shutdown(socket.SHUT_WR)
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n)
""" % (PEER_IP, TCP_PORT, SEND)


def in_vm(script, *args):
    return sh("ip", "netns", "exec", "vnmix-vm", sys.executable, "-c", script, *map(str, args),
              timeout=60)


def udp_flow(local_port):
    in_vm(UDP_CLIENT, local_port, N, SIZE)


def tcp_flow(local_port):
    r = in_vm(TCP_CLIENT, local_port)
    assert int(r.stdout) == REPLY, r.stdout


def flow_rows():
    return cli_json(bus, "flows", VM, "--by", "flow")


def flow_row(proto, local_port):
    for r in flow_rows():
        if r["proto"] == proto and r["local_port"] == local_port and r["remote_ip"] == PEER_IP:
            return r
    return None


def ipfix_status():
    return cli_json(bus, "status")["ipfix"]


class Nfcapd:
    """nfcapd in the foreground on 127.0.0.1:port, storing into a fresh directory."""

    def __init__(self, port):
        self.dir = tempfile.mkdtemp(dir=tmp)
        self.log = open(os.path.join(self.dir, "..", f"nfcapd-{port}.log"), "w+")
        self.proc = subprocess.Popen(["nfcapd", "-w", self.dir, "-b", "127.0.0.1", "-p", str(port),
                                      "-t", "3600"], stdout=self.log, stderr=subprocess.STDOUT)
        on_cleanup(self.stop)
        time.sleep(0.5)

    def stop(self):
        if self.proc.poll() is None:
            stop_pid(self.proc.pid)
            self.proc.wait(5)

    def records(self):
        """Stops nfcapd (it writes its file then) and reads every record:
        dicts with sa, da, sp, dp, pr, ipkt, ibyt, opkt, obyt."""
        self.stop()
        out = sh("nfdump", "-R", self.dir, "-o", "csv", "-N").stdout
        rows = [line.split(",") for line in out.splitlines() if line.strip()]
        if not rows:
            return []
        # nfdump's csv: a header line, then the records, then a summary.
        header = rows[0]
        recs = []
        for row in rows[1:]:
            if len(row) != len(header) or not row[0][:1].isdigit():
                continue
            recs.append(dict(zip(header, row)))
        return recs


def sum_nfdump(recs, proto, sp):
    """In and out packets and bytes of the records of the flow from the VM's
    port @sp (the VM opened them: it is the source), summed over the
    records an active timeout split it into."""
    got = {"ipkt": 0, "ibyt": 0, "opkt": 0, "obyt": 0, "records": 0}
    for r in recs:
        if r["sa"] == VM_IP and r["da"] == PEER_IP and int(r["sp"]) == sp and r["pr"] == proto.upper():
            for k in ("ipkt", "ibyt", "opkt", "obyt"):
                got[k] += int(r[k])
            got["records"] += 1
    return got


with t.setup("a VM namespace and its peer, nfcapd and tshark on lo, the daemon exporting over UDP"):
    make_link("vnmix-br0", "type", "bridge")
    sh("sysctl", "-qw", "net.ipv6.conf.vnmix-br0.disable_ipv6=1")
    sh("ip", "link", "set", "vnmix-br0", "up")
    netns_on_bridge("vnmix-br0", "vnmix-v1", "vnmix-vm", VM_IP, quiet=True)
    netns_on_bridge("vnmix-br0", "vnmix-p1", "vnmix-peer", PEER_IP, quiet=True)
    peer = subprocess.Popen(["ip", "netns", "exec", "vnmix-peer", sys.executable, "-c", PEER])
    on_cleanup(lambda: (peer.poll() is None and stop_pid(peer.pid)))
    node_xml = write_test_node(os.path.join(tmp, "node.xml"),
                               [(VM, UUID, [("52:54:00:19:00:01", "vnmix-br0", "vnmix-v1")])])
    COLLECTOR = free_port()
    nfcapd = Nfcapd(COLLECTOR)
    pcap = os.path.join(tmp, "ipfix.pcap")
    tshark = subprocess.Popen(["tshark", "-q", "-i", "lo", "-f", f"udp port {COLLECTOR}", "-w", pcap],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    on_cleanup(lambda: (tshark.poll() is None and stop_pid(tshark.pid)))
    # tshark says "Capturing on 'Loopback: lo'" once it captures.
    wait_for(lambda: "Capturing" in (tshark.stderr.readline() or ""), 20, "tshark to capture")
    METRICS = free_port()
    bus = Bus()
    DAEMON_ARGS = ("--connect", f"test://{node_xml}", "--interval", "1", "--flow-idle-timeout", "3",
                   "--metrics-listen", f"127.0.0.1:{METRICS}")
    with shared_cleanups():
        daemon = Daemon(bus, *DAEMON_ARGS, "--ipfix-collector", f"127.0.0.1:{COLLECTOR},udp",
                        "--ipfix-active-timeout", "2", "--ipfix-observation-domain", "77")
    wait_for(lambda: any(p["iface"] == "vnmix-v1" and p["attached"]
                         for p in cli_json(bus, "status")["probes"]), 10, "the probe on vnmix-v1")

    # Traffic: a UDP flow and a TCP connection; the UDP flow goes on past
    # the active timeout (two halves, 3 s apart), so it is exported in parts.
    udp_flow(41001)
    tcp_flow(41002)
    time.sleep(2.5)
    udp_flow(41001)
    # The flows end (idle 3 s) and go out a last time.
    wait_for(lambda: all(r["active"] == 0 for r in flow_rows()
                         if r["remote_ip"] == PEER_IP), 20, "the flows to end")
    time.sleep(2.5)
    truth = {("udp", 41001): flow_row("udp", 41001), ("tcp", 41002): flow_row("tcp", 41002)}
    status = ipfix_status()
    nf = nfcapd.records()
    stop_pid(tshark.pid)


@t.case("virtnetmon flows counts what the test sent")
def _():
    u = truth[("udp", 41001)]
    t.check(u and (u["tx_packets"], u["tx_bytes"], u["rx_packets"], u["rx_bytes"])
            == (2 * N, 2 * N * SIZE, 2 * N, 2 * N * REPLY_SIZE), "UDP: packets and payload bytes each way", u)
    c = truth[("tcp", 41002)]
    t.check(c and (c["tx_bytes"], c["rx_bytes"]) == (SEND, REPLY), "TCP: payload bytes each way", c)


@t.case("nfdump shows the flows with the counts of virtnetmon flows")
def _():
    t.check(len(nf) > 0, "nfcapd stored records", nfcapd.log.name)
    for (proto, port), row in truth.items():
        got = sum_nfdump(nf, proto, port)
        want = {"ipkt": row["tx_packets"], "ibyt": row["tx_bytes"], "opkt": row["rx_packets"],
                "obyt": row["rx_bytes"]}
        t.check(all(got[k] == want[k] for k in want),
                f"{proto} from port {port}: in/out packets and bytes equal virtnetmon flows' tx/rx", (got, want))
    t.check(sum_nfdump(nf, "udp", 41001)["records"] >= 2,
            "the long UDP flow was exported in parts (active timeout)", sum_nfdump(nf, "udp", 41001))


@t.case("tshark decodes the templates and the VM identity of the records")
def _():
    out = sh("tshark", "-r", pcap, "-d", f"udp.port=={COLLECTOR},cflow", "-T", "fields", "-E", "separator=|",
             "-e", "cflow.od_id", "-e", "cflow.template_id", "-e", "cflow.virtual_station_name",
             "-e", "cflow.virtual_station_uuid", "-e", "cflow.virtual_station_interface_name").stdout
    lines = [line.split("|") for line in out.splitlines()]
    t.check(any("256" in line[1] and "257" in line[1] for line in lines),
            "a message carries the templates 256 (IPv4) and 257 (IPv6)", out[:2000])
    t.check(all(line[0].split(",")[0] == "77" for line in lines if line[0]),
            "every message is of Observation Domain 77", out[:2000])
    names = [n for line in lines for n in line[2].split(",") if n]
    uuids = {u for line in lines for u in line[3].split(",") if u}
    ifaces = {i for line in lines for i in line[4].split(",") if i}
    t.check(names and set(names) == {VM}, "every record names the VM (virtualStationName)", names)
    t.check(uuids == {UUID.replace("-", "")}, "every record carries its uuid (virtualStationUUID)", uuids)
    t.check(ifaces == {"vnmix-v1"}, "and its device (virtualStationInterfaceName)", ifaces)
    verbose = sh("tshark", "-r", pcap, "-d", f"udp.port=={COLLECTOR},cflow", "-V").stdout
    t.check("Reverse Type 1 BYTES" in verbose and "Reverse Type 2 PKTS" in verbose
            and "IPFIX Reverse Information Element Private Enterprise (29305)" in verbose,
            "the reverse octets and packets are RFC 5103 reverse elements", verbose[:3000])


@t.case("status and /metrics count what was exported")
def _():
    t.check(status["enabled"] and status["transport"] == "udp" and status["connected"]
            and status["observation_domain"] == 77 and status["active_timeout_seconds"] == 2
            and status["idle_timeout_seconds"] == 3, "status --json: the exporter's settings", status)
    t.check(status["records_sent"] >= len(nf) and status["records_dropped"] == 0
            and status["template_sends"] >= 1, "status --json: records sent, none dropped", (status, len(nf)))
    body = urllib.request.urlopen(f"http://127.0.0.1:{METRICS}/metrics", timeout=10).read().decode()
    sent = [line for line in body.splitlines() if line.startswith("virtnetmon_ipfix_records_total{")]
    now = ipfix_status()
    t.check(len(sent) == 1 and f'collector="127.0.0.1:{COLLECTOR},udp"' in sent[0]
            and int(sent[0].split()[-1]) == now["records_sent"], "/metrics: virtnetmon_ipfix_records_total", sent)
    text = cli(bus, "status").stdout
    t.check(f"127.0.0.1:{COLLECTOR},udp over udp" in text, "virtnetmon status says where flows go", text)


@t.case("a UDP collector that is down: the daemon answers, the records not sent are counted")
def _():
    before = ipfix_status()
    # nfcapd is stopped: nothing listens, the kernel answers ICMP port unreachable.
    for i in range(4):
        udp_flow(41100 + i)
        time.sleep(0.5)
    start = time.monotonic()
    wait_for(lambda: ipfix_status()["records_dropped"] > before["records_dropped"], 30,
             "records counted as dropped")
    t.check(time.monotonic() - start < 30, "the daemon kept answering on D-Bus")
    after = ipfix_status()
    t.check("refused" in after["last_error"].lower(), "last_error says the collector refused",
            after["last_error"])


# --- TCP --------------------------------------------------------------------------------

class TcpCollector:
    """Accepts one IPFIX session at a time on 127.0.0.1:port and parses
    its messages with the templates it was sent."""

    def __init__(self, port):
        self.srv = socket.socket()
        self.srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.srv.bind(("127.0.0.1", port))
        self.srv.listen(4)
        self.sessions = []        # per session: list of (sequence, [set ids], [records])
        self.conn = None
        self.lock = threading.Lock()
        threading.Thread(target=self.run, daemon=True).start()
        on_cleanup(self.close)

    def run(self):
        while True:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.conn = c
            templates, messages = {}, []
            with self.lock:
                self.sessions.append(messages)
            buf = b""
            while True:
                try:
                    b = c.recv(65536)
                except OSError:
                    break
                if not b:
                    break
                buf += b
                while len(buf) >= 16:
                    ver, length, _, seq, _ = struct.unpack("!HHIII", buf[:16])
                    if len(buf) < length:
                        break
                    msg, buf = buf[:length], buf[length:]
                    with self.lock:
                        messages.append(parse_message(msg, templates))

    def drop_session(self):
        c, self.conn = self.conn, None
        if c:
            c.shutdown(socket.SHUT_RDWR)
            c.close()

    def close(self):
        self.drop_session()
        self.srv.close()


def parse_message(msg, templates):
    """(sequence, set ids, records as dicts of (pen, id) -> value)."""
    seq = struct.unpack("!I", msg[8:12])[0]
    sets, records, off = [], [], 16
    while off < len(msg):
        sid, slen = struct.unpack("!HH", msg[off:off + 4])
        sets.append(sid)
        body, off = msg[off + 4:off + slen], off + slen
        if sid == 2:
            p = 0
            while p + 4 <= len(body):
                tid, count = struct.unpack("!HH", body[p:p + 4])
                p += 4
                fields = []
                for _ in range(count):
                    fid, flen = struct.unpack("!HH", body[p:p + 4])
                    p += 4
                    pen = 0
                    if fid & 0x8000:
                        pen = struct.unpack("!I", body[p:p + 4])[0]
                        p += 4
                    fields.append((pen, fid & 0x7fff, flen))
                templates[tid] = fields
        elif sid in templates:
            p = 0
            while p < len(body):
                rec = {}
                for pen, fid, flen in templates[sid]:
                    if flen == 65535:       # RFC 7011 §7: 255 means two octets of length follow
                        flen = body[p]
                        p += 1
                        if flen == 255:
                            flen = struct.unpack("!H", body[p:p + 2])[0]
                            p += 2
                    rec[(pen, fid)] = body[p:p + flen]
                    p += flen
                records.append(rec)
    return seq, sets, records


def num(rec, fid, pen=0):
    return int.from_bytes(rec[(pen, fid)], "big")


def tcp_records(collector, session=None):
    with collector.lock:
        sessions = collector.sessions if session is None else [collector.sessions[session]]
        return [r for s in sessions for (_, _, recs) in s for r in recs]


with t.setup("the daemon exporting over TCP to a collector that is not there yet"):
    stop_pid(daemon.proc.pid)
    TCP_COLLECTOR = free_port()
    with shared_cleanups():
        daemon = Daemon(bus, *DAEMON_ARGS, "--ipfix-collector", f"127.0.0.1:{TCP_COLLECTOR},tcp",
                        "--ipfix-active-timeout", "60")
    wait_for(lambda: any(p["iface"] == "vnmix-v1" and p["attached"]
                         for p in cli_json(bus, "status")["probes"]), 10, "the probe on vnmix-v1")


@t.case("TCP: connection refused; the daemon answers and counts what it could not send")
def _():
    wait_for(lambda: "refused" in ipfix_status()["last_error"].lower(), 15, "the refused connection")
    udp_flow(41200)
    wait_for(lambda: ipfix_status()["records_dropped"] >= 1, 20, "the flow's record counted as dropped")
    s = ipfix_status()
    t.check(not s["connected"] and s["records_sent"] == 0 and s["connections"] == 0,
            "not connected, nothing sent", s)


@t.case("TCP: the daemon connects once the collector listens, templates first, exact counts")
def _():
    global collector
    with shared_cleanups():
        collector = TcpCollector(TCP_COLLECTOR)
    wait_for(lambda: ipfix_status()["connected"], 40, "the daemon to connect (backoff)")
    udp_flow(41201)
    wait_for(lambda: any(num(r, 7) == 41201 for r in tcp_records(collector)), 20, "the flow's record")
    with collector.lock:
        first = collector.sessions[0][0]
    t.check(first[0] == 0 and first[1][0] == 2, "the session's first message: sequence 0, templates first",
            first[:2])
    rec = [r for r in tcp_records(collector) if num(r, 7) == 41201]
    got = (sum(num(r, 2) for r in rec), sum(num(r, 1) for r in rec),
           sum(num(r, 2, 29305) for r in rec), sum(num(r, 1, 29305) for r in rec))
    row = flow_row("udp", 41201)
    t.check(got == (N, N * SIZE, N, N * REPLY_SIZE) == (row["tx_packets"], row["tx_bytes"],
                                                         row["rx_packets"], row["rx_bytes"]),
            "packets and octets each way equal what was sent and virtnetmon flows", (got, row))
    t.check(all(r[(0, 350)] == VM.encode() and num(r, 136) == 1 for r in rec),
            "the record names the VM and ended on the idle timeout", rec)


@t.case("TCP: the collector drops the session; the daemon reconnects and sends the templates again")
def _():
    collector.drop_session()
    wait_for(lambda: len(collector.sessions) >= 2 and collector.sessions[1], 40, "a second session")
    with collector.lock:
        first = collector.sessions[1][0]
    t.check(first[0] == 0 and first[1][0] == 2, "the new session starts at sequence 0 with the templates",
            first[:2])
    udp_flow(41202)
    wait_for(lambda: any(num(r, 7) == 41202 for r in tcp_records(collector, 1)), 20,
             "the next flow's record in the new session")
    s = ipfix_status()
    t.check(s["connected"] and s["connections"] == 2, "status: connected, two sessions", s)
    t.check(cli(bus, "status", check=False).returncode == 0, "the daemon answers on D-Bus")


@t.case("TCP: a collector that says nothing keeps its session past the connect timeout (10 s)")
def _():
    before = ipfix_status()
    with collector.lock:
        sessions = len(collector.sessions)
    time.sleep(13)
    s = ipfix_status()
    with collector.lock:
        now = len(collector.sessions)
    t.check(s["connected"] and s["connections"] == before["connections"] and now == sessions,
            "the session is still up, no new connection", (before, s, sessions, now))


def records_of(port):
    return [r for r in tcp_records(collector) if num(r, 7) == port]


def sums(recs):
    return (sum(num(r, 2) for r in recs), sum(num(r, 1) for r in recs),
            sum(num(r, 2, 29305) for r in recs), sum(num(r, 1, 29305) for r in recs))


with t.setup("the daemon exporting over TCP with pinned maps, restarted while a flow goes on"):
    daemon.stop()
    PINS = pin_dir()
    # A long idle timeout: the flow goes on across the restart.
    RESTART_ARGS = ("--connect", f"test://{node_xml}", "--interval", "1", "--flow-idle-timeout", "60",
                    "--pin-dir", PINS, "--ipfix-collector", f"127.0.0.1:{TCP_COLLECTOR},tcp",
                    "--ipfix-active-timeout", "2")

    def start_restart_daemon(name):
        with shared_cleanups():
            d = Daemon(bus, *RESTART_ARGS, name=name)
        wait_for(lambda: any(p["iface"] == "vnmix-v1" and p["attached"]
                             for p in cli_json(bus, "status")["probes"]), 10, "the probe on vnmix-v1")
        wait_for(lambda: ipfix_status()["connected"], 20, "the daemon to connect")
        return d

    daemon = start_restart_daemon("virtnetmond-before")
    # The first part goes out on the active timeout.
    udp_flow(41300)
    wait_for(lambda: sums(records_of(41300))[0] >= N, 20, "the first part's record")
    # The second part has not gone out when the daemon stops: the final record carries it.
    udp_flow(41300)
    daemon.stop()
    first_log = daemon.output()
    daemon = start_restart_daemon("virtnetmond-after")
    adopted = cli_json(bus, "status")["flow_table"]["pinned"]
    udp_flow(41300)
    try:
        wait_for(lambda: sums(records_of(41300))[0] >= 3 * N, 20, "the third part's record")
    except AssertionError:
        print("records:", [(num(r, 2), num(r, 136)) for r in records_of(41300)], "flows:",
              flow_row("udp", 41300), "\nthe first daemon:\n", first_log, "\nthe second:\n",
              daemon.output(), file=sys.stderr)
        raise
    time.sleep(3)        # a record counted twice would come now
    restart_row = flow_row("udp", 41300)
    restart_recs = records_of(41300)


@t.case("TCP, restart with the adopted flow table: every packet is exported once")
def _():
    t.check(adopted == "adopted", "the second daemon adopted the flow table", adopted)
    t.check(restart_row and (restart_row["tx_packets"], restart_row["rx_packets"]) == (3 * N, 3 * N),
            "virtnetmon flows counts the three parts", restart_row)
    t.check(sums(restart_recs) == (3 * N, 3 * N * SIZE, 3 * N, 3 * N * REPLY_SIZE),
            "the records sum to what was sent, each packet once",
            (sums(restart_recs), [(num(r, 2), num(r, 136)) for r in restart_recs]))
    t.check(any(num(r, 136) == 4 for r in restart_recs),
            "the stopping daemon sent the active flow with flowEndReason forced end (4)",
            [num(r, 136) for r in restart_recs])


t.done()
