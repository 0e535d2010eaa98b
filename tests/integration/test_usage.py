#!/usr/bin/env python3
"""Integration: usage totals that survive daemon restarts, SIGKILL and a
(simulated) host reboot, the monthly quota event, /metrics and a corrupt
database.

"VM" usvm1 (libvirt test driver) is namespace vnmus-vm1 behind veth
vnmus-v1 on bridge vnmus-br0; a peer namespace sits behind vnmus-p. IPv6
is off on both ends, so only the test's TCP connections (and their ARP)
move the counters. Ground truth is the kernel's counters of vnmus-v1 (`ip
-j -s link`), turned into the guest's view (rx = what the host sent into
the VM = the host's tx), and the database file itself, read with Python's
sqlite3 after the daemon stopped.

The simulated reboot: stop the daemon (SIGTERM), remove its pinned maps,
delete and recreate the VM's devices (their counters start again at 0),
start the daemon again. The month's totals must then be the sum of the
kernel's counters of the two devices, exactly, and so must today's daily
row. SIGKILL: a daemon killed before it ever wrote, and one killed after a
write with more counted in memory only; in both, the next daemon continues
from what the database holds, so the totals stay exact: what this design
guarantees while the device lives on (see src/daemon/usage-recorder.h).

Each phase's daemon uses the same database in the test's temporary
directory (--usage-db), never /var/lib/virtnetmon.
"""
import datetime
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, cli, cli_json, free_port, kernel_link,  # noqa: E402
                     make_link, netns_on_bridge, on_cleanup, pin_dir, require_root, sh,
                     shared_cleanups, tcp_clients, tcp_server, wait_for)
import promtext  # noqa: E402

require_root()

t = Results()
tmp = tempfile.mkdtemp(prefix="vnmus-")
os.chmod(tmp, 0o755)
on_cleanup(shutil.rmtree, tmp, True)
UUID = "5e1a7c3d-0b9f-4d2e-8a61-3c4b5d6e7f80"
DEV = "vnmus-v1"
DB = os.path.join(tmp, "lib", "usage.db")
PIN = pin_dir()
PORT = free_port()


def month_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m")


def today_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")


def make_vm():
    """The VM's namespace and veth (recreated by the reboot: counters from 0)."""
    netns_on_bridge("vnmus-br0", DEV, "vnmus-vm1", "10.219.0.11", quiet=True)


def guest(k):
    """Kernel counters of the host end, in the guest's view."""
    return {"rx_bytes": k["tx_bytes"], "tx_bytes": k["rx_bytes"],
            "rx_packets": k["tx_packets"], "tx_packets": k["rx_packets"]}


def add(a, b):
    return {key: a[key] + b[key] for key in a}


def traffic(nbytes, k=2):
    port = free_port()
    server = tcp_server("vnmus-peer", "10.219.0.2", port, k)
    time.sleep(0.3)
    tcp_clients("vnmus-vm1", "10.219.0.2", port, k, nbytes)
    server.wait(10)


KEYS = ("rx_bytes", "tx_bytes", "rx_packets", "tx_packets")


def usage_rows(*args):
    return cli_json(bus, "usage", *args)


def vm_row(rows, iface=""):
    for r in rows:
        if r["vm_uuid"] == UUID and r["iface"] == iface:
            return {k: r[k] for k in KEYS}
    return None


def wait_usage(expect, what, timeout=10):
    """Waits until usvm1's month total is @expect() (the kernel's counters
    read again each time: late ACKs and ARP still move them); returns the
    last rows and expectation."""
    last = {}

    def ok():
        last["expect"] = expect()
        last["rows"] = usage_rows("usvm1", "--interfaces")
        return vm_row(last["rows"]) == last["expect"] == expect()
    try:
        wait_for(ok, timeout, what)
    except AssertionError:
        pass
    return last.get("rows", []), last.get("expect")


def start_daemon(flush="2", extra=()):
    # The script's daemon, whichever case starts it.
    with shared_cleanups():
        return Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                      "--state-dir", os.path.join(tmp, "state"), "--pin-dir", PIN,
                      "--usage-db", DB, "--usage-flush-interval", flush, *extra)


def kill9(daemon):
    daemon.proc.kill()
    daemon.proc.wait(5)


def db_month(path=DB):
    """The month row of usvm1 (and its interface) in the database file."""
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT iface, rx_bytes, tx_bytes, rx_packets, tx_packets FROM usage_month"
                           " WHERE vm_uuid = ?", (UUID,)).fetchall()
    finally:
        con.close()
    return {iface: dict(zip(KEYS, vals)) for iface, *vals in rows}


with t.setup("a bridge, a VM and a peer namespace, a test-driver domain, a bus and the daemon"):
    make_link("vnmus-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmus-br0", "up")
    netns_on_bridge("vnmus-br0", "vnmus-p", "vnmus-peer", "10.219.0.2", quiet=True)
    mac = "52:54:00:19:00:11"
    node_xml = os.path.join(tmp, "node.xml")
    with open(node_xml, "w") as f:
        f.write(f"""<node>
  <domain type='test'>
    <name>usvm1</name>
    <uuid>{UUID}</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <interface type='bridge'>
        <mac address='{mac}'/>
        <source bridge='vnmus-br0'/>
        <target dev='{DEV}'/>
      </interface>
    </devices>
  </domain>
</node>
""")
    bus = Bus()
    # A new database; the VM's device appears after the daemon started, so
    # all of its counters are its traffic.
    daemon = start_daemon()
    make_vm()
    on_cleanup(sh, "ip", "link", "del", DEV, check=False)
    wait_for(lambda: any(r["iface"] == DEV and r["vm_name"] == "usvm1"
                         for r in cli_json(bus, "ifstat")), 10, "the VM's device to be mapped")

first = {}


@t.case("first half: traffic of known size, counted as the kernel counted it")
def _():
    traffic(150000)
    k = guest(kernel_link(DEV))
    rows, k = wait_usage(lambda: guest(kernel_link(DEV)), "usage to reach the kernel's counters")
    t.check(vm_row(rows) == k, "usage usvm1: the month's total is the kernel's counters (guest's view)",
            f"{vm_row(rows)} vs {k}")
    t.check(vm_row(rows, DEV) == k, "usage --interfaces: the interface's row too", rows)
    daily = usage_rows("usvm1", "--daily")
    t.check([r["period_start"] for r in daily] == [today_now()] and vm_row(daily) == k,
            "usage --daily: today's row (UTC) has it", daily)
    all_vms = usage_rows()
    t.check([r["vm_name"] for r in all_vms] == ["usvm1"] and all_vms[0]["period"] == "month"
            and all_vms[0]["period_start"] == month_now(), "usage without DOMAIN: every VM this month",
            all_vms)
    st = cli_json(bus, "status")["usage_store"]
    t.check(st["path"] == DB and st["available"] and st["last_error"] == "",
            "status: the database's path, available, no error", st)
    wait_for(lambda: cli_json(bus, "status")["usage_store"]["last_write"] > 0, 10, "a first write")
    text = cli(bus, "usage").stdout
    t.check("usvm1" in text and "MONTH" in text and "TOTAL" in text, "usage prints a table", text)


@t.case("bad input: an unknown domain, a malformed month")
def _():
    r = cli(bus, "usage", "nosuchvm", check=False)
    t.check(r.returncode == 1 and "nosuchvm" in r.stderr, "unknown domain: exit 1, named", r.stderr)
    r = cli(bus, "usage", "--month", "2024-13", check=False)
    t.check(r.returncode == 2 and "2024-13" in r.stderr, "--month 2024-13: usage error, quoted", r.stderr)
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method", "org.virtnetmon.Monitor1.GetUsage",
           "", "{'month': <'May 2024'>}", check=False)
    t.check(r.returncode != 0 and "InvalidArgument" in r.stderr and "May 2024" in r.stderr,
            "GetUsage with month 'May 2024': InvalidArgument naming it", r.stderr)
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method", "org.virtnetmon.Monitor1.GetUsage",
           "", "{'month': <'2001-01'>}")
    t.check("@aa{sv} []" in r.stdout or "([],)" in r.stdout, "a month without traffic: no rows", r.stdout)


@t.case("simulated reboot: SIGTERM, pinned maps removed, devices recreated, restart; exact totals")
def _():
    global daemon
    daemon.stop()
    k1 = guest(kernel_link(DEV))
    first["k1"] = k1
    in_db = db_month()
    t.check(in_db.get("") == k1 and in_db.get(DEV) == k1,
            "after SIGTERM the database file holds the kernel's counters exactly", f"{in_db} vs {k1}")
    shutil.rmtree(PIN, True)
    t.check(not os.path.exists(PIN), "the pinned maps are gone")
    sh("ip", "link", "del", DEV)
    sh("ip", "netns", "del", "vnmus-vm1")
    with shared_cleanups():
        make_vm()
    fresh = kernel_link(DEV)
    t.check(fresh["rx_bytes"] == 0 and fresh["tx_bytes"] == 0, "the recreated device starts at 0", fresh)
    # Killed before it ever writes (flush interval an hour).
    daemon = start_daemon(flush="3600")
    traffic(70000)
    rows, both = wait_usage(lambda: add(k1, guest(kernel_link(DEV))), "usage to reach both halves")
    t.check(vm_row(rows) == both,
            "month total = kernel counters of the first device + the recreated one", f"{vm_row(rows)} vs {both}")
    daily = usage_rows("usvm1", "--daily")
    if daily and daily[-1]["period_start"] == today_now():
        t.check(vm_row(daily) == add(k1, guest(kernel_link(DEV))), "today's daily row has both halves", daily)
    # SIGKILL: this daemon wrote nothing; traffic goes on while none runs.
    kill9(daemon)
    t.check(db_month().get("") == k1, "after SIGKILL the database still holds the first half only",
            db_month())
    traffic(40000, k=1)
    daemon = start_daemon()
    rows, both = wait_usage(lambda: add(k1, guest(kernel_link(DEV))),
                            "usage after SIGKILL to reach both devices' counters")
    t.check(vm_row(rows) == both,
            "after SIGKILL before any write: nothing lost or doubled (first device + all of the second)",
            f"{vm_row(rows)} vs {both}")


@t.case("SIGKILL after a write, with more counted in memory only: exact after restart")
def _():
    global daemon
    k1 = first["k1"]
    traffic(30000, k=1)
    wait_usage(lambda: add(k1, guest(kernel_link(DEV))), "usage to see the traffic")
    # A write that has it.
    wait_for(lambda: db_month().get("") == add(k1, guest(kernel_link(DEV))), 10, "the database to hold it")
    traffic(20000, k=1)
    wait_usage(lambda: add(k1, guest(kernel_link(DEV))), "usage to see more traffic (in memory)", timeout=1.5)
    kill9(daemon)
    traffic(10000, k=1)
    daemon = start_daemon()
    rows, both = wait_usage(lambda: add(k1, guest(kernel_link(DEV))), "usage to catch up after SIGKILL")
    t.check(vm_row(rows) == both, "after SIGKILL: the month total is exact again", f"{vm_row(rows)} vs {both}")
    t.check(vm_row(rows, DEV) == both, "and so is the interface's", rows)


@t.case("quota: set, passed, one UsageQuotaExceeded signal and a log line; /metrics")
def _():
    global daemon
    daemon.stop()
    daemon = start_daemon(extra=("--metrics-listen", f"127.0.0.1:{PORT}"))
    wait_usage(lambda: add(first["k1"], guest(kernel_link(DEV))), "usage to be current")
    now = vm_row(usage_rows("usvm1"))
    total = now["rx_bytes"] + now["tx_bytes"]
    quota = total + 20000
    mon_out = open(os.path.join(tmp, "monitor.txt"), "w+")
    mon = subprocess.Popen(["gdbus", "monitor", "--address", bus.address, "--dest",
                            "org.virtnetmon.Monitor1"], stdout=mon_out, stderr=subprocess.STDOUT)
    on_cleanup(mon.kill)
    time.sleep(0.5)
    s = cli_json(bus, "set", "usvm1", "--usage-quota", str(quota))
    t.check(s["usage_quota_bytes"] == quota and "usage_quota_bytes" in s["from_metadata"],
            "set --usage-quota: the setting applies", s)
    g = cli_json(bus, "set", "usvm1", "--usage-quota", "1.5GiB")
    t.check(g["usage_quota_bytes"] == 1610612736, "set --usage-quota 1.5GiB = 1610612736 bytes", g)
    cli(bus, "set", "usvm1", "--usage-quota", str(quota))
    time.sleep(2)
    t.check("UsageQuotaExceeded" not in open(mon_out.name).read(), "no signal below the quota")
    traffic(20000, k=1)

    def signalled():
        return "UsageQuotaExceeded" in open(mon_out.name).read()
    wait_for(signalled, 10, "UsageQuotaExceeded")
    text = open(mon_out.name).read()
    m = re.search(r"UsageQuotaExceeded \('usvm1', '" + UUID + r"', uint64 (\d+), uint64 (\d+), '(\d{4}-\d{2})'\)",
                  text)
    t.check(m is not None and int(m.group(1)) > quota and int(m.group(2)) == quota
            and m.group(3) == month_now(), "the signal names the domain, its bytes, the quota and the month",
            text[-500:])
    t.check(re.search(r"usvm1 .*passed its usage quota", daemon.output()) is not None,
            "virtnetmond logs it", daemon.output()[-500:])
    traffic(5000, k=1)
    time.sleep(2.5)
    t.check(open(mon_out.name).read().count("UsageQuotaExceeded") == 1, "sent once a month",
            open(mon_out.name).read()[-500:])
    # /metrics has the month's bytes and the quota.
    cur = vm_row(usage_rows("usvm1"))
    with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10) as r:
        fams, samples = promtext.parse(r.read().decode())
    got = {s[1]["direction"]: s[2] for s in samples
           if s[0] == "virtnetmon_usage_bytes" and s[1].get("vm_uuid") == UUID and s[1].get("period") == "month"}
    t.check(fams.get("virtnetmon_usage_bytes", {}).get("type") == "gauge"
            and abs(got.get("rx", -1) - cur["rx_bytes"]) <= 1000 and abs(got.get("tx", -1) - cur["tx_bytes"]) <= 1000,
            "virtnetmon_usage_bytes{direction,period=\"month\"} follows usage", f"{got} vs {cur}")
    q = [s for s in samples if s[0] == "virtnetmon_usage_quota_bytes" and s[1].get("vm_uuid") == UUID]
    t.check(len(q) == 1 and q[0][2] == quota and q[0][1].get("vm_name") == "usvm1",
            "virtnetmon_usage_quota_bytes has the quota", q)
    cli(bus, "set", "usvm1", "--unset", "usage-quota")


@t.case("a corrupt database at start: reported, moved aside, the daemon keeps counting")
def _():
    global daemon
    daemon.stop()
    bad = os.path.join(tmp, "bad", "usage.db")
    os.makedirs(os.path.dirname(bad))
    with open(bad, "wb") as f:
        f.write(os.urandom(16384))
    with shared_cleanups():
        daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                        "--state-dir", os.path.join(tmp, "state"), "--pin-dir", PIN,
                        "--usage-db", bad, "--usage-flush-interval", "5")
    # In a field of its own: last_error clears at the first good write
    # (right after the start).
    st = cli_json(bus, "status")["usage_store"]
    t.check("corrupt" in st["last_recovery"] and "moved aside" in st["last_recovery"] and st["path"] == bad,
            "status says the database was corrupt and moved aside", st)
    aside = [n for n in os.listdir(os.path.dirname(bad)) if n.startswith("usage.db.corrupt-")]
    t.check(len(aside) == 1, "the corrupt file is kept aside", os.listdir(os.path.dirname(bad)))
    t.check("corrupt" in daemon.output(), "the log says so", daemon.output()[-400:])
    traffic(10000, k=1)
    wait_for(lambda: (vm_row(usage_rows("usvm1")) or {}).get("tx_bytes", 0) > 10000, 10,
             "the new database to count")
    wait_for(lambda: cli_json(bus, "status")["usage_store"]["last_error"] == "", 15,
             "the error to clear after a good write")
    t.check("moved aside" in cli_json(bus, "status")["usage_store"]["last_recovery"],
            "the recovery stays in the status after a good write")
    t.check(cli_json(bus, "status")["usage_store"]["available"], "the new database is written")
    daemon.stop()


t.done()
