#!/usr/bin/env python3
"""The Cockpit page in a real browser, all on 127.0.0.1.

cockpit-ws --no-tls --local-session=cockpit-bridge serves the Cockpit shell
with our package (the build tree's src/cockpit, found through XDG_DATA_DIRS);
the bridge talks to a dbus-daemon configured as a system bus with our real
policy; virtnetmond serves it, with two "VMs" of a libvirt test-driver host
(namespaces behind veth on a bridge) and a peer namespace; headless Debian
chromium, driven by playwright-core, looks at the page.

Ground truth: the D-Bus reply (busctl, and the CLI's --json, which print what
the daemon answered), the kernel's counters (`ip -j -s link`), the bytes and
connections this test made, and nftables' own drop counter. Screenshots go to
the build tree's meson-logs/cockpit-screenshots.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
sys.path.insert(0, HERE)
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, free_port,  # noqa: E402
                     kernel_link, make_link, netns_on_bridge, on_cleanup, require_root, sh,
                     skip, tcp_clients, tcp_server, wait_for, write_test_node)

require_root()
WS = "/usr/lib/cockpit/cockpit-ws"
for path, pkg in ((WS, "cockpit-ws"), ("/usr/bin/cockpit-bridge", "cockpit-bridge"),
                  ("/usr/share/cockpit/shell/manifest.json", "cockpit-system"),
                  ("/usr/bin/chromium", "chromium")):
    if not os.path.exists(path):
        skip(f"needs {path} (Debian package {pkg})")
if shutil.which("node") is None or not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
    skip("needs node and playwright-core (npm ci --prefix tests/cockpit)")
PKG = os.path.join(build_dir(), "src", "cockpit")
if not os.path.isfile(os.path.join(PKG, "patternfly.css")):
    skip("the Cockpit page was not built (PatternFly missing: npm ci --prefix src/cockpit)")

from browser import Browser  # noqa: E402

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-cockpit-")
on_cleanup(shutil.rmtree, tmp, True)
SHOTS = os.path.join(build_dir(), "meson-logs", "cockpit-screenshots")
shutil.rmtree(SHOTS, ignore_errors=True)
os.makedirs(SHOTS)
FRAME = "/virtnetmon/index.html"

# --- two "VMs" and a peer -------------------------------------------------------
make_link("vnmck-br0", "type", "bridge")
sh("sysctl", "-qw", "net.ipv6.conf.vnmck-br0.disable_ipv6=1")
sh("ip", "link", "set", "vnmck-br0", "up")
ns = {dev: netns_on_bridge("vnmck-br0", dev, name, addr, quiet=True)
      for dev, name, addr in (("vnmck-v1", "vnmck-vm1", "10.218.0.11"),
                              ("vnmck-v2", "vnmck-vm2", "10.218.0.12"),
                              ("vnmck-p1", "vnmck-peer", "10.218.0.2"))}
UUID1, UUID2 = "6a1e2f3c-0b4d-4c5e-8f70-1122334455c1", "6a1e2f3c-0b4d-4c5e-8f70-1122334455c2"
# The guests use the MACs of their domain XML, as real ones do (the drop
# probe knows a VM's packets by them).
for dev, mac in (("vnmck-v1", "52:54:00:18:00:01"), ("vnmck-v2", "52:54:00:18:00:02")):
    sh("ip", "link", "set", dev + "g", "address", mac, netns=ns[dev])
node_xml = write_test_node(os.path.join(tmp, "node.xml"), [
    ("ckvm1", UUID1, [("52:54:00:18:00:01", "vnmck-br0", "vnmck-v1")]),
    ("ckvm2", UUID2, [("52:54:00:18:00:02", "vnmck-br0", "vnmck-v2")])])

bus = Bus()
DAEMON_ARGS = ("--connect", f"test://{node_xml}", "--interval", "1", "--state-dir", os.path.join(tmp, "state"))
daemon = Daemon(bus, *DAEMON_ARGS)
OBJ1 = "/org/virtnetmon/Monitor1/domain/" + UUID1.replace("-", "_")
OBJ2 = "/org/virtnetmon/Monitor1/domain/" + UUID2.replace("-", "_")


def unwrap(x):
    """busctl --json=short: {"type", "data"} around every variant."""
    if isinstance(x, dict):
        if set(x) == {"type", "data"}:
            return unwrap(x["data"])
        return {k: unwrap(v) for k, v in x.items()}
    if isinstance(x, list):
        return [unwrap(v) for v in x]
    return x


def dbus_stats(obj):
    """The Domain1.InterfaceStats property, keyed by iface: what the page follows."""
    r = sh("busctl", f"--address={bus.address}", "--json=short", "get-property",
           "org.virtnetmon.Monitor1", obj, "org.virtnetmon.Domain1", "InterfaceStats")
    return {row["iface"]: row for row in unwrap(json.loads(r.stdout))}


def dbus_call(method, sig="", *args):
    r = sh("busctl", f"--address={bus.address}", "--json=short", "call", "org.virtnetmon.Monitor1",
           "/org/virtnetmon/Monitor1", "org.virtnetmon.Monitor1", method, *([sig, *args] if sig else []))
    return unwrap(json.loads(r.stdout)["data"])


# --- Cockpit: cockpit-ws with a local session, our package on XDG_DATA_DIRS -----
share = os.path.join(tmp, "share")
os.makedirs(os.path.join(share, "cockpit"))
os.symlink(PKG, os.path.join(share, "cockpit", "virtnetmon"))
PORT = free_port()
URL = f"http://127.0.0.1:{PORT}"
ws_log = open(os.path.join(tmp, "cockpit-ws.log"), "w+")
# The bridge also opens a session bus: a private one, gone with the test
# (without it D-Bus autolaunches one that outlives the test).
SESSION_BUS = f"unix:path={os.path.join(tmp, 'session.sock')}"
session_bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address",
                                f"--address={SESSION_BUS}"], stdout=subprocess.PIPE, text=True)
on_cleanup(session_bus.wait, 10)
on_cleanup(session_bus.terminate)
session_bus.stdout.readline()  # listening
ws = subprocess.Popen([WS, "--no-tls", "--local-session=cockpit-bridge", "--address", "127.0.0.1",
                       "--port", str(PORT)], stdout=ws_log, stderr=subprocess.STDOUT,
                      # XDG_DATA_HOME: not root's own Cockpit packages (./run.sh links one).
                      env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address,
                               DBUS_SESSION_BUS_ADDRESS=SESSION_BUS,
                               XDG_DATA_DIRS=f"{share}:/usr/share", XDG_DATA_HOME=os.path.join(tmp, "home")))


def stop_ws():
    ws.terminate()
    ws.wait(10)


on_cleanup(stop_ws)
wait_for(lambda: sh("curl", "-sf", "-o", "/dev/null", f"{URL}/cockpit/@localhost/virtnetmon/manifest.json",
                    check=False).returncode == 0, 15, "cockpit-ws to serve the package")

# --- traffic with known amounts ---------------------------------------------------
K, SEND, REPLY = 3, 200000, 54321
server = tcp_server(ns["vnmck-p1"], "10.218.0.2", 7002, K, reply=REPLY)
wait_for(lambda: sum(p["iface"].startswith("vnmck-v") and p["attached"]
                     for p in cli_json(bus, "status")["probes"]) == 2, 10, "the flow probes on both VMs")
cli(bus, "latency", "ckvm1", "--on")
time.sleep(0.5)
tcp_clients(ns["vnmck-v1"], "10.218.0.2", 7002, K, SEND)
server.wait(20)
sh("ping", "-q", "-c", "20", "-i", "0.05", "10.218.0.2", netns=ns["vnmck-v1"])
# A service of ckvm1 (TCP 7100, one client: the peer), and a connect of
# ckvm1's that the peer refuses (nothing listens on 7101).
SVC_IN, SVC_OUT = 4000, 300
vm_server = tcp_server(ns["vnmck-v1"], "10.218.0.11", 7100, 1, reply=SVC_OUT)
wait_for(lambda: ":7100" in sh("ss", "-Hltn", netns=ns["vnmck-v1"]).stdout, 10, "ckvm1's server")
tcp_clients(ns["vnmck-p1"], "10.218.0.11", 7100, 1, SVC_IN)
vm_server.wait(20)
REFUSED = sh("python3", "-c", """
import socket
try:
    socket.create_connection(("10.218.0.2", 7101), timeout=5); print("connected")
except ConnectionRefusedError:
    print("refused")
""", netns=ns["vnmck-v1"]).stdout.strip()

# Drops: the bridge drops ckvm2's UDP to port 9999; nftables counts them too.
sh("nft", "-f", "-", input="""
table bridge vnmck {
  chain vm_forward {
    type filter hook forward priority 0;
    iifname "vnmck-v2" udp dport 9999 counter drop
  }
}
""")
on_cleanup(sh, "nft", "delete", "table", "bridge", "vnmck", check=False)
DROPPED = 7
sh("ip", "netns", "exec", ns["vnmck-v2"], "python3", "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range({DROPPED}): s.sendto(b"x" * 100, ("10.218.0.2", 9999))
""")

# A steady stream from ckvm1 while the rates are compared: ~300 datagrams/s.
stream = subprocess.Popen(["ip", "netns", "exec", ns["vnmck-v1"], "python3", "-c", """
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
next_t = time.monotonic()
while True:
    s.sendto(b"s" * 1200, ("10.218.0.2", 9000))
    next_t += 1 / 300
    time.sleep(max(0, next_t - time.monotonic()))
"""])
on_cleanup(stream.kill)

# --- the browser: the shell, our menu entry, the overview ------------------------
browser = Browser(shots=SHOTS)
on_cleanup(browser.close)
browser.cmd("goto", url=f"{URL}/virtnetmon")
nav = browser.wait("[...document.querySelectorAll('nav a, .pf-c-nav a')].map(a => a.textContent.trim())"
                   ".filter(x => x === 'VM network').length", timeout=20)
t.check(nav == 1, "the Cockpit shell lists the page in its menu as 'VM network' (manifest.json)")

# Each row: {column: {value, text}}, plus "row": the row's data attributes.
ROWS = ("[...document.querySelectorAll('#vnm-overview-table tbody tr')].map(tr => Object.assign("
        "Object.fromEntries([...tr.cells].map(td => [td.dataset.col, {value: td.dataset.value, "
        "text: td.textContent}])), {row: Object.assign({}, tr.dataset)}))")
rows = browser.wait(f"(() => {{ const r = {ROWS}; return r.length >= 2 ? r : null }})()", frame=FRAME, timeout=20)
by_iface = {r["row"]["iface"]: r for r in rows}
t.check(set(by_iface) == {"vnmck-v1", "vnmck-v2"} and by_iface["vnmck-v1"]["row"]["vm"] == "ckvm1"
        and by_iface["vnmck-v2"]["row"]["vm"] == "ckvm2",
        "overview: every interface of the two test VMs, with its VM", str(rows)[:800])

# Rates: the page shows what the D-Bus property said, read just before or after.
RATE_KEYS = ("rx_mbps", "tx_mbps", "rx_pps", "tx_pps")
time.sleep(2.5)
matched, detail = False, ""
for _ in range(5):
    before = dbus_stats(OBJ1)["vnmck-v1"]
    page = {r["row"]["iface"]: r for r in browser.eval(ROWS, frame=FRAME)}["vnmck-v1"]
    after = dbus_stats(OBJ1)["vnmck-v1"]
    shown = {k: float(page[k]["value"]) for k in RATE_KEYS}
    if any(all(abs(shown[k] - ref[k]) <= 1e-9 * max(1, ref[k]) for k in RATE_KEYS) for ref in (before, after)):
        matched = True
        break
    detail = f"page {shown}; D-Bus before {[before[k] for k in RATE_KEYS]} after {[after[k] for k in RATE_KEYS]}"
    time.sleep(0.3)
t.check(matched and shown["tx_mbps"] > 2 and 250 < shown["tx_pps"] < 350,
        "overview rates of ckvm1 equal the D-Bus reply (tx ~300 pkt/s, guest's view: sent by the VM)",
        detail or str(shown))
t.check(page["tx_mbps"]["text"] == f"{shown['tx_mbps']:,.2f} Mbit/s" and page["tx_pps"]["text"] == f"{shown['tx_pps']:,.0f}",
        "the rate is shown in Mbit/s with two decimals, packets per second as an integer",
        f"{page['tx_mbps']} {page['tx_pps']}")

n0 = int(browser.eval("document.querySelector('#vnm-overview-table').dataset.updated", frame=FRAME))
time.sleep(3.2)
n1 = int(browser.eval("document.querySelector('#vnm-overview-table').dataset.updated", frame=FRAME))
t.check(n1 - n0 >= 2, "overview updates live each interval (PropertiesChanged, no reload)", f"{n0} -> {n1}")

# Sorting and filtering.
browser.cmd("click", selector="th[data-col=tx_mbps] button", frame=FRAME)   # selected already: ascending now
order = [r["row"]["iface"] for r in browser.eval(ROWS, frame=FRAME)]
browser.cmd("click", selector="th[data-col=tx_mbps] button", frame=FRAME)
order2 = [r["row"]["iface"] for r in browser.eval(ROWS, frame=FRAME)]
t.check(order == ["vnmck-v2", "vnmck-v1"] and order2 == ["vnmck-v1", "vnmck-v2"],
        "clicking a column header sorts by it, again reverses", f"{order} {order2}")
browser.cmd("click", selector="th[data-col=iface] button", frame=FRAME)
order3 = [r["row"]["iface"] for r in browser.eval(ROWS, frame=FRAME)]
browser.cmd("fill", selector="#vnm-filter", text="CKVM2", frame=FRAME)
filtered = [r["row"]["iface"] for r in browser.eval(ROWS, frame=FRAME)]
count = browser.eval("document.querySelector('#vnm-count').textContent", frame=FRAME)
browser.cmd("fill", selector="#vnm-filter", text="", frame=FRAME)
t.check(order3 == ["vnmck-v1", "vnmck-v2"] and filtered == ["vnmck-v2"] and count == "1 of 2 interfaces",
        "text columns sort A-Z first; the filter keeps matching VM names, case-insensitively",
        f"{order3} {filtered} {count!r}")
browser.cmd("screenshot", path=os.path.join(SHOTS, "overview.png"))

stream.kill()
stream.wait()
time.sleep(2.5)     # two samples after the last packet: rates 0, counters still

# --- one VM --------------------------------------------------------------------------
browser.cmd("click", selector="#vnm-overview-table tr[data-iface=vnmck-v1] a.vnm-vm-link", frame=FRAME)
title = browser.wait("document.querySelector('#vnm-vm-title') && document.querySelector('#vnm-vm-title').textContent",
                     frame=FRAME)
top_url = browser.eval("location.href")
t.check(title == "ckvm1" and top_url.endswith("/virtnetmon#/vm/ckvm1"),
        "the VM's name links to its page; the shell's URL follows (#/vm/NAME)", f"{title!r} {top_url}")

IFACE_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-ifaces-table")
COUNTERS = ("rx_bytes", "rx_packets", "rx_errors", "rx_drops", "tx_bytes", "tx_packets", "tx_errors", "tx_drops")
k = kernel_link("vnmck-v1")
kernel_guest = {"rx_bytes": k["tx_bytes"], "rx_packets": k["tx_packets"], "rx_errors": k["tx_errors"],
                "rx_drops": k["tx_dropped"], "tx_bytes": k["rx_bytes"], "tx_packets": k["rx_packets"],
                "tx_errors": k["rx_errors"], "tx_drops": k["rx_dropped"]}


def page_counters():
    r = browser.eval(IFACE_ROWS, frame=FRAME)
    return {c: int(r[0][c]["value"]) for c in COUNTERS} if len(r) == 1 and r[0][COUNTERS[0]]["value"] else None


try:
    browser.wait(f"(() => {{ const r = {IFACE_ROWS}; return r.length === 1 && r[0].rx_bytes.value === "
                 f"'{kernel_guest['rx_bytes']}' }})()", frame=FRAME, timeout=10)
except Exception:
    pass
shown_c = page_counters()
dbus_c = {c: dbus_stats(OBJ1)["vnmck-v1"][c] for c in COUNTERS}
t.check(shown_c == dbus_c == kernel_guest and shown_c["tx_bytes"] > K * SEND,
        "VM page: the interface's counters equal the D-Bus reply and `ip -s link` (guest's view)",
        f"page {shown_c}\nD-Bus {dbus_c}\nkernel {kernel_guest}")

chart = browser.wait("(() => { const s = document.querySelector('#vnm-chart svg');"
                     " return s && +s.dataset.points >= 10 && {points: +s.dataset.points,"
                     " last_tx: +s.dataset.lastTx, tx_line: s.querySelector('polyline.vnm-tx').getAttribute('points')} })()",
                     frame=FRAME, timeout=10)
hist_tx = dbus_call("GetHistory", "ssu", "ckvm1", "tx_mbps", "300")
peak_dbus = max(p[2] for p in hist_tx[1])
t.check(chart["points"] >= 10 and len(chart["tx_line"].split()) == chart["points"] and chart["last_tx"] == 0
        and peak_dbus > 2,
        "traffic chart: history from GetHistory plus live points; the stream's peak is in the history, now 0",
        f"{ {k: v for k, v in chart.items() if k != 'tx_line'} } D-Bus peak {peak_dbus}")

FLOW_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-flows-table")
flows = browser.wait(f"(() => {{ const r = {FLOW_ROWS}; return r.some(x => x.remote.value === '10.218.0.2:7002') && r }})()",
                     frame=FRAME, timeout=10)
f = next(r for r in flows if r["remote"]["value"] == "10.218.0.2:7002")
want = next(r for r in dbus_call("GetFlows", "sa{sv}", "ckvm1", "0")[0]
            if r["remote_ip"] == "10.218.0.2" and r["remote_port"] == 7002)
got = {c: int(f[c]["value"]) for c in ("tx_bytes", "rx_bytes", "tcp_conns_opened", "tcp_conns_closed", "tcp_retrans")}
t.check(got == {"tx_bytes": K * SEND, "rx_bytes": K * REPLY, "tcp_conns_opened": K, "tcp_conns_closed": K, "tcp_retrans": 0}
        and got == {c: want[c] for c in got} and f["proto"]["text"] == "TCP" and f["initiator"]["value"] == "vm",
        f"flows table: {K} outgoing TCP connections to the peer with the exact bytes each way, as GetFlows says",
        f"page {got} {f['initiator']} D-Bus {want}")
rtt_text = f["rtt_avg_us"]["text"]
t.check(float(f["rtt_avg_us"]["value"]) == want["rtt_avg_us"] and rtt_text.endswith(("µs", "ms")),
        "TCP delay column shows GetFlows' average RTT with its unit", f"{f['rtt_avg_us']} vs {want['rtt_avg_us']}")

ADDR_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-addresses-table")
addrs = browser.wait(f"(() => {{ const r = {ADDR_ROWS}; return r.some(x => x.address.value === '10.218.0.11') && r }})()",
                     frame=FRAME, timeout=15)
want_addrs = {(a["address"], a["source"]) for a in dbus_call("GetAddresses", "sa{sv}", "ckvm1", "0")[0]}
page_addrs = {(a["address"]["value"], a["source"]["value"]) for a in addrs}
t.check(("10.218.0.11", "learned") in page_addrs and page_addrs <= want_addrs,
        "addresses card: ckvm1's address 10.218.0.11, learned from its traffic, as GetAddresses says",
        f"page {page_addrs} D-Bus {want_addrs}")
peer = f["remote_kind"]["text"]
t.check(f["remote_kind"]["value"] == "remote" and peer == "", "flows table: the peer namespace is a remote",
        str(f["remote_kind"]))
SVC_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-services-table")
svc = browser.wait(f"(() => {{ const r = {SVC_ROWS}; return r.length && r }})()", frame=FRAME, timeout=10)
want_svc = dbus_call("GetServices", "s", "ckvm1")[1]
page_svc = [(r["service"]["value"], int(r["clients"]["value"]), int(r["connections"]["value"]),
             int(r["rx_bytes"]["value"]), int(r["tx_bytes"]["value"])) for r in svc]
t.check(page_svc == [("tcp/7100", 1, 1, SVC_IN, SVC_OUT)] and
        page_svc == [(f"{x['proto']}/{x['port']}", x["clients"], x["connections"], x["rx_bytes"], x["tx_bytes"])
                     for x in want_svc],
        "services table: ckvm1's TCP 7100 with the one client, connection and bytes the test made, as "
        "GetServices says", f"page {page_svc} D-Bus {want_svc}")
CONN_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-conns-table")
FAIL_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-failures-table")
states = browser.wait(f"(() => {{ const r = {CONN_ROWS}; return r.length && r }})()", frame=FRAME, timeout=10)
fails = browser.eval(FAIL_ROWS, frame=FRAME)
vm_states = next(r for r in states if r["row"]["initiator"] == "vm")
t.check(REFUSED == "refused" and vm_states["handshake_refused"]["value"] == "1" and
        [(f["remote_ip"]["value"], f["port"]["value"], f["refused"]["value"]) for f in fails] ==
        [("10.218.0.2", "7101", "1")],
        "connections card: the refused connect (ECONNREFUSED in ckvm1) counted and named with its remote and port",
        f"{REFUSED} {vm_states} {fails}")
want_states = {r["initiator"]: r for r in dbus_call("GetConnections", "sa{sv}", "ckvm1", "0")[1]}
t.check(all(int(r[k]["value"]) == want_states[r["row"]["initiator"]][k] for r in states
            for k in ("syn_sent", "established", "closing", "closed", "reset")),
        "connections card: the states per initiator that GetConnections gives", f"{states} {want_states}")

LAT_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-latency-table")
lat = browser.wait(f"(() => {{ const r = {LAT_ROWS}; return r.length && r }})()", frame=FRAME, timeout=10)
want_lat = {(s["direction"], s["stage"]): s for s in dbus_call("GetLatency", "sa{sv}", "ckvm1", "0")[1]}
pairs = {(r["direction"]["value"], r["stage"]["value"]): r for r in lat}
ok = pairs and all(int(r["packets"]["value"]) == want_lat[key]["packets"] and
                   abs(float(r["p99_us"]["value"]) - want_lat[key]["p99_us"]) <= 1e-9 * max(1, want_lat[key]["p99_us"])
                   for key, r in pairs.items())
t.check(ok and pairs[("rx", "total")]["packets"]["value"] != "0" and ("tx", "total") in pairs,
        "latency table: per direction and stage, counts and P99 equal GetLatency",
        f"page {[(k, v['packets']['value'], v['p99_us']['value']) for k, v in pairs.items()]} D-Bus "
        f"{[(k, v['packets'], v['p99_us']) for k, v in want_lat.items()]}")
bars = browser.eval("[...document.querySelectorAll('#vnm-hist rect.vnm-bar')].map(r => +r.dataset.count)", frame=FRAME)
t.check(sum(bars) == want_lat[("rx", "total")]["packets"] and len(bars) >= 1,
        "latency histogram: its bars hold every packet of the stage (to the VM, end to end)",
        f"bars {bars} count {want_lat[('rx', 'total')]['packets']}")
browser.cmd("screenshot", path=os.path.join(SHOTS, "vm.png"))

browser.cmd("goto", url=f"{URL}/virtnetmon#/vm/ckvm2")
browser.wait("document.querySelector('#vnm-vm-title') && document.querySelector('#vnm-vm-title').textContent === 'ckvm2'",
             frame=FRAME)
DROP_ROWS = ROWS.replace("#vnm-overview-table", "#vnm-drops-table")
drops = browser.wait(f"(() => {{ const r = {DROP_ROWS}; return r.some(x => x.reason.value === 'NETFILTER_DROP') && r }})()",
                     frame=FRAME, timeout=15)
nft = json.loads(sh("nft", "-j", "list", "chain", "bridge", "vnmck", "vm_forward").stdout)
nft_packets = next(x["rule"]["expr"][2]["counter"]["packets"] for x in nft["nftables"] if "rule" in x)
dbus_drops = {(d["reason"], d["direction"]): d["packets"] for d in cli_json(bus, "drops", "ckvm2")}
page_drops = {(d["reason"]["value"], d["direction"]["value"]): int(d["packets"]["value"]) for d in drops}
t.check(page_drops.get(("NETFILTER_DROP", "tx")) == nft_packets == DROPPED and page_drops == dbus_drops,
        "drops of ckvm2: NETFILTER_DROP, from the VM, as many as nftables counted, as GetDrops says",
        f"page {page_drops} D-Bus {dbus_drops} nft {nft_packets}")
note = browser.wait("document.querySelector('#vnm-latency-note').textContent", frame=FRAME)
st2 = cli_json(bus, "latency", "ckvm2")["state"]
t.check(st2["mode"] == "sampled" and "Sampled since" in note and "s traced of" in note and
        "virtnetmon latency ckvm2 --on" in note,
        "a VM not traced in full shows its sampled latency, and how to trace every packet", note)
browser.cmd("goto", url=f"{URL}/virtnetmon#/vm/nosuchvm")
empty = browser.wait("document.querySelector('#vnm-empty') && document.querySelector('#vnm-empty').dataset.reason",
                     frame=FRAME, timeout=10)
t.check(empty == "unknown-vm", "a VM that is not running: its own empty state, not an error", empty)

# --- topology ---------------------------------------------------------------------------
browser.cmd("goto", url=f"{URL}/virtnetmon")
browser.cmd("click", selector="#vnm-tab-topology", frame=FRAME)
topo = browser.wait("(() => { const e = [...document.querySelectorAll('#vnm-topology path.vnm-edge')];"
                    " return e.length && {edges: e.map(x => [x.dataset.source, x.dataset.target, +x.dataset.bytes]),"
                    " nodes: [...document.querySelectorAll('#vnm-topology g.vnm-node')].map(g => g.dataset.label)} })()",
                    frame=FRAME, timeout=10)
nodes, edges = dbus_call("GetTopology")
want_edges = sorted([e["source"], e["target"], e["bytes_to_target"] + e["bytes_to_source"]] for e in edges)
t.check(sorted(topo["edges"]) == want_edges and {"ckvm1", "ckvm2", "10.218.0.2"} <= set(topo["nodes"]),
        "topology: the VMs and the peer as nodes, one line per GetTopology edge with its bytes",
        f"page {topo} D-Bus {want_edges}")
width = browser.eval(f"document.querySelector('#vnm-topology path.vnm-edge[data-source=\"{UUID1}\"][data-target=\"10.218.0.2\"]')"
                     ".getAttribute('stroke-width')", frame=FRAME)
browser.cmd("hover", selector=f"#vnm-topology path.vnm-edge[data-source=\"{UUID1}\"][data-target=\"10.218.0.2\"]", frame=FRAME)
details = browser.eval("document.querySelector('#vnm-topology-details').textContent", frame=FRAME)
# K connections of ckvm1's to the peer, and the peer's one to ckvm1's service.
t.check("ckvm1 → 10.218.0.2" in details and f"{K + 1} connections" in details and float(width) > 2,
        "pointing at the ckvm1-peer line shows its numbers; the busiest line is the widest", f"{details!r} {width}")
browser.cmd("screenshot", path=os.path.join(SHOTS, "topology.png"))

# --- the daemon stops and starts --------------------------------------------------------
browser.cmd("click", selector="#vnm-tab-overview", frame=FRAME)
browser.wait(f"{ROWS}.length === 2", frame=FRAME)
daemon.stop()
began = time.monotonic()
reason = browser.wait("document.querySelector('#vnm-empty') && document.querySelector('#vnm-empty').dataset.reason",
                      frame=FRAME, timeout=15)
took = time.monotonic() - began
text = browser.eval("document.querySelector('#vnm-empty').textContent", frame=FRAME)
t.check(reason == "no-daemon" and "systemctl start virtnetmond" in text and browser.eval(f"{ROWS}.length", frame=FRAME) == 0,
        f"the daemon stops: an empty state saying how to start it ({took:.1f} s)", f"{reason} {text!r}")
browser.cmd("screenshot", path=os.path.join(SHOTS, "no-daemon.png"))
daemon = Daemon(bus, *DAEMON_ARGS, name="virtnetmond-2")
rows = browser.wait(f"(() => {{ const r = {ROWS}; return r.length === 2 && r }})()", frame=FRAME, timeout=20)
t.check({r["row"]["iface"] for r in rows} == {"vnmck-v1", "vnmck-v2"} and
        browser.eval("document.querySelector('#vnm-empty')", frame=FRAME) is None,
        "the daemon starts again: the rows return without a reload")

errors = browser.cmd("console")
t.check(not [e for e in errors if "virtnetmon" in e or "TypeError" in e or "ReferenceError" in e],
        "no script errors in the browser console", "\n".join(errors))
browser.close()

# --- German ----------------------------------------------------------------------------------
de = Browser(locale="de-DE", shots=SHOTS)
on_cleanup(de.close)
de.cmd("goto", url=f"{URL}/virtnetmon")
heads = de.wait("(() => { const h = [...document.querySelectorAll('#vnm-overview-table th')].map(x => x.textContent);"
                " return document.querySelector('#vnm-overview-table tbody tr') && h })()", frame=FRAME, timeout=20)
title_de = de.eval("document.querySelector('.vnm-header h1').textContent", frame=FRAME)
de_po = open(os.path.join(PKG, "po.de.js"), encoding="utf-8").read()
t.check(heads[0].startswith("Schnittstelle") and title_de == "VM-Netzwerk" and '"Schnittstelle"' in de_po,
        "with a German browser the page speaks German (cockpit.gettext, po.de.js from po/de.po)",
        f"{heads} {title_de!r}")
de.cmd("screenshot", path=os.path.join(SHOTS, "overview-de.png"))
de.close()

shots = sorted(os.listdir(SHOTS))
t.check(all(os.path.getsize(os.path.join(SHOTS, s)) > 20000 for s in shots) and len(shots) >= 5,
        f"screenshots saved in {SHOTS}", str(shots))
t.done()
