#!/usr/bin/env python3
"""Integration: virtnetmond maps devices this test creates and reports their
counters as the kernel does.

"VMs" are network namespaces behind veth pairs: vnmit-v1 belongs to domain
'itvm1' of a libvirt test-driver connection; vnmit-q0 belongs to a process
whose command line is a Proxmox-style QEMU's; tap907i0 is mapped by its name.
Ground truth is `ip -j -s link` for the same devices.

The namespaces, devices, test-driver node, QEMU-like process, bus and daemon
are the shared setup; each case makes and cleans up what else it needs, so
one that fails does not stop the others. The last case stops the daemon.
"""
import re
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, check_json, cli, cli_json,  # noqa: E402
                     ifstat_row, kernel_link, make_link, make_netns, on_cleanup, require_root, sh,
                     shared_cleanups, skip, wait_for)

require_root()
if not os.path.exists("/dev/net/tun"):
    skip("needs /dev/net/tun for tap devices")

t = Results()
tmp = os.environ.get("TMPDIR", "/tmp")


with t.setup("namespaces, devices, a test-driver domain, a QEMU-like process, a bus and the daemon"):
    # --- the "VMs" and a peer, all in namespaces this test owns ---------------
    vm = make_netns("vnmit-vm1")
    peer = make_netns("vnmit-peer")
    make_link("vnmit-br0", "type", "bridge")
    make_link("vnmit-v1", "type", "veth", "peer", "name", "vnmit-v1g")
    make_link("vnmit-p1", "type", "veth", "peer", "name", "vnmit-p1g")
    sh("ip", "link", "set", "vnmit-v1g", "netns", vm)
    sh("ip", "link", "set", "vnmit-p1g", "netns", peer)
    for dev in ("vnmit-v1", "vnmit-p1"):
        sh("ip", "link", "set", dev, "master", "vnmit-br0")
        sh("ip", "link", "set", dev, "up")
    sh("ip", "link", "set", "vnmit-br0", "up")
    sh("ip", "addr", "add", "10.213.0.1/24", "dev", "vnmit-v1g", netns=vm)
    sh("ip", "link", "set", "vnmit-v1g", "up", netns=vm)
    sh("ip", "addr", "add", "10.213.0.2/24", "dev", "vnmit-p1g", netns=peer)
    sh("ip", "link", "set", "vnmit-p1g", "up", netns=peer)

    make_link("vnmit-q0", "type", "veth", "peer", "name", "vnmit-q0p")
    sh("ip", "tuntap", "add", "mode", "tap", "name", "tap907i0")
    on_cleanup(sh, "ip", "link", "del", "tap907i0", check=False)

    # A libvirt test-driver "host" with one running domain owning vnmit-v1.
    node_xml = os.path.join(tmp, f"vnmit-node-{os.getpid()}.xml")
    with open(node_xml, "w") as f:
        f.write("""<node>
  <domain type='test'>
    <name>itvm1</name>
    <uuid>2f0c6a4e-1d3b-4a8e-9c7f-5b6a7d8e9f01</uuid>
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <interface type='bridge'>
        <mac address='52:54:00:13:00:01'/>
        <source bridge='vnmit-br0'/>
        <target dev='vnmit-v1'/>
        <model type='virtio'/>
      </interface>
      <interface type='hostdev' managed='yes'>
        <mac address='52:54:00:13:00:02'/>
        <source>
          <address type='pci' domain='0x0000' bus='0x03' slot='0x10' function='0x1'/>
        </source>
      </interface>
    </devices>
  </domain>
</node>
""")
    on_cleanup(os.unlink, node_xml)

    # A Proxmox-style QEMU that libvirt does not run.
    fake = subprocess.Popen([os.path.join(build_dir(), "tests", "helpers", "qemu-system-x86_64"),
                             "-id", "902", "-name", "pve-fake,debug-threads=on",
                             "-netdev", "type=tap,id=net0,ifname=vnmit-q0,script=no"])
    on_cleanup(fake.kill)

    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1")


@t.case("mapping: libvirt, QEMU command line, tap name pattern, host-only rows")
def _():
    # --- mapping -------------------------------------------------------------
    domains = cli_json(bus, "list")
    names = {d["vm_name"]: d for d in domains}
    t.check("itvm1" in names and names["itvm1"]["mapped_by"] == "libvirt",
            "libvirt domain listed", str(domains))
    t.check("pve-fake" in names and names["pve-fake"]["mapped_by"] == "qemu-cmdline"
            and names["pve-fake"]["vm_id"] == 902, "QEMU command-line VM listed with its VM id",
            str(domains))

    ifl = cli_json(bus, "domiflist", "itvm1")
    t.check(len(ifl) == 2 and ifl[0]["iface"] == "vnmit-v1" and ifl[0]["type"] == "bridge"
            and ifl[0]["source"] == "vnmit-br0" and ifl[0]["mac"] == "52:54:00:13:00:01"
            and ifl[0]["ifindex"] == kernel_link("vnmit-v1")["ifindex"] and ifl[0]["has_stats"],
            "domiflist: target, source, MAC and the kernel's ifindex", str(ifl))
    t.check(ifl[1]["type"] == "hostdev" and not ifl[1]["has_stats"]
            and "SR-IOV" in ifl[1]["no_stats_reason"], "hostdev listed with the reason it has no stats",
            str(ifl[1]))

    row = ifstat_row(bus, "vnmit-v1")
    t.check(row and row["vm_name"] == "itvm1" and row["mapped_by"] == "libvirt" and row["vm_id"] == 1
            and row["kind"] == "veth" and row["master"] == "vnmit-br0" and row["view"] == "guest",
            "ifstat row of a libvirt VM interface", str(row))
    row = ifstat_row(bus, "vnmit-q0")
    t.check(row and row["vm_name"] == "pve-fake" and row["vm_id"] == 902
            and row["mapped_by"] == "qemu-cmdline", "ifstat row mapped from a QEMU command line", str(row))
    row = ifstat_row(bus, "tap907i0")
    t.check(row and row["vm_id"] == 907 and row["mapped_by"] == "name-pattern" and row["kind"] == "tap",
            "ifstat row mapped by the tap<VMID>i<N> pattern", str(row))
    row = ifstat_row(bus, "vnmit-br0")
    t.check(row and row["vm_id"] == -1 and row["mapped_by"] == "" and row["view"] == "host"
            and row["kind"] == "bridge", "host-only bridge row: no VM, host's view", str(row))
    plain = [r["iface"] for r in cli_json(bus, "ifstat")]
    t.check("lo" not in plain and "lo" in [r["iface"] for r in cli_json(bus, "ifstat", "--all")],
            "lo hidden unless --all", str(plain))


def history_points(target):
    r = cli(bus, "history", target, "--metric", "tx_pps", "--since", "60s", "--json", check=False)
    return json.loads(r.stdout)["series"]["tx_pps"]["points"] if r.returncode == 0 else []


@t.case("traffic from the VM: rates, exact counters and history, in the guest's view")
def _():
    # --- counters: traffic sent by the VM is the VM's tx (guest's view) ------
    # The history's first second is only partly covered (the daemon started in
    # it); traffic starts once whole seconds are being recorded.
    wait_for(lambda: len(history_points("vnmit-v1")) >= 3, 15, "the history to record whole seconds")
    sh("ping", "-c", "1", "-W", "2", "10.213.0.2", netns=vm)
    PAYLOAD, COUNT = 1200, 6000
    sender = subprocess.Popen(
        ["ip", "netns", "exec", vm, "python3", "-c", f"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
data = b'x' * {PAYLOAD}
t0 = time.monotonic()
for i in range({COUNT}):
    s.sendto(data, ('10.213.0.2', 9))
    # ~1000 packets per second for about 6 s
    while time.monotonic() < t0 + (i + 1) / 1000.0:
        time.sleep(0.0002)
"""])
    on_cleanup(sender.kill)
    time.sleep(1.5)
    # Rate while traffic flows: compare with the kernel's own delta over 2 s.
    k0, t0 = kernel_link("vnmit-v1"), time.monotonic()
    time.sleep(2.0)
    k1, t1 = kernel_link("vnmit-v1"), time.monotonic()
    row = ifstat_row(bus, "vnmit-v1")
    kernel_mbps = (k1["rx_bytes"] - k0["rx_bytes"]) * 8 / 1e6 / (t1 - t0)
    kernel_pps = (k1["rx_packets"] - k0["rx_packets"]) / (t1 - t0)
    t.check(row and abs(row["tx_mbps"] - kernel_mbps) <= 0.15 * kernel_mbps and kernel_mbps > 5,
            f"VM tx rate matches the kernel's host-side rx rate ({kernel_mbps:.2f} Mbps)",
            f"daemon {row and row['tx_mbps']:.3f} Mbps vs kernel {kernel_mbps:.3f}")
    t.check(row and abs(row["tx_pps"] - kernel_pps) <= 0.15 * kernel_pps,
            f"VM tx pps matches the kernel ({kernel_pps:.0f} pps)",
            f"daemon {row and row['tx_pps']} vs kernel {kernel_pps}")
    t.check(row and row["rx_mbps"] < 0.1 * row["tx_mbps"], "direction: the VM sends, it barely receives",
            str(row))
    sender.wait(30)

    # Once traffic stops, counters must equal the kernel's exactly.
    # The daemon's counters are those of its last sample (at most one interval
    # old): a stray IPv6 neighbour discovery packet since then shows as a
    # difference, so the pair is read again once the counters stood still.
    time.sleep(2.5)
    for _ in range(5):
        k = kernel_link("vnmit-v1")
        st = cli_json(bus, "domifstat", "itvm1", "vnmit-v1")
        text = cli(bus, "domifstat", "itvm1").stdout
        if len(st) == 1 and st[0]["tx_packets"] == k["rx_packets"] and st[0]["rx_packets"] == k["tx_packets"] \
                and kernel_link("vnmit-v1") == k:
            break
        time.sleep(1.5)
    t.check(len(st) == 1 and st[0]["tx_bytes"] == k["rx_bytes"] and st[0]["tx_packets"] == k["rx_packets"]
            and st[0]["rx_bytes"] == k["tx_bytes"] and st[0]["rx_packets"] == k["tx_packets"],
            "domifstat counters equal `ip -s link` (swapped into the guest's view)",
            f"daemon {st} kernel {k}")
    t.check(st[0]["tx_packets"] >= COUNT, f"all {COUNT} datagrams counted", str(st[0]))
    row = ifstat_row(bus, "vnmit-v1")
    # (IPv6 neighbour discovery may still send a packet now and then.)
    t.check(row and row["tx_mbps"] < 0.01 and row["tx_pps"] < 5, "rates fall to zero when traffic stops",
            str(row))
    t.check(f"vnmit-v1 tx_bytes {k['rx_bytes']}" in text, "domifstat text output in virsh's format",
            text)

    # --- history: per-second rates add up to the kernel's packet count -----------
    # Every second since the daemon started has a sample of delta/dt, so their
    # sum is the counter's increase since then (the device is older than the
    # daemon only by a few IPv6 neighbour discovery packets).
    k = kernel_link("vnmit-v1")
    h = cli_json(bus, "history", "vnmit-v1", "--metric", "tx_pps", "--since", "15m")
    pts = h["series"]["tx_pps"]["points"]
    total = sum(p["avg"] for p in pts)
    t.check(h["series"]["tx_pps"]["resolution_seconds"] == 1 and abs(total - k["rx_packets"]) <= 0.01 * k["rx_packets"],
            f"history: {len(pts)} one-second points whose tx_pps sum to the kernel's count within 1 % "
            f"({total:.0f} vs ip -s link {k['rx_packets']})", str(pts[-12:]))
    peak = max(p["avg"] for p in pts)
    t.check(800 <= peak <= 1200, f"history shows the ~1000 pps the VM sent (peak {peak:.0f})")
    times = [p["time"] for p in pts]
    t.check(times == sorted(times) and len(set(times)) == len(times), "points are oldest first, one per second")
    hv = cli_json(bus, "history", "itvm1", "--metric", "tx_pps", "--since", "15m")
    by_time = {p["time"]: p["avg"] for p in pts}
    vm_pts = hv["series"]["tx_pps"]["points"]
    t.check(len(vm_pts) >= 5 and all(p["time"] in by_time and abs(p["avg"] - by_time[p["time"]]) <= 1e-6 * max(p["avg"], 1)
                                     for p in vm_pts),
            "the domain's history is the sum of its interfaces, second by second (from when it was known)",
            f"{[(p['time'] % 1000, round(p['avg'])) for p in pts]} vs {[(p['time'] % 1000, round(p['avg'])) for p in vm_pts]}")
    h2 = cli_json(bus, "history", "itvm1", "--since", "2h")
    mins = h2["series"]["tx_mbps"]["points"]
    t.check(h2["series"]["tx_mbps"]["resolution_seconds"] == 60 and "rx_mbps" in h2["series"] and mins
            and max(p["max"] for p in mins) >= 0.8 * peak * PAYLOAD * 8 / 1e6,
            "--since 2h: per-minute points whose max keeps the per-second peak", str(mins))
    text = cli(bus, "history", "itvm1", "--metric", "tx_pps").stdout
    t.check("tx_pps over the last 900 s" in text and re.search(r"max \d+", text) is not None,
            "history text output: a sparkline and min/avg/max", text)


@t.case("bridge port notifications leave the port's counters intact")
def _():
    # The bridge announces port changes as RTM_NEWLINK/RTM_DELLINK of family
    # AF_BRIDGE, without statistics. They must neither zero a port's counters nor
    # remove the port until the next dump (a CI run once read rx_bytes 0 here).
    # (Some traffic to the VM first, so that its rx counter is not 0.)
    sh("ping", "-c", "1", "-W", "2", "10.213.0.2", netns=vm)
    seen = []
    for flag in ("off", "on", "off", "on"):
        sh("bridge", "link", "set", "dev", "vnmit-v1", "learning", flag)
        for _ in range(4):
            st = cli_json(bus, "domifstat", "itvm1", "vnmit-v1")
            seen.append((st[0]["tx_bytes"], st[0]["rx_bytes"]))
    k = kernel_link("vnmit-v1")
    t.check(all(tx >= k["rx_bytes"] - 2000 and tx <= k["rx_bytes"] and rx <= k["tx_bytes"] and rx > 0
                for tx, rx in seen),
            "bridge port notifications (AF_BRIDGE) leave the port's counters intact",
            f"read {seen} kernel rx {k['rx_bytes']} tx {k['tx_bytes']}")


@t.case("history: bad input")
def _():
    r = cli(bus, "history", "itvm1", "--metric", "tx_bogus", check=False)
    t.check(r.returncode == 2 and "tx_bogus" in r.stderr, "unknown metric: exit 2, named", r.stderr)
    r = cli(bus, "history", "itvm1", "--since", "3w", check=False)
    t.check(r.returncode == 2 and "3w" in r.stderr, "bad --since: exit 2, named", r.stderr)
    r = cli(bus, "history", "no-such-vm", check=False)
    t.check(r.returncode == 1 and "no-such-vm" in r.stderr, "unknown history target: exit 1, named", r.stderr)
    r = subprocess.run(["gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
                        "--object-path", "/org/virtnetmon/Monitor1", "--method",
                        "org.virtnetmon.Monitor1.GetHistory", "itvm1", "rx_mbps", "0"],
                       text=True, capture_output=True)
    t.check("InvalidArgument" in r.stderr, "D-Bus GetHistory with a zero span: InvalidArgument", r.stderr)


@t.case("a new device is listed, a deleted one goes")
def _():
    # --- rows appear and vanish with devices; recreation gives no spike -----
    make_link("vnmit-new0", "type", "veth", "peer", "name", "vnmit-new0p")
    t0 = time.monotonic()
    wait_for(lambda: ifstat_row(bus, "vnmit-new0") is not None, 2, "vnmit-new0 to appear")
    t.check(True, f"new device listed after {time.monotonic() - t0:.2f} s")
    sh("ip", "link", "del", "vnmit-new0")
    wait_for(lambda: ifstat_row(bus, "vnmit-new0") is None, 2, "vnmit-new0 to vanish")
    t.check(True, "deleted device gone within 2 s")


@t.case("a device recreated under the same name")
def _():
    # Recreate vnmit-q0 under the same name: new ifindex, counters from zero.
    old_index = kernel_link("vnmit-q0")["ifindex"]
    sh("ip", "link", "del", "vnmit-q0")
    with shared_cleanups():  # the fixture's device, for the cases after this one
        make_link("vnmit-q0", "type", "veth", "peer", "name", "vnmit-q0p")
    sh("ip", "link", "set", "vnmit-q0", "up")
    sh("ip", "link", "set", "vnmit-q0p", "up")
    time.sleep(2.5)
    row = ifstat_row(bus, "vnmit-q0")
    t.check(row and row["ifindex"] != old_index and row["vm_name"] == "pve-fake"
            and row["rx_mbps"] < 1 and row["tx_mbps"] < 1,
            "device recreated under the same name: new ifindex, still mapped, no spike", str(row))


@t.case("sorting, filtering, top")
def _():
    # --- sorting, filtering, top ---------------------------------------------
    rows = cli_json(bus, "ifstat", "--all", "--sort", "rx", "--asc")
    rx = [r["rx_mbps"] for r in rows]
    t.check(rx == sorted(rx), "--sort rx --asc sorts ascending")
    t.check(len(cli_json(bus, "ifstat", "--all", "--top", "2")) == 2, "--top 2 gives two rows")
    f = cli_json(bus, "ifstat", "--filter", "ITVM")
    t.check([r["iface"] for r in f] == ["vnmit-v1"], "--filter matches VM name case-insensitively",
            str([r["iface"] for r in f]))
    f = cli_json(bus, "ifstat", "--filter", "902")
    t.check([r["iface"] for r in f] == ["vnmit-q0"], "--filter matches the VM id")


def proc_net_dev():
    """/proc/net/dev of this namespace: name -> (rx bytes, packets, errs, drop,
    tx bytes, packets, errs, drop), the host's view."""
    out = {}
    with open("/proc/net/dev") as f:
        for line in f.readlines()[2:]:
            name, _, fields = line.partition(":")
            v = [int(x) for x in fields.split()]
            out[name.strip()] = (v[0], v[1], v[2], v[3], v[8], v[9], v[10], v[11])
    return out


COUNTERS = ("rx_bytes", "rx_packets", "rx_errors", "rx_drops",
            "tx_bytes", "tx_packets", "tx_errors", "tx_drops")


def as_host_view(row):
    """A row's counters in /proc/net/dev's order and view (a VM's interface
    is shown in the guest's view: its rx is the host's tx)."""
    v = [row[k] for k in COUNTERS]
    return tuple(v[4:] + v[:4]) if row["view"] == "guest" else tuple(v)


def within(low, daemon, high):
    """Whether the daemon's counters lie between two readings of /proc/net/dev
    (equal when they are). /proc/net/dev's rx drop adds rx_missed_errors to
    the rx_dropped the daemon reads: at most that, there."""
    return all(d <= h and (i == 3 or lo <= d) for i, (lo, d, h) in enumerate(zip(low, daemon, high)))


@t.case("ifstat --all --json by columns: what GetLinkStats gives, and /proc/net/dev")
def _():
    ifstat = [os.path.join(build_dir(), "src", "virtnetmon"), "--bus-address", bus.address,
              "ifstat", "--all", "--json"]
    # The columns, as introspection documents them.
    r = sh("gdbus", "introspect", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1")
    t.check("GetLinkStatsColumns(" in r.stdout and "out as columns" in r.stdout
            and "out av values" in r.stdout, "introspection lists GetLinkStatsColumns", r.stdout[:300])
    # ifstat asks for columns (GDBus traces its calls on stdout);
    # VIRTNETMON_COMPACT=0 makes it ask GetLinkStats, as it does when the
    # daemon is older.
    traced = subprocess.run(ifstat, text=True, capture_output=True,
                            env=dict(os.environ, G_DBUS_DEBUG="call")).stdout
    old_traced = subprocess.run(ifstat, text=True, capture_output=True,
                                env=dict(os.environ, G_DBUS_DEBUG="call", VIRTNETMON_COMPACT="0")).stdout
    t.check(".GetLinkStatsColumns()" in traced and ".GetLinkStats()" not in traced
            and ".GetLinkStats()" in old_traced and ".GetLinkStatsColumns()" not in old_traced,
            "ifstat calls GetLinkStatsColumns; with VIRTNETMON_COMPACT=0 GetLinkStats",
            "\n".join(line for line in (traced + old_traced).splitlines() if ">>>>" in line))

    # The same document, byte for byte, from a state that did not change
    # between the calls (the columns before and after the records agree).
    for _ in range(10):
        new = subprocess.run(ifstat, text=True, capture_output=True, check=True).stdout
        old = subprocess.run(ifstat, text=True, capture_output=True, check=True,
                             env=dict(os.environ, VIRTNETMON_COMPACT="0")).stdout
        again = subprocess.run(ifstat, text=True, capture_output=True, check=True).stdout
        if new == again:
            break
        time.sleep(0.3)
    rows = check_json(("ifstat", "--all"), json.loads(new))
    t.check(new == again and new == old and len(rows) >= 8,
            f"ifstat --all --json: {len(rows)} rows, the same text as from GetLinkStats' records",
            f"{len(new)} vs {len(old)} bytes; first difference at "
            f"{next((i for i, (a, b) in enumerate(zip(new, old)) if a != b), min(len(new), len(old)))}")

    # Every interface of /proc/net/dev, counters as the kernel has them.
    # The daemon's counters are of its last sample: taken after `early`
    # (more than an interval before), so between `early` and `late`, and
    # exactly `late` for a device whose counters stood still meanwhile.
    early = proc_net_dev()
    time.sleep(2.2)
    rows = check_json(("ifstat", "--all"), json.loads(
        subprocess.run(ifstat, text=True, capture_output=True, check=True).stdout))
    late = proc_net_dev()
    got = {r["iface"]: r for r in rows}
    steady = [n for n in late if early.get(n) == late[n]]
    exact = [n for n in steady if n in got and within(late[n], as_host_view(got[n]), late[n])]
    between = [n for n in late if n in got and n in early
               and within(early[n], as_host_view(got[n]), late[n])]
    t.check(set(got) == set(late) == set(early),
            f"ifstat --all lists the {len(late)} interfaces of /proc/net/dev",
            f"{sorted(set(got) ^ set(late))}")
    t.check(len(exact) == len(steady) and "vnmit-v1" in exact and "vnmit-br0" in exact,
            f"counters equal /proc/net/dev for the {len(steady)} interfaces whose counters stood still "
            "(guest's view swapped for VM interfaces)",
            str([(n, as_host_view(got[n]), late[n]) for n in steady if n not in exact][:5]))
    t.check(len(between) == len(late), "counters of the others lie between two readings of /proc/net/dev",
            str([(n, early.get(n), got.get(n) and as_host_view(got[n]), late[n])
                 for n in late if n not in between][:5]))
    # The wire form itself: the text columns are NUL-ended strings.
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.virtnetmon.Monitor1.GetLinkStatsColumns", "tx", "false", "0", "true", "vnmit-v1",
           "['iface', 'rx_bytes']")
    t.check("(['iface', 'rx_bytes'], [<b'vnmit-v1'>, <[uint64" in r.stdout,
            "GetLinkStatsColumns over D-Bus: the columns asked for, text as bytes", r.stdout)
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.virtnetmon.Monitor1.GetLinkStatsColumns", "tx", "false", "0", "true", "",
           "['iface', 'bogus']", check=False)
    t.check(r.returncode != 0 and "org.virtnetmon.Error.InvalidArgument" in r.stderr
            and "'bogus'" in r.stderr, "an unknown column is InvalidArgument naming it", r.stderr)


@t.case("bad input: clear messages, exit codes, named D-Bus errors")
def _():
    # --- bad input: clear messages, exit codes, named D-Bus errors -----------
    r = cli(bus, "domiflist", "no-such-vm", check=False)
    t.check(r.returncode == 1 and "'no-such-vm'" in r.stderr, "unknown domain: exit 1, names it", r.stderr)
    r = cli(bus, "ifstat", "--sort", "sideways", check=False)
    t.check(r.returncode == 2 and "'sideways'" in r.stderr, "bad sort key: exit 2", r.stderr)
    r = cli(bus, "lsit", check=False)
    t.check(r.returncode == 2 and "did you mean 'list'" in r.stderr, "typo: exit 2 with a suggestion",
            r.stderr)
    r = cli(bus, "domifstat", "itvm1", "eth9", check=False)
    t.check(r.returncode == 1 and "'eth9'" in r.stderr, "unknown interface: exit 1, names it", r.stderr)
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.virtnetmon.Monitor1.GetLinkStats", "up", "false", "0", "false", "", check=False)
    t.check(r.returncode != 0 and "org.virtnetmon.Error.InvalidArgument" in r.stderr,
            "D-Bus: bad sort key is org.virtnetmon.Error.InvalidArgument", r.stderr)
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.virtnetmon.Monitor1.ListInterfaces", "x" * 5000, check=False)
    t.check(r.returncode != 0 and "InvalidArgument" in r.stderr, "D-Bus: huge argument refused",
            r.stderr[:300])
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.virtnetmon.Monitor1.ListInterfaces", "42", "extra", check=False)
    t.check(r.returncode != 0, "D-Bus: wrong argument count refused", r.stderr[:300])
    r = sh("gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
           "--object-path", "/org/virtnetmon/Monitor1", "--method",
           "org.freedesktop.DBus.ObjectManager.GetManagedObjects")
    t.check("/org/virtnetmon/Monitor1/domain/2f0c6a4e_1d3b_4a8e_9c7f_5b6a7d8e9f01" in r.stdout
            and "org.virtnetmon.Domain1" in r.stdout, "ObjectManager exports one object per domain",
            r.stdout[:500])


@t.case("bus policy: anyone may read, only root may own the name")
def _():
    # Bus policy: anyone may read; nobody but root may own the name.
    r = cli(bus, "list", "--json", check=False, user="nobody")
    t.check(r.returncode == 0 and "itvm1" in r.stdout, "an unprivileged user may read", r.stderr)
    r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                        os.path.join(build_dir(), "src", "virtnetmond"), "--bus-address", bus.address,
                        "--no-bpf", "--connect", "test:///default", "--usage-db", ""],
                       text=True, capture_output=True, timeout=20)
    t.check(r.returncode != 0 and "cannot own the D-Bus name" in r.stderr,
            "an unprivileged user cannot own org.virtnetmon.Monitor1", r.stderr)


@t.case("a QEMU holding a macvtap open (-netdev tap,fd=): mapped, counted as its guest does")
def _():
    # A macvtap over a veth, quiet (no IPv6 on any of them), and a QEMU-like
    # process that holds /dev/tap<ifindex> open as QEMU does when given the
    # fd. The test writes frames into that fd (what the guest sends) and
    # sends frames to the macvtap's MAC on the lower device's peer (what the
    # guest receives); ground truth: the kernel's counters of the macvtap
    # and of the peer.
    make_link("vnmit-mvl", "type", "veth", "peer", "name", "vnmit-mvp")
    sh("ip", "link", "add", "link", "vnmit-mvl", "name", "vnmit-mvt", "type", "macvtap", "mode", "bridge")
    for dev in ("vnmit-mvl", "vnmit-mvp", "vnmit-mvt"):
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
        sh("ip", "link", "set", dev, "up")
    info = json.loads(sh("ip", "-j", "link", "show", "dev", "vnmit-mvt").stdout)[0]
    peer_mac = bytes.fromhex(json.loads(sh("ip", "-j", "link", "show", "dev", "vnmit-mvp").stdout)[0]
                             ["address"].replace(":", ""))
    mac = bytes.fromhex(info["address"].replace(":", ""))
    fd = os.open(f"/dev/tap{info['ifindex']}", os.O_RDWR)
    on_cleanup(os.close, fd)
    q = subprocess.Popen([os.path.join(build_dir(), "tests", "helpers", "qemu-system-x86_64"),
                          "-name", "mv-fake", "-netdev", f"tap,id=net0,fd={fd}"], pass_fds=(fd,))
    on_cleanup(q.kill)

    def listed():
        return [i for i in cli_json(bus, "domiflist", "mv-fake")] if "mv-fake" in [
            d["vm_name"] for d in cli_json(bus, "list")] else []
    # Found by the next scan of /proc: soon after a link changes, else within 30 s.
    wait_for(lambda: listed(), 40, "the QEMU-like process holding the macvtap to be listed")
    ifl = check_json(["domiflist", "mv-fake"], listed())
    t.check(len(ifl) == 1 and ifl[0]["iface"] == "vnmit-mvt" and ifl[0]["type"] == "direct"
            and ifl[0]["ifindex"] == info["ifindex"] and ifl[0]["mapped_by"] == "qemu-cmdline",
            "the macvtap whose /dev/tap the process holds is its interface, type direct", str(ifl))

    sent, received = 9, 5
    k0, p0 = kernel_link("vnmit-mvt"), kernel_link("vnmit-mvp")
    o0 = cli_json(bus, "domifstat", "mv-fake", "vnmit-mvt")[0]
    # IFF_VNET_HDR is on for a macvtap queue: a 10-byte virtio-net header first.
    for i in range(sent):
        os.write(fd, b"\0" * 10 + peer_mac + mac + b"\x88\xb5" + bytes([i]) * 200)
    with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as raw:
        raw.bind(("vnmit-mvp", 0))
        for i in range(received):
            raw.send(mac + peer_mac + b"\x88\xb5" + bytes([i]) * 300)
    time.sleep(2.5)
    k1, p1 = kernel_link("vnmit-mvt"), kernel_link("vnmit-mvp")
    o1 = check_json(["domifstat", "mv-fake", "vnmit-mvt"], cli_json(bus, "domifstat", "mv-fake", "vnmit-mvt"))[0]
    d = {key: o1[key] - o0[key] for key in ("tx_packets", "rx_packets", "tx_bytes", "rx_bytes")}
    t.check(p1["rx_packets"] - p0["rx_packets"] == sent and k1["tx_packets"] - k0["tx_packets"] == sent
            and k1["rx_packets"] - k0["rx_packets"] == received,
            f"the kernel: the {sent} frames written reached the peer as the macvtap's tx, the {received} "
            "sent to it are its rx", f"macvtap {k0} -> {k1}, peer rx {p1['rx_packets'] - p0['rx_packets']}")
    t.check(d == {"tx_packets": sent, "rx_packets": received, "tx_bytes": sent * 214,
                  "rx_bytes": received * 314},
            "domifstat: what the process wrote is the VM's tx, what came to it its rx (not swapped)", str(d))
    row = ifstat_row(bus, "vnmit-mvt")
    t.check(row and row["vm_name"] == "mv-fake" and row["kind"] == "macvtap" and row["view"] == "guest"
            and row["tx_packets"] == k1["tx_packets"] and row["rx_packets"] == k1["rx_packets"],
            "ifstat: the macvtap's row in the guest's view equals its own counters", f"{row} {k1}")
    q.kill()
    q.wait()
    wait_for(lambda: "mv-fake" not in [d["vm_name"] for d in cli_json(bus, "list")], 40,
             "the process's VM to go when it exits")
    t.check(True, "the process's VM goes when it exits")


@t.case("status")
def _():
    st = cli_json(bus, "status")
    t.check(st["libvirt_connected"] and st["libvirt_uri"].startswith("test://")
            and "bpf_tc" in st["kernel_capabilities"], "status reports libvirt and kernel capabilities",
            str(st))


@t.case("the QEMU process and the daemon going away")
def _():
    # --- the daemon going away ------------------------------------------------
    fake.kill()
    fake.wait()
    wait_for(lambda: "pve-fake" not in [d["vm_name"] for d in cli_json(bus, "list")], 40,
             "the QEMU VM to go when its process exits")
    t.check(True, "a QEMU VM whose process exited is removed")
    daemon.stop()
    r = cli(bus, "list", check=False)
    t.check(r.returncode == 1 and "not running" in r.stderr and r.stderr.count("\n") <= 2,
            "no daemon: one clear line, exit 1", r.stderr)


t.done()
