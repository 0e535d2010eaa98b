#!/usr/bin/env python3
"""Integration: `virtnetmon top`, driven in a real terminal (tmux send-keys,
capture-pane). Two "VMs" of a libvirt test-driver host are namespaces behind
veth devices; tpvm1 sends a steady UDP stream and holds a TCP connection to
a peer; 30 more host-only veth devices make the list longer than the screen.
What the screen shows is checked against the daemon's D-Bus answer
(`virtnetmon ifstat --json`).

The namespaces, the daemon and tpvm1's traffic are the shared setup. Each
case runs its own `virtnetmon top` in a fresh tmux session (start_top), so
one that fails, or leaves the screen in some state, does not stop the
others."""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, make_link,  # noqa: E402
                     netns_on_bridge, on_cleanup, require_root, sh, shared_cleanups, skip,
                     wait_for)

require_root()
if shutil.which("tmux") is None:
    skip("needs tmux")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-top-")
on_cleanup(shutil.rmtree, tmp, True)


with t.setup("two VMs and a peer behind a bridge, 30 more devices, the daemon, tpvm1's traffic"):
    make_link("vnmtp-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmtp-br0", "up")
    nets = {dev: netns_on_bridge("vnmtp-br0", dev, ns_name, addr)
            for dev, ns_name, addr in (("vnmtp-v1", "vnmtp-vm1", "10.218.0.1"),
                                       ("vnmtp-v2", "vnmtp-vm2", "10.218.0.3"),
                                       ("vnmtp-p1", "vnmtp-peer", "10.218.0.2"))}
    for i in range(30):
        make_link(f"vnmtp-x{i:02d}", "type", "veth", "peer", "name", f"vnmtp-y{i:02d}")

    node_xml = os.path.join(tmp, "node.xml")
    with open(node_xml, "w") as f:
        f.write("<node>\n" + "".join(f"""  <domain type='test'>
    <name>tpvm{n}</name>
    <uuid>8c2e3f4a-0b4d-4c5e-8f70-11223344550{n}</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <interface type='bridge'>
        <mac address='52:54:00:18:00:0{n}'/>
        <source bridge='vnmtp-br0'/>
        <target dev='vnmtp-v{n}'/>
      </interface>
    </devices>
  </domain>
""" for n in (1, 2)) + "</node>\n")

    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1")

    # tpvm1: a steady UDP stream (about 2000 packets of 1000 bytes a second) and
    # one TCP connection to the peer.
    sink = subprocess.Popen(["ip", "netns", "exec", nets["vnmtp-p1"], "python3", "-c", """
import socket, threading
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.218.0.2", 7100))
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind(("10.218.0.2", 7101)); t.listen(1)
threading.Thread(target=lambda: [u.recv(2000) for _ in iter(int, 1)], daemon=True).start()
c, _ = t.accept()
while c.recv(65536): pass
"""])
    on_cleanup(sink.kill)
    time.sleep(0.5)
    sender = subprocess.Popen(["ip", "netns", "exec", nets["vnmtp-v1"], "python3", "-c", """
import socket, time
t = socket.create_connection(("10.218.0.2", 7101)); t.sendall(b"t" * 100000)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
next_t = time.monotonic()
while True:
    for _ in range(20):
        u.sendto(b"u" * 1000, ("10.218.0.2", 7100))
    next_t += 0.01
    time.sleep(max(0, next_t - time.monotonic()))
"""])
    on_cleanup(sender.kill)

    # --- top in a tmux pane -------------------------------------------------------
    TMUX = ["tmux", "-L", f"vnmtop{os.getpid()}"]
    env = dict(os.environ, LANG="C.UTF-8", TERM="xterm")
    on_cleanup(subprocess.run, TMUX + ["kill-server"], capture_output=True)


def screen():
    r = subprocess.run(TMUX + ["capture-pane", "-p", "-t", "top"], capture_output=True, text=True)
    return r.stdout


def keys(*k):
    subprocess.run(TMUX + ["send-keys", "-t", "top", *k], check=True)


def wait_screen(pred, timeout, what):
    end = time.monotonic() + timeout
    s = ""
    while time.monotonic() < end:
        s = screen()
        if pred(s):
            return s
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}; screen:\n{s}")


def rows(s):
    """Data rows: lines after the column header, before the footer."""
    lines = s.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("IFACE"))
    except StopIteration:
        return []
    return [line.split() for line in lines[start + 1:-1] if line.strip()]


def mbps(cell):
    m = re.match(r"([\d.]+)([kMG]?)", cell)
    return float(m.group(1)) * {"": 1, "k": 1e-3, "M": 1, "G": 1e3}.get(m.group(2), 1) if m else -1


def tx_rate_settled():
    r = [x for x in cli_json(bus, "ifstat") if x["iface"] == "vnmtp-v1"]
    return r and r[0]["tx_mbps"] > 5


def need_daemon():
    """A running daemon (a case before may have stopped it), for this case
    and the ones after it."""
    global daemon
    if daemon.proc.poll() is not None:
        with shared_cleanups():
            daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1")


tops = 0


def start_top():
    """The case's own `virtnetmon top`, in a fresh tmux session killed when
    the case ends, started once tpvm1's stream shows in ifstat; returns its
    first list. exit_file gets its exit status."""
    global exit_file, tops
    need_daemon()
    wait_for(tx_rate_settled, 15, "tpvm1's stream to show in ifstat")
    tops += 1
    exit_file = os.path.join(tmp, f"exit-{tops}")
    top_cmd = (f"{os.path.join(build_dir(), 'src', 'virtnetmon')} --bus-address '{bus.address}' top; "
               f"echo $? > {exit_file}")
    subprocess.run(TMUX + ["new-session", "-d", "-s", "top", "-x", "140", "-y", "80", top_cmd], env=env, check=True)
    on_cleanup(subprocess.run, TMUX + ["kill-session", "-t", "top"], capture_output=True)
    return wait_screen(lambda s: "interfaces, sorted by" in s, 10, "top's first list")


@t.case("the first screen: sorted by TX, the busiest VM on top, every interface")
def _():
    start_top()
    wait_for(tx_rate_settled, 15, "tpvm1's stream to show in ifstat")
    # (The peer's bridge port carries the same stream the other way and may tie.)
    s = wait_screen(lambda s: any(r[0] == "vnmtp-v1" and mbps(r[3]) > 10 for r in rows(s)[:2]), 15,
                    "vnmtp-v1 on top at its full rate")
    first = next(r for r in rows(s) if r[0] == "vnmtp-v1")
    dbus = next(x for x in cli_json(bus, "ifstat") if x["iface"] == "vnmtp-v1")
    t.check("sorted by TX descending" in s and "TX_Mbpsv" in s,
            "default: sorted by TX, descending, marked in the header", s)
    t.check(first[-1] == "tpvm1" and first[-2] == "1" and abs(mbps(first[3]) - dbus["tx_mbps"]) <= 0.25 * dbus["tx_mbps"],
            f"the busiest VM on top with its TX rate as D-Bus reports it ({first[3]} vs {dbus['tx_mbps']:.2f})",
            str(first))
    n_if = len(cli_json(bus, "ifstat"))
    t.check(f"{n_if} interfaces" in s and len(rows(s)) == n_if,
            f"all {n_if} interfaces listed, no row cap", s)


@t.case("sort keys")
def _():
    start_top()
    keys("1")
    s = wait_screen(lambda s: "sorted by RX descending" in s, 5, "sort by RX")
    t.check("RX_Mbpsv" in s, "1: sort by RX, descending", s)
    keys("1")
    s = wait_screen(lambda s: "sorted by RX ascending" in s, 5, "RX ascending")
    t.check("RX_Mbps^" in s, "1 again: ascending")
    keys("2")
    s = wait_screen(lambda s: "sorted by TX descending" in s, 5, "back to TX")
    t.check("vnmtp-v1" in [r[0] for r in rows(s)[:2]], "2: back to TX descending, busiest first", s)


@t.case("the filter")
def _():
    start_top()
    n_if = len(cli_json(bus, "ifstat"))
    keys("/")
    for ch in "tpvm2":
        keys(ch)
    keys("Enter")
    s = wait_screen(lambda s: ", filter: tpvm2" in s and len(rows(s)) == 1, 5, "the filter")
    t.check(rows(s)[0][0] == "vnmtp-v2", "/ tpvm2 Enter: only tpvm2's interface", s)
    keys("/")
    keys("Escape")
    s = wait_screen(lambda s: "filter:" not in s and len(rows(s)) == n_if, 5, "the filter cleared")
    t.check(True, "/ Esc clears the filter")


@t.case("hidden devices")
def _():
    start_top()
    keys("/", "l", "o", "Enter")
    s = wait_screen(lambda s: ", filter: lo" in s, 5, "filter lo")
    t.check(not any(r[0] == "lo" for r in rows(s)), "lo is hidden by default", s)
    keys("a")
    s = wait_screen(lambda s: "hidden devices shown" in s, 5, "hidden shown")
    t.check(any(r[0] == "lo" for r in rows(s)), "a: shows hidden devices (lo)", s)
    keys("a", "/", "Escape")
    wait_screen(lambda s: "filter:" not in s and "hidden devices shown" not in s, 5, "back to the plain list")


@t.case("a small terminal: lines fit, the list scrolls")
def _():
    start_top()
    # A small terminal: lines fit, the list scrolls.
    subprocess.run(TMUX + ["resize-window", "-t", "top", "-x", "80", "-y", "15"], check=True)
    s = wait_screen(lambda s: len(s.splitlines()) <= 15 and len(rows(s)) == 11, 5, "the resized screen")
    t.check(all(len(line) <= 80 for line in s.splitlines()), "after a resize to 80x15 every line fits", s)
    keys("End")
    order = [x["iface"] for x in cli_json(bus, "ifstat")]
    s = wait_screen(lambda s: rows(s) and rows(s)[-1][0] == order[-1], 5, "the last row after End")
    t.check(True, f"End scrolls to the last row ({order[-1]}), as ifstat orders it")
    keys("Home")
    s = wait_screen(lambda s: rows(s) and rows(s)[0][0] in ("vnmtp-v1", "vnmtp-p1"), 5, "Home")
    t.check(True, "Home scrolls back to the first row")
    subprocess.run(TMUX + ["resize-window", "-t", "top", "-x", "140", "-y", "80"], check=True)


@t.case("the flows of the selected VM")
def _():
    start_top()
    # Flows of the selected VM (selected by filtering down to it).
    keys("/", "t", "p", "v", "m", "1", "Enter")
    s = wait_screen(lambda s: ", filter: tpvm1" in s and len(rows(s)) == 1, 5, "tpvm1 alone")
    keys("Enter")
    s = wait_screen(lambda s: "flows of tpvm1" in s and "10.218.0.2" in s, 5, "tpvm1's flows")
    t.check("REMOTE" in s and "RTT_ms" in s, "Enter: the flows of the selected VM, by remote (10.218.0.2)", s)
    keys("q")
    s = wait_screen(lambda s: "interfaces, sorted by" in s, 5, "back from flows")
    t.check(True, "q in the flows view goes back to the list")


@t.case("the latency key, after the filter prompt's Escape")
def _():
    start_top()
    # The filter the Escape clears (as the flows of tpvm1 leave it set).
    keys("/", "t", "p", "v", "m", "1", "Enter")
    wait_screen(lambda s: ", filter: tpvm1" in s and len(rows(s)) == 1, 5, "tpvm1 alone")
    keys("/", "Escape")
    # ncurses waits ESCDELAY for what may follow an Escape: an "l" typed within
    # it would be Alt-l inside the filter prompt.
    wait_screen(lambda s: "filter" not in (s.splitlines() or ["filter"])[0], 5, "the filter closed")
    time.sleep(1.2)
    keys("l")
    # (The key help in the footer says "l: latency" too: wait until the
    # message has replaced it.)
    s = wait_screen(lambda s: "latency" in s.lower() and "l: latency" not in s, 5, "the latency key")
    t.check("virtnetmon latency DOMAIN" in s, "l: points to virtnetmon latency", s)


@t.case("the daemon goes away and comes back; top stays up")
def _():
    global daemon
    start_top()
    # The daemon goes away and comes back; top stays up.
    daemon.stop()
    s = wait_screen(lambda s: "No data:" in s, 10, "the empty state")
    t.check("not running" in s or "virtnetmond" in s, "daemon stopped: top shows why and keeps retrying", s)
    with shared_cleanups():  # the cases after this one use it
        daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1")
    s = wait_screen(lambda s: "No data:" not in s and any(r[0] == "vnmtp-v1" for r in rows(s)), 15,
                    "rows after the restart")
    t.check(True, "daemon restarted: rows return without restarting top")


@t.case("q quits")
def _():
    start_top()
    keys("q")
    wait_for(lambda: os.path.exists(exit_file) and open(exit_file).read().strip(), 5, "top to exit")
    t.check(open(exit_file).read().strip() == "0", "q quits with status 0")


@t.case("without a terminal; bad --sort")
def _():
    r = cli(bus, "top", check=False)
    t.check(r.returncode == 2 and "needs a terminal" in r.stderr, "without a terminal: exit 2, says why", r.stderr)
    r = cli(bus, "top", "--sort", "sideways", check=False)
    t.check(r.returncode == 2 and "'sideways'" in r.stderr, "bad --sort: exit 2, named", r.stderr)


t.done()
