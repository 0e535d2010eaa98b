#!/usr/bin/env python3
"""End to end: a real libvirtd, a QEMU/TCG busybox guest with an
<interface type='bridge'> and an <interface type='ethernet'> whose target is
tap105i1. virtnetmon must agree with virsh, see the guest's download as
traffic into the VM, and follow the domain stopping and starting again.

The guest's only peer is a network namespace this test owns, on a bridge with
no host address: no traffic leaves the machine.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (GUEST_DIR, LIBVIRT_URI, Bus, Daemon, Results, build_dir, check_json, cli,  # noqa: E402
                     cli_json, destroyed_at_cleanup, ifstat_row, kernel_link, make_link, make_netns, on_cleanup,
                     prepare_libvirt_guest, qemu_pid_of, require_root, sh, skip, source_dir,
                     stop_libvirt_daemon, daemon_pid, virsh, wait_for)

require_root()
for tool in ("virsh", "libvirtd", "qemu-system-x86_64", "busybox"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (libvirt-daemon-system, qemu-system-x86, busybox-static)")

why = prepare_libvirt_guest()
if why:
    skip(why)
guest_dir = GUEST_DIR
URI = LIBVIRT_URI
NAME = "vnm-e2e-guest"
TCX_PROGS = os.path.join(build_dir(), "tests", "helpers", "tcx-progs")
BLOB = 2 * 1024 * 1024
FETCHES = 3
t = Results()
destroyed_at_cleanup(NAME)

# The guest's segment: a bridge with no host address, and a peer namespace.
make_link("vnme2e-br0", "type", "bridge")
sh("ip", "link", "set", "vnme2e-br0", "up")
peer = make_netns("vnme2e-peer")
make_link("vnme2e-p", "type", "veth", "peer", "name", "vnme2e-pg")
sh("ip", "link", "set", "vnme2e-pg", "netns", peer)
sh("ip", "link", "set", "vnme2e-p", "master", "vnme2e-br0")
sh("ip", "link", "set", "vnme2e-p", "up")
sh("ip", "addr", "add", "10.215.0.2/24", "dev", "vnme2e-pg", netns=peer)
sh("ip", "link", "set", "vnme2e-pg", "up", netns=peer)
www = tempfile.mkdtemp(prefix="vnm-www-")
on_cleanup(shutil.rmtree, www, True)
with open(os.path.join(www, "blob"), "wb") as f:
    f.write(b"\0" * BLOB)
server = subprocess.Popen(["ip", "netns", "exec", peer, "python3", "-m", "http.server", "80",
                           "--bind", "10.215.0.2", "--directory", www],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
on_cleanup(server.kill)

console = f"/var/log/libvirt/{NAME}.console"
DOMAIN_XML = f"""<domain type='qemu'>
  <name>{NAME}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{guest_dir}/vmlinuz</kernel>
    <initrd>{guest_dir}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet vnm.ip=10.215.0.11/24 vnm.peer=10.215.0.2 vnm.count={FETCHES}</cmdline>
  </os>
  <!-- ACPI: PCI hot-plug of a NIC on the pc machine's root bus. -->
  <features><acpi/></features>
  <devices>
    <interface type='bridge'>
      <source bridge='vnme2e-br0'/>
      <model type='virtio'/>
    </interface>
    <interface type='ethernet'>
      <target dev='tap105i1' managed='yes'/>
      <model type='virtio'/>
    </interface>
    <serial type='file'><source path='{console}'/><target port='0'/></serial>
  </devices>
</domain>
"""
xml_path = os.path.join(www, "domain.xml")
with open(xml_path, "w") as f:
    f.write(DOMAIN_XML)

bus = Bus()

# The libvirt hook, as installed (a link in qemu.d to the hook program), and
# after it a hook of this test's that records, at "start" -- QEMU not yet
# running -- what virtnetmond already knows. libvirtd looks for hooks when it
# starts: restart it with them in place.
HOOK_DIR = "/etc/libvirt/hooks/qemu.d"
hook = os.path.join(HOOK_DIR, "virtnetmon")
check_hook = os.path.join(HOOK_DIR, "zz-vnm-e2e-check")
seen_at_start = os.path.join(www, "seen-at-start.json")
os.makedirs(HOOK_DIR, exist_ok=True)
for p in (hook, check_hook):
    if os.path.lexists(p):
        os.unlink(p)
os.symlink(os.path.join(build_dir(), "hooks", "virtnetmon-libvirt-hook"), hook)
on_cleanup(os.unlink, hook)
with open(check_hook, "w") as f:
    f.write(f"""#!/bin/sh
[ "$2" = start ] || exit 0
cat >/dev/null
{os.path.join(build_dir(), "src", "virtnetmon")} --bus-address '{bus.address}' status --json > {seen_at_start}.tmp 2>&1
mv {seen_at_start}.tmp {seen_at_start}
exit 0
""")
os.chmod(check_hook, 0o755)
on_cleanup(os.unlink, check_hook)
stop_libvirt_daemon("libvirtd")
sh(os.path.join(source_dir(), "tests", "guest", "libvirt-up.sh"))

daemon = Daemon(bus, "--connect", URI, "--interval", "1")
wait_for(lambda: cli_json(bus, "status")["libvirt_connected"], 15, "virtnetmond to reach libvirtd")


def start_guest():
    if os.path.exists(console):
        os.unlink(console)
    r = virsh("create", xml_path, check=False)
    assert r.returncode == 0, f"virsh create: {r.stderr}"


def console_text():
    try:
        with open(console, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def names():
    return [d["vm_name"] for d in cli_json(bus, "list")]


# Latency tracing for every domain, including those started later.
cli(bus, "latency", "--all", "--on", "--threshold", "100000")
peer_sent_before = kernel_link("vnme2e-p")["rx_packets"]
start_guest()
wait_for(lambda: NAME in names(), 10, "the started domain to be listed (lifecycle event)")
t.check(True, "started domain listed without a daemon restart")

# domiflist agrees with virsh domiflist.
vl = virsh("domiflist", NAME).stdout.strip().splitlines()[2:]
virsh_rows = [line.split() for line in vl if line.strip()]
ours = cli_json(bus, "domiflist", NAME)
ours_rows = [[i["iface"], i["type"], i["source"] or "-", i["model"] or "-", i["mac"]] for i in ours]
t.check(ours_rows == virsh_rows, "domiflist agrees with virsh domiflist",
        f"ours {ours_rows} virsh {virsh_rows}")
t.check(all(i["ifindex"] > 0 and i["mapped_by"] == "libvirt" for i in ours),
        "both interfaces mapped by libvirt to present host devices", str(ours))
vnet = next(i["iface"] for i in ours if i["type"] == "bridge")

wait_for(lambda: f"VNM-FETCH-DONE {FETCHES}" in console_text(), 120,
         "the guest to finish its downloads")
t.check(True, f"guest downloaded {FETCHES} x {BLOB} bytes")
time.sleep(2.5)


def virsh_stats(iface):
    out = virsh("domifstat", NAME, iface).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\S+ (\w+) (\d+)", out)}


for iface in (vnet, "tap105i1"):
    v = virsh_stats(iface)
    o = cli_json(bus, "domifstat", NAME, iface)[0]
    # Our keys, and virsh's names for the same counters.
    keys = {"rx_bytes": "rx_bytes", "rx_packets": "rx_packets", "tx_bytes": "tx_bytes",
            "tx_packets": "tx_packets", "rx_errors": "rx_errs", "tx_errors": "tx_errs",
            "rx_drops": "rx_drop", "tx_drops": "tx_drop"}
    # The guest is quiet now; allow a stray neighbour-discovery packet.
    close = all(abs(o[k] - v[vk]) <= (300 if "bytes" in k else 3) for k, vk in keys.items())
    t.check(close, f"domifstat {iface} agrees with virsh domifstat",
            f"ours { {k: o[k] for k in keys} } virsh {v}")

# The hook: at "start", before QEMU ran, the domain was mapped and both of its
# devices had their probe; so the probe counted every packet the guest sent.
try:
    with open(seen_at_start) as f:
        at_start = check_json(["status"], json.load(f))
except (OSError, ValueError, AssertionError) as e:
    at_start = {"error": str(e)}
probed = {p["iface"]: p["attached"] for p in at_start.get("probes", []) if p.get("vm_name") == NAME}
t.check(probed.get(vnet) and probed.get("tap105i1"),
        "libvirt hook: at \"start\", before QEMU runs, both devices are mapped and probed", str(at_start)[:800])
for _ in range(5):      # a stray packet between the two reads: read again
    o = cli_json(bus, "domifstat", NAME, vnet)[0]
    k = kernel_link(vnet)
    if o["probe_tx_packets"] == k["rx_packets"]:
        break
    time.sleep(0.3)
t.check(o["probe_tx_packets"] == k["rx_packets"] and k["rx_packets"] > 0,
        f"every packet the guest sent since boot ({k['rx_packets']}) was counted by the probe",
        f"probe {o['probe_tx_packets']} kernel {k['rx_packets']}")

# The hook never holds libvirt up: with the daemon frozen it gives up within
# a second, and it always exits 0 (a failing start hook fails the VM).
hook_bin = os.path.join(build_dir(), "hooks", "virtnetmon-libvirt-hook")
os.kill(daemon.proc.pid, signal.SIGSTOP)
t0 = time.monotonic()
r = subprocess.run([hook_bin, NAME, "start", "begin", "-"], input=DOMAIN_XML, capture_output=True,
                   text=True, timeout=10)
took = time.monotonic() - t0
os.kill(daemon.proc.pid, signal.SIGCONT)
t.check(r.returncode == 0 and took < 1.5 and "virtnetmond" in r.stderr,
        f"hook with the daemon not answering: exit 0 after {took:.2f} s, saying why", r.stderr)
r = subprocess.run([hook_bin, NAME, "start", "begin", "-"], input="<domain><oops", capture_output=True,
                   text=True, timeout=10)
t.check(r.returncode == 0 and "XML" in r.stderr, "hook with malformed XML: exit 0, the daemon's parse error shown",
        r.stderr)
r = subprocess.run(["gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
                    "--object-path", "/org/virtnetmon/Monitor1", "--method",
                    "org.virtnetmon.Monitor1.DomainHook", "migrate", "<domain/>"],
                   capture_output=True, text=True)
t.check(r.returncode != 0 and "InvalidArgument" in r.stderr and "migrate" in r.stderr,
        "DomainHook names an unknown operation", r.stderr)
r = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                    "gdbus", "call", "--address", bus.address, "--dest", "org.virtnetmon.Monitor1",
                    "--object-path", "/org/virtnetmon/Monitor1", "--method",
                    "org.virtnetmon.Monitor1.DomainHook", "release", DOMAIN_XML],
                   capture_output=True, text=True)
t.check(r.returncode != 0 and "AccessDenied" in r.stderr and NAME in names(),
        "DomainHook from a user other than root: refused by the bus, the domain stays", r.stderr)

# The flow probe on the guest's bridge port saw the downloads: outgoing TCP
# to the peer's port 80, received bytes = what the server sent (ground
# truth: the same response fetched here, byte for byte).
probe = {p["iface"]: p for p in cli_json(bus, "status")["probes"]}
t.check(probe.get(vnet, {}).get("attached") and probe.get("tap105i1", {}).get("attached"),
        "flow probe attached to both of the guest's host devices", str(probe))
response = sh("python3", "-c", """
import socket
s = socket.create_connection(("10.215.0.2", 80))
s.sendall(b"GET /blob HTTP/1.0\\r\\nHost: 10.215.0.2\\r\\n\\r\\n")
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n)
""", netns=peer).stdout
response_len = int(response)
rows = [r for r in cli_json(bus, "flows", NAME, "--by", "flow", "--proto", "tcp")
        if r["remote_ip"] == "10.215.0.2" and r["remote_port"] == 80]
t.check(len(rows) == FETCHES and all(r["initiator"] == "vm" and r["tcp_conns_opened"] == 1 and
                                     r["rx_bytes"] == response_len for r in rows),
        f"each download is an outgoing TCP flow with rx_bytes = the {response_len}-byte response",
        str(rows))

o = cli_json(bus, "domifstat", NAME, vnet)[0]
t.check(o["rx_bytes"] >= FETCHES * BLOB and o["tx_bytes"] < o["rx_bytes"] / 5,
        "the guest's downloads are traffic into the VM (rx, guest's view)", str(o))
row = ifstat_row(bus, "tap105i1")
t.check(row and row["vm_name"] == NAME and row["mapped_by"] == "libvirt",
        "tap105i1 mapped by libvirt (not just by its name pattern)", str(row))

# Latency: tracing was on for every domain before this one started, so
# every packet QEMU read from the bridge port's tap was measured from the
# tap to the guest; the tap's own counters say how many that was.
lat = cli_json(bus, "latency", NAME, "--interface", vnet)
rows = {(r["direction"], r["stage"]): r for r in lat["stages"]}
guest = rows.get(("rx", "xmit_to_guest"), {})
v = virsh_stats(vnet)
t.check(lat["state"]["traced"] and lat["state"]["scope"] == "all",
        "a domain started after 'latency --all --on' is traced", json.dumps(lat["state"]))
t.check(guest and v["rx_packets"] - 10 <= guest["packets"] <= v["rx_packets"] and guest["p50_us"] > 0,
        "every packet into the guest is measured from tap to guest (QEMU's read)",
        f"count {guest.get('packets')} vs domifstat rx_packets {v['rx_packets']}")
rcv = rows.get(("rx", "rcv_to_queue"), {})
# Each skb the peer sent since the guest started (its port's rx counter; a
# GSO skb counts once there and here) crossed the bridge to the guest's tap.
peer_sent = kernel_link("vnme2e-p")["rx_packets"] - peer_sent_before
t.check(rcv and peer_sent - 10 <= rcv["packets"] <= peer_sent and rcv["p50_us"] < 5000,
        "every skb from the peer's bridge port to the guest's tap is measured at the bridge hop",
        f"count {rcv.get('packets')} vs the port's rx_packets {peer_sent}: {json.dumps(rcv)[:200]}")
tx = rows.get(("tx", "total"), {})
t.check(tx and tx["packets"] > 0, "the guest's requests and ACKs are measured from its tap to the next device",
        json.dumps(tx)[:300])
drops = cli_json(bus, "drops", NAME)
full = sum(d["packets"] for d in drops if d["iface"] == vnet and d["direction"] == "rx" and d["reason"] == "FULL_RING")
t.check(full == v["rx_drop"], "full-queue drops into the guest agree with virsh domifstat rx_drop",
        f"{full} vs {v['rx_drop']}: {drops}")
cli(bus, "latency", "--all", "--off")

virsh("destroy", NAME)
wait_for(lambda: NAME not in names() and ifstat_row(bus, vnet) is None, 10,
         "the stopped domain and its rows to go")
t.check(True, "stopping the domain removes it and its rows")

# Persistent this time (define + start), to undefine it while it runs.
virsh("define", xml_path)
on_cleanup(virsh, "undefine", NAME, check=False)
if os.path.exists(console):
    os.unlink(console)
virsh("start", NAME)
wait_for(lambda: NAME in names(), 10, "the domain to come back")
ours = cli_json(bus, "domiflist", NAME)
t.check(len(ours) == 2 and all(i["has_stats"] for i in ours),
        "starting it again brings it back without a daemon restart", str(ours))


def probes():
    return {p["iface"]: p for p in cli_json(bus, "status")["probes"]}


def our_tcx(dev):
    out = sh(TCX_PROGS, "show", dev, check=False).stdout
    return sorted(line.split()[1] for line in out.splitlines() if "vnm_tc_" in line)


def state():
    return next((d["state"] for d in cli_json(bus, "list") if d["vm_name"] == NAME), None)


vnet = next(i["iface"] for i in ours if i["type"] == "bridge")
wait_for(lambda: our_tcx(vnet) == ["vnm_tc_from_vm", "vnm_tc_to_vm"], 10, "the probe on the new tap")

# Undefined while running: it is transient now, and still runs.
virsh("undefine", NAME)
time.sleep(1.5)
t.check(NAME in names() and our_tcx(vnet) == ["vnm_tc_from_vm", "vnm_tc_to_vm"],
        "undefining a running domain keeps it listed and probed (it runs on, transient)")

# Pause and resume follow, probes stay.
virsh("suspend", NAME)
wait_for(lambda: state() == "paused", 10, "the paused state")
t.check(our_tcx(vnet) == ["vnm_tc_from_vm", "vnm_tc_to_vm"], "virsh suspend: state paused, probe kept")
virsh("resume", NAME)
wait_for(lambda: state() == "running", 10, "the running state")
t.check(True, "virsh resume: state running again")

# NIC hot-plug and unplug: the mapping and the probe follow the device events.
# The guest must be up to acknowledge an unplug (ACPI): wait for its downloads.
wait_for(lambda: f"VNM-FETCH-DONE {FETCHES}" in console_text(), 120, "the guest to boot again")
HP_MAC = "52:54:00:e2:e2:0a"
r = virsh("attach-interface", NAME, "bridge", "vnme2e-br0", "--target", "vnmhp0", "--mac", HP_MAC,
          "--model", "virtio", "--live", check=False)
t.check(r.returncode == 0, "virsh attach-interface --live (hot-plug a NIC)", r.stderr)
wait_for(lambda: our_tcx("vnmhp0") == ["vnm_tc_from_vm", "vnm_tc_to_vm"], 10,
         "the probe on the hot-plugged NIC")
row = ifstat_row(bus, "vnmhp0")
listed = [i["iface"] for i in cli_json(bus, "domiflist", NAME)]
t.check(row and row["vm_name"] == NAME and probes().get("vnmhp0", {}).get("attached")
        and "vnmhp0" in listed and len(listed) == 3,
        "hot-plugged NIC vnmhp0: mapped to the domain and probed (the kernel lists the programs)",
        f"{row} {probes().get('vnmhp0')} {listed}")
rates = cli_json(bus, "domifstat", NAME, "vnmhp0")[0]
t.check(rates["rx_pps"] < 1000 and rates["tx_pps"] < 1000, "no rate spike on the new device", str(rates))
virsh("detach-interface", NAME, "bridge", "--mac", HP_MAC, "--live")
wait_for(lambda: len(cli_json(bus, "domiflist", NAME)) == 2 and ifstat_row(bus, "vnmhp0") is None
         and "vnmhp0" not in probes(), 30, "the unplugged NIC to go (the guest acknowledges the unplug)")
t.check("vnmhp0" not in probes() and our_tcx(vnet) == ["vnm_tc_from_vm", "vnm_tc_to_vm"],
        "unplugged: the NIC and its probe are gone, the other NIC keeps its probe")

# Settings written with virsh metadata are followed; virtnetmon set writes
# what virsh then reads back.
virsh("metadata", NAME, "http://virtnetmon.org/xmlns/domain/1.0", "--key", "virtnetmon", "--live",
      "--set", "<settings><monitoring enabled='no'/></settings>")
wait_for(lambda: our_tcx(vnet) == [], 10, "the probe to leave after virsh metadata")
wait_for(lambda: not probes()[vnet]["attached"], 5, "status to say the probe left")
now_set = cli_json(bus, "set", NAME)
t.check(not probes()[vnet]["attached"] and now_set["from_metadata"] == ["monitoring"],
        "virsh metadata ... monitoring enabled='no': the probes leave the domain's taps",
        f"{probes()[vnet]} {now_set}")
cli(bus, "set", NAME, "--unset", "monitoring", "--latency", "on", "--latency-threshold", "5000")
wait_for(lambda: our_tcx(vnet) == ["vnm_tc_from_vm", "vnm_tc_to_vm"], 10, "the probe back")
meta = virsh("metadata", NAME, "http://virtnetmon.org/xmlns/domain/1.0", "--live", check=False).stdout
t.check("<latency" in meta and 'enabled="yes"' in meta and 'threshold-us="5000"' in meta
        and "monitoring" not in meta and cli_json(bus, "latency", NAME)["state"]["traced"],
        "virtnetmon set writes through libvirt: virsh metadata reads it back, and tracing is on", meta)
cli(bus, "set", NAME, "--unset", "latency", "--unset", "latency-threshold")
r = virsh("metadata", NAME, "http://virtnetmon.org/xmlns/domain/1.0", "--live", check=False)
t.check(r.returncode != 0 and "metadata" in r.stderr.lower(),
        "with every setting unset the element is removed from the domain", r.stdout + r.stderr)

# QEMU crashes (killed) while libvirtd runs: the domain and its probes go.
qemu_pid = qemu_pid_of(NAME)
sh("kill", "-9", qemu_pid)
wait_for(lambda: NAME not in names(), 15, "the crashed domain to go")
t.check(vnet not in probes() and ifstat_row(bus, vnet) is None,
        "a guest whose QEMU died is dropped with its rows and probes")
# libvirt tidies up after QEMU (its tap, its state) before the name is free.
wait_for(lambda: virsh("domstate", NAME, check=False).returncode != 0, 30, "libvirt to forget the domain")
start_guest()
wait_for(lambda: NAME in names(), 10, "the domain to come back after the crash")


# libvirtd goes away: keep serving, say so, reconnect, reconcile. While it is
# down the guest's QEMU dies; after the reconnect the domain must be gone.
def connected():
    return cli_json(bus, "status")["libvirt_connected"]


libvirtd_pid = daemon_pid("libvirtd")
t.check(libvirtd_pid is not None, "libvirtd's pid file names a running libvirtd")
stop_libvirt_daemon("libvirtd")
on_cleanup(subprocess.run, [os.path.join(source_dir(), "tests", "guest", "libvirt-up.sh")])
wait_for(lambda: not connected(), 15, "virtnetmond to notice libvirtd is gone")
t.check(True, "libvirtd killed: status says libvirt disconnected")
t.check(NAME in names() and len(cli_json(bus, "domiflist", NAME)) == 2,
        "while disconnected, what is known is still served")
qemu_pid = qemu_pid_of(NAME)
sh("kill", "-9", qemu_pid)
sh(os.path.join(source_dir(), "tests", "guest", "libvirt-up.sh"))
wait_for(connected, 40, "virtnetmond to reconnect (backoff at most 30 s)")
t.check(True, "reconnected after libvirtd came back")
wait_for(lambda: NAME not in names(), 10, "the domain that died meanwhile to be dropped")
t.check(True, "reconciled: the domain that stopped while disconnected is gone")
start_guest()
wait_for(lambda: NAME in names(), 10, "lifecycle events after the reconnect")
t.check(True, "lifecycle events flow again after the reconnect")
virsh("destroy", NAME)
t.done()
