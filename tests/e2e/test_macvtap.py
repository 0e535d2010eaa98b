#!/usr/bin/env python3
"""End to end: a QEMU/TCG busybox guest under a real libvirtd with an
<interface type='direct'> -- a macvtap in bridge mode over a veth whose peer
sits in a network namespace (the remote side, 10.216.0.2). A macvtap counts
as the guest does (what the guest sends is the device's tx), unlike a tap:
virtnetmon must agree with virsh domiflist and virsh domifstat, with the
kernel's own counters (ip -s link) and with the guest's (its eth0, read on
its serial console), and put the guest's flows the right way round: UDP
datagrams the guest sends to a server in the namespace that counts them and
answers each, and pings from the namespace to the guest (counted by the
namespace's ping). The IPFIX export (read back with nfcapd/nfdump) names the
macvtap as the interface the VM's flows leave by. Latency: the guest's
packets from the macvtap to the lower device's driver (tx), the peer's from
the lower device's receive to QEMU's read (rx), as many as the guest sent
and received.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (GUEST_DIR, LIBVIRT_URI, Bus, Daemon, Results, build_dir, check_json, cli, cli_json,  # noqa: E402
                     destroyed_at_cleanup, free_port, kernel_link, make_link, make_netns, on_cleanup,
                     prepare_libvirt_guest, require_root, sh, skip, stop_pid, virsh, wait_for)

require_root()
for tool in ("virsh", "libvirtd", "qemu-system-x86_64", "busybox", "nfcapd", "nfdump"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (libvirt-daemon-system, qemu-system-x86, busybox-static, nfdump)")
# Does the kernel have macvtap? Ask it with a throw-away pair.
sh("ip", "link", "del", "vnmmv-try", check=False)
r = sh("ip", "link", "add", "vnmmv-try", "type", "veth", "peer", "name", "vnmmv-try2", check=False)
has = r.returncode == 0 and sh("ip", "link", "add", "link", "vnmmv-try", "name", "vnmmv-tryt", "type",
                               "macvtap", check=False).returncode == 0
sh("ip", "link", "del", "vnmmv-try", check=False)
if not has:
    skip("the kernel has no macvtap (or no veth to try it on)")

why = prepare_libvirt_guest()
if why:
    skip(why)
NAME = "vnm-e2e-macvtap"
LOWER = "vnmmv-lo"
PEER_IP, GUEST_IP = "10.216.0.2", "10.216.0.11"
MAC = "52:54:00:e2:e3:01"
UDP_PORT = 5514
UDP_COUNT = 20          # datagrams the guest sends
REPLY_LEN = 700         # payload of each answer
PINGS, PING_LEN = 25, 1000
t = Results()
destroyed_at_cleanup(NAME)

# The lower device: a veth whose peer, in a namespace, is the remote side.
# IPv6 off on both ends (and in the guest): no neighbour discovery moves the
# counters while they are compared.
peer = make_netns("vnmmv-peer")
make_link(LOWER, "type", "veth", "peer", "name", "vnmmv-lp")
sh("sysctl", "-qw", f"net.ipv6.conf.{LOWER}.disable_ipv6=1")
sh("ip", "link", "set", "vnmmv-lp", "netns", peer)
sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", netns=peer)
sh("ip", "link", "set", LOWER, "up")
sh("ip", "addr", "add", PEER_IP + "/24", "dev", "vnmmv-lp", netns=peer)
sh("ip", "link", "set", "vnmmv-lp", "up", netns=peer)

work = tempfile.mkdtemp(prefix="vnm-macvtap-")
on_cleanup(shutil.rmtree, work, True)
# The server: counts each datagram (its payload) and answers it with
# REPLY_LEN bytes; writes its counts after every datagram.
counts_path = os.path.join(work, "udp-counts.json")
server = subprocess.Popen(["ip", "netns", "exec", peer, "python3", "-c", f"""
import json, os, socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("{PEER_IP}", {UDP_PORT}))
c = {{"received": 0, "received_bytes": 0, "sent": 0, "sent_bytes": 0, "source_ports": []}}
while True:
    data, addr = s.recvfrom(65536)
    c["received"] += 1
    c["received_bytes"] += len(data)
    if addr[1] not in c["source_ports"]:
        c["source_ports"].append(addr[1])
    c["sent_bytes"] += s.sendto(b"r" * {REPLY_LEN}, addr)
    c["sent"] += 1
    with open("{counts_path}.tmp", "w") as f:
        json.dump(c, f)
    os.replace("{counts_path}.tmp", "{counts_path}")
"""], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
on_cleanup(server.kill)

console_log = f"/var/log/libvirt/{NAME}.console"
console_sock = f"/var/lib/libvirt/qemu/{NAME}.console.sock"
DOMAIN_XML = f"""<domain type='qemu'>
  <name>{NAME}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{GUEST_DIR}/vmlinuz</kernel>
    <initrd>{GUEST_DIR}/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet ipv6.disable=1 vnm.ip={GUEST_IP}/24</cmdline>
  </os>
  <devices>
    <interface type='direct'>
      <source dev='{LOWER}' mode='bridge'/>
      <mac address='{MAC}'/>
      <model type='virtio'/>
    </interface>
    <serial type='unix'>
      <source mode='bind' path='{console_sock}'/>
      <log file='{console_log}' append='off'/>
      <target port='0'/>
    </serial>
  </devices>
</domain>
"""
xml_path = os.path.join(work, "domain.xml")
with open(xml_path, "w") as f:
    f.write(DOMAIN_XML)

# An IPFIX collector (nfcapd): which interface element names the macvtap.
ipfix_dir = os.path.join(work, "nfcapd")
os.makedirs(ipfix_dir)
ipfix_port = free_port()
collector = subprocess.Popen(["nfcapd", "-w", ipfix_dir, "-b", "127.0.0.1", "-p", str(ipfix_port),
                              "-t", "3600"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
on_cleanup(lambda: collector.poll() is None and stop_pid(collector.pid))
bus = Bus()
daemon = Daemon(bus, "--connect", LIBVIRT_URI, "--interval", "1",
                "--ipfix-collector", f"127.0.0.1:{ipfix_port},udp", "--ipfix-active-timeout", "2")
wait_for(lambda: cli_json(bus, "status")["libvirt_connected"], 15, "virtnetmond to reach libvirtd")

# Latency tracing on for every domain, this one included.
cli(bus, "latency", "--all", "--on", "--threshold", "100000")
for p in (console_log, console_sock):
    if os.path.exists(p):
        os.unlink(p)
r = virsh("create", xml_path, check=False)
if r.returncode != 0:
    t.check(False, "virsh create of a guest with <interface type='direct'>", r.stderr)
    t.done()


def console_text():
    try:
        with open(console_log, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


wait_for(lambda: "VNM-GUEST-READY" in console_text(), 120, "the guest to boot")
con = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
con.connect(console_sock)
on_cleanup(con.close)
marker = [0]
# What the console says, read as it comes: QEMU writes the serial port a
# byte at a time, and stalls the guest once an unread socket is full.
said = bytearray()


def read_console():
    while True:
        try:
            b = con.recv(4096)
        except OSError:
            return
        if not b:
            return
        said.extend(b)


threading.Thread(target=read_console, daemon=True).start()


def guest(cmd, timeout=60):
    """Runs @cmd in the guest's shell; its output, from the console."""
    marker[0] += 1
    end = f"VNM-END-{marker[0]}"
    before = len(said)
    con.sendall(f"{cmd}\necho {end[:4]}''{end[4:]}\n".encode())
    wait_for(lambda: end.encode() in said[before:], timeout, f"the guest to run {cmd!r}")
    out = said[before:].decode(errors="replace")
    out = out[:out.index(end)]
    # Drop the echoed command line.
    return out.split("\n", 1)[1] if "\n" in out else ""


def guest_counters():
    out = guest("cd /sys/class/net/eth0/statistics && echo VNM-STATS $(cat rx_bytes rx_packets "
                "tx_bytes tx_packets rx_dropped tx_dropped) && cd /")
    m = re.search(r"VNM-STATS (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", out)
    assert m, f"no counters from the guest: {out!r}"
    v = [int(x) for x in m.groups()]
    return {"rx_bytes": v[0], "rx_packets": v[1], "tx_bytes": v[2], "tx_packets": v[3],
            "rx_drops": v[4], "tx_drops": v[5]}


def virsh_stats(iface):
    out = virsh("domifstat", NAME, iface).stdout
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"\S+ (\w+) (\d+)", out)}


def names():
    return [d["vm_name"] for d in cli_json(bus, "list")]


wait_for(lambda: NAME in names(), 10, "the started domain to be listed")

# The mapping: what virsh domiflist says, with the mode and the lower device.
vl = virsh("domiflist", NAME).stdout.strip().splitlines()[2:]
virsh_rows = [line.split() for line in vl if line.strip()]
ours = check_json(["domiflist", NAME], cli_json(bus, "domiflist", NAME))
ours_rows = [[i["iface"], i["type"], i["source"] or "-", i["model"] or "-", i["mac"]] for i in ours]
t.check(ours_rows == virsh_rows and len(ours) == 1, "domiflist agrees with virsh domiflist",
        f"ours {ours_rows} virsh {virsh_rows}")
mv = ours[0]["iface"] if ours else ""
lower_ifindex = kernel_link(LOWER)["ifindex"]
link = json.loads(sh("ip", "-j", "-d", "link", "show", "dev", mv, check=False).stdout or "[{}]")[0]
t.check(link.get("linkinfo", {}).get("info_kind") == "macvtap" and link.get("link") == LOWER
        and link["linkinfo"].get("info_data", {}).get("mode") == "bridge",
        f"the kernel: {mv} is a macvtap in bridge mode on {LOWER}", json.dumps(link)[:400])
t.check(ours and ours[0]["type"] == "direct" and ours[0]["source_dev"] == LOWER
        and ours[0]["source_mode"] == "bridge" and ours[0]["mapped_by"] == "libvirt"
        and ours[0]["ifindex"] == link.get("ifindex") and ours[0]["has_stats"],
        "domiflist --json: type direct, source_dev = the lower device, source_mode bridge, "
        "the macvtap's ifindex", str(ours))
text = subprocess.run([os.path.join(build_dir(), "src", "virtnetmon"),
                       "--bus-address", bus.address, "domiflist", NAME],
                      capture_output=True, text=True, env=dict(os.environ, LC_ALL="C")).stdout
row = next((line.split() for line in text.splitlines() if line.strip().startswith(mv)), [])
t.check(row[:4] == [mv, "direct", LOWER, "bridge"], "domiflist (text): interface, type, lower device, mode",
        text)
st = {p["iface"]: p for p in cli_json(bus, "status")["probes"]}.get(mv, {})
t.check(st.get("attached") and st.get("hooks") == "egress,ingress",
        "the flow probe is on the macvtap, its from-the-VM program on egress", str(st))

# Quiet guest: no IPv6 (ipv6.disable=1), nothing else running.
peer_rx_before = int(sh("cat", "/sys/class/net/vnmmv-lp/statistics/rx_packets", netns=peer).stdout)
guest("syslogd -n -S -R %s:%d &" % (PEER_IP, UDP_PORT))
# Baselines: the host's own packets on the macvtap (IPv6 neighbour
# discovery, MLD and router solicitations, which go on with growing gaps)
# are in its counters and virsh's, not in the guest's: IPv6 off on it from
# here on; what the test sends is in all of them.
sh("sysctl", "-qw", f"net.ipv6.conf.{mv}.disable_ipv6=1")


def lat_rows():
    lat = check_json(["latency", NAME], cli_json(bus, "latency", NAME))
    return lat, {(r["direction"], r["stage"]): r for r in lat["stages"]}


_, lat0 = lat_rows()
g0 = guest_counters()
o0 = cli_json(bus, "domifstat", NAME, mv)[0]
# One datagram a logger run (a fork and exec each: seconds under TCG).
guest(f"p=xxxxxxxxxxxxxxxxxxxxxxxxx; p=$p$p$p$p$p$p$p$p; i=0; "
      f"while [ $i -lt {UDP_COUNT} ]; do logger -t vnm $p$i; i=$((i+1)); done", timeout=240)


def server_counts():
    try:
        with open(counts_path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return {"received": 0}


wait_for(lambda: server_counts()["received"] >= UDP_COUNT, 30, "the server to receive the datagrams")
ping = sh("ping", "-c", str(PINGS), "-i", "0.2", "-s", str(PING_LEN), "-W", "2", GUEST_IP, netns=peer,
          check=False).stdout
m = re.search(r"(\d+) packets transmitted, (\d+) received", ping)
pings_sent, pings_back = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
t.check(pings_sent == PINGS and pings_back == PINGS, f"the peer pinged the guest {PINGS} times, all answered",
        ping[-300:])
# Traffic into the guest only, which it neither answers nor forwards: UDP
# datagrams routed through it to an address it does not have (its eth0
# counts them received), so that the latency's rx and tx differ.
BURST = 40
sh("ip", "route", "add", "10.216.99.0/24", "via", GUEST_IP, "dev", "vnmmv-lp", netns=peer)
sh("python3", "-c", f"""
import socket, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({BURST}):
    s.sendto(b"b" * 200, ("10.216.99.7", 9))
    time.sleep(0.01)
""", netns=peer)
time.sleep(2.5)        # a sample after the traffic

# Flows: the guest's datagrams are its tx, the answers its rx, and the
# guest opened the flow; the pings came from the remote.
sc = server_counts()
udp = [r for r in cli_json(bus, "flows", NAME, "--by", "flow", "--proto", "udp")
       if r["remote_ip"] == PEER_IP and r["remote_port"] == UDP_PORT]
t.check(sc["received"] == UDP_COUNT and len(sc["source_ports"]) == 1,
        f"the server got {UDP_COUNT} datagrams from one socket of the guest", str(sc))
t.check(len(udp) == 1 and udp[0]["initiator"] == "vm" and udp[0]["local_ip"] == GUEST_IP
        and udp[0]["tx_packets"] == sc["received"] and udp[0]["tx_bytes"] == sc["received_bytes"]
        and udp[0]["rx_packets"] == sc["sent"] and udp[0]["rx_bytes"] == sc["sent_bytes"],
        "UDP flow: initiator vm, tx = what the server received, rx = what it answered (packets and bytes)",
        f"ours {udp} server {sc}")
icmp = [r for r in cli_json(bus, "flows", NAME, "--by", "flow", "--proto", "icmp")
        if r["remote_ip"] == PEER_IP]
t.check(len(icmp) == 1 and icmp[0]["initiator"] == "remote" and icmp[0]["rx_packets"] == pings_sent
        and icmp[0]["tx_packets"] == pings_back
        and icmp[0]["rx_bytes"] == pings_sent * PING_LEN and icmp[0]["tx_bytes"] == pings_back * PING_LEN,
        f"ICMP flow: initiator remote, rx = the peer's {pings_sent} requests, tx = the guest's answers "
        f"({PING_LEN} bytes each)", str(icmp))

# Counters: virsh domifstat (which does not swap a macvtap's), the kernel's
# own counters of the macvtap, and the guest's eth0 all agree with ours.
keys = {"rx_bytes": "rx_bytes", "rx_packets": "rx_packets", "tx_bytes": "tx_bytes",
        "tx_packets": "tx_packets", "rx_errors": "rx_errs", "tx_errors": "tx_errs",
        "rx_drops": "rx_drop", "tx_drops": "tx_drop"}
kmap = {"rx_bytes": "rx_bytes", "rx_packets": "rx_packets", "tx_bytes": "tx_bytes",
        "tx_packets": "tx_packets", "rx_errors": "rx_errors", "tx_errors": "tx_errors",
        "rx_drops": "rx_dropped", "tx_drops": "tx_dropped"}
for _ in range(5):       # a stray packet (ARP) between the reads: read again
    v = virsh_stats(mv)
    k = kernel_link(mv)
    o = check_json(["domifstat", NAME, mv], cli_json(bus, "domifstat", NAME, mv))[0]
    if all(o[key] == v[vk] for key, vk in keys.items()):
        break
    time.sleep(0.5)
t.check(all(o[key] == v[vk] for key, vk in keys.items()), "domifstat agrees with virsh domifstat",
        f"ours { {key: o[key] for key in keys} } virsh {v}")
t.check(all(o[key] == k[kk] for key, kk in kmap.items()),
        "domifstat equals the macvtap's own counters unswapped (ip -s link): rx = into the guest",
        f"ours { {key: o[key] for key in keys} } kernel {k}")
for _ in range(3):      # an ARP exchange between the two reads: read again
    g = guest_counters()
    time.sleep(1.2)     # our counters are read each second
    o = cli_json(bus, "domifstat", NAME, mv)[0]
    dg = {key: g[key] - g0[key] for key in g}
    do = {key: o[key] - o0[key] for key in g}
    if dg == do:
        break
t.check(dg == do and dg["tx_packets"] >= UDP_COUNT + PINGS and dg["rx_packets"] >= UDP_COUNT + PINGS,
        "domifstat moved as the guest's own eth0 counters did (its rx is ours, its tx is ours)",
        f"ours {do} guest {dg} (since the baselines ours {o0} guest {g0})")
t.check(o["rx_bytes"] > sc["sent_bytes"] + PINGS * PING_LEN and o["tx_bytes"] > sc["received_bytes"] + PINGS * PING_LEN,
        "rx holds the answers and pings into the guest, tx the datagrams and echo replies out of it", str(o))
pt = o["probe_tx_packets"] - o0["probe_tx_packets"], o["probe_rx_packets"] - o0["probe_rx_packets"]
t.check(pt == (dg["tx_packets"], dg["rx_packets"]),
        "the probe's totals moved as the guest's: tx = what it sent, rx = what it received",
        f"probe tx/rx {pt} guest {dg}")
peer_rx = int(sh("cat", "/sys/class/net/vnmmv-lp/statistics/rx_packets", netns=peer).stdout) - peer_rx_before
t.check(peer_rx >= UDP_COUNT + PINGS, "the lower device carried the guest's packets to the peer", str(peer_rx))

# Latency on a macvtap: every packet the guest sent (its eth0's tx, since
# the baseline) is measured from its queueing on the macvtap to the lower
# device's driver (tx total, with the macvlan hop as rcv_to_queue); every
# unicast packet to it (the answers, the pings and the burst it drops; the
# peer's broadcast ARP requests are not followed) from the lower device's
# receive to QEMU's read (rx total). The burst makes rx and tx differ: the
# two the wrong way round fail both bounds. The histograms are read with the guest's counters (dg, above).
lat, lat1 = lat_rows()


def moved(key):
    a, b = lat0.get(key, {}), lat1.get(key, {})
    return b.get("packets", 0) - a.get("packets", 0)


tx_n, rx_n = moved(("tx", "total")), moved(("rx", "total"))
for key in sorted(lat1):
    r = lat1[key]
    print(f"# latency {key[0]} {key[1]}: {moved(key)} packets since the baseline, min {r['min_us']} "
          f"p50 {r['p50_us']} max {r['max_us']} us", flush=True)
print(f"# guest eth0 since the baseline: tx {dg['tx_packets']} rx {dg['rx_packets']}", flush=True)
t.check(lat["state"]["traced"] and mv not in lat["state"]["no_histograms"],
        "latency on a macvtap: traced, with histograms", json.dumps(lat["state"])[:400])
t.check(UDP_COUNT + PINGS <= tx_n <= dg["tx_packets"],
        f"tx total: the guest's sends measured ({UDP_COUNT} datagrams + {PINGS} echo replies <= count <= "
        "its eth0 tx_packets)", f"count {tx_n}, guest tx {dg['tx_packets']}: {json.dumps(lat1.get(('tx', 'total')))}")
t.check(UDP_COUNT + PINGS + BURST <= rx_n <= dg["rx_packets"],
        f"rx total: the packets to the guest measured ({UDP_COUNT} answers + {PINGS} pings + {BURST} "
        "routed through it <= count <= its eth0 rx_packets)", f"count {rx_n}, guest rx {dg['rx_packets']}: {json.dumps(lat1.get(('rx', 'total')))}")
for key in (("tx", "total"), ("rx", "total"), ("tx", "rcv_to_queue"), ("tx", "queue_to_xmit")):
    r = lat1.get(key, {})
    t.check(r and 0 < r["min_us"] <= r["max_us"] < 2_000_000 and r["p50_us"] > 0,
            f"latency {key[0]} {key[1]}: positive, below 2 s", json.dumps(r)[:300])
t.check(moved(("tx", "rcv_to_queue")) == tx_n and moved(("tx", "queue_to_xmit")) == tx_n,
        "tx: each measured packet has both stages (macvtap -> lower device queue -> its driver)",
        f"{moved(('tx', 'rcv_to_queue'))} {moved(('tx', 'queue_to_xmit'))} vs total {tx_n}")
t.check(not [k for k in lat1 if k[0] == "rx" and k[1] != "total" and lat1[k].get("packets")],
        "rx: only the total (no tracepoint marks the macvtap's queueing)", str(sorted(lat1)))

# Drops: with the guest paused, what the peer sends it does not reach it;
# the kernel drops it (FULL_RING once the macvtap's queue is full, or
# before the queue when QEMU has let go of it). Every one of those is a drop
# into the VM: the datagrams the peer sent = our rx drops + what the guest
# got after all (its own counter), none of them a tx drop.
FLOOD = 3000


def drops_by_direction():
    rows = check_json(["drops", NAME], cli_json(bus, "drops", NAME))
    return {d: sum(r["packets"] for r in rows if r["iface"] == mv and r["direction"] == d)
            for d in ("rx", "tx")}, rows


d0, _ = drops_by_direction()
ga = guest_counters()
virsh("suspend", NAME)
sh("python3", "-c", f"""
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range({FLOOD}):
    s.sendto(b"f" * 500, ("{GUEST_IP}", 9))
""", netns=peer)
time.sleep(2)
virsh("resume", NAME)
time.sleep(2)
gb = guest_counters()
d1, rows = drops_by_direction()
got = gb["rx_packets"] - ga["rx_packets"]
dropped = d1["rx"] - d0["rx"]
t.check(dropped > 0 and FLOOD <= dropped + got <= FLOOD + 3 and d1["tx"] == d0["tx"],
        f"the {FLOOD} datagrams sent to the paused guest: each one dropped into the VM (rx) or received "
        "by it after all",
        f"rx drops {dropped}, guest received {got}, tx drops {d0['tx']} -> {d1['tx']}: {rows}")
cli(bus, "latency", "--all", "--off")

# IPFIX: what the VM sends leaves the host through its macvtap, so the flow
# it opened names the macvtap as egressInterface (14), the flow the peer
# opened as ingressInterface (10). nfcapd writes its file when stopped.
time.sleep(3)       # past the active timeout: both flows exported
stop_pid(collector.pid)
collector.wait(5)
out = sh("nfdump", "-R", ipfix_dir, "-o", "csv", "-N").stdout
rows = [line.split(",") for line in out.splitlines() if line.strip()]
recs = [dict(zip(rows[0], r)) for r in rows[1:] if rows and len(r) == len(rows[0]) and r[0][:1].isdigit()]
ifx = str(link.get("ifindex"))
udp_recs = [r for r in recs if r["pr"] == "UDP" and r["sa"] == GUEST_IP and r["dp"] == str(UDP_PORT)]
icmp_recs = [r for r in recs if r["pr"] == "ICMP" and r["sa"] == PEER_IP and r["da"] == GUEST_IP]
t.check(udp_recs and all(r["out"] == ifx and r["in"] == "0" for r in udp_recs)
        and icmp_recs and all(r["in"] == ifx and r["out"] == "0" for r in icmp_recs),
        f"IPFIX (nfdump): the VM's UDP flow leaves through {mv} (output interface {ifx}), the "
        "peer's pings come in through it (input interface)",
        f"udp {udp_recs} icmp {icmp_recs} of {len(recs)} records")

virsh("destroy", NAME)
wait_for(lambda: NAME not in names(), 10, "the stopped domain to go")
t.check(mv not in {p["iface"] for p in cli_json(bus, "status")["probes"]},
        "stopping the domain removes its macvtap's probe")
t.done()
