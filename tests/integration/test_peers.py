#!/usr/bin/env python3
"""Integration: the VMs' addresses and who they talk to, named right.

Three "VMs" (libvirt test driver) are namespaces behind veth devices
vnmpe-a, -b, -c on bridge vnmpe-br0, which has the host's address
10.217.0.1; a namespace vnmpe-remote that is no VM sits on the bridge too.
Each VM's eth0 has its domain's MAC, so its IPv6 link-local address is the
MAC-derived one. pevm1 and pevm2 talk over IPv4 and IPv6 link-local, pevm1
to the remote, pevm2 to the host (IPv4 and the bridge's link-local); pevm3
only makes multicast and broadcast noise (router solicitation, mDNS, DAD
from ::, limited and directed broadcast) and asks a DHCP server (busybox
udhcpd in the remote namespace) for an address.

Ground truth: a packet socket on every bridge port records which unicast
address pairs carried packets; `ip addr` in the namespaces says which
addresses each VM has; udhcpc's script says which address the DHCP server
gave. The topology must have exactly the edges the packet sockets saw,
both ends named; the learned addresses must be the VMs' own and never
multicast, broadcast or unspecified.
"""
import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, cli, cli_json, make_link, make_netns,  # noqa: E402
                     on_cleanup, require_root, sh, skip, wait_for, write_test_node)

require_root()
if subprocess.run(["which", "busctl"], capture_output=True).returncode != 0:
    skip("needs busctl")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnmpe-")
on_cleanup(subprocess.run, ["rm", "-rf", tmp])

BR = "vnmpe-br0"
HOST_IP = "10.217.0.1"
REMOTE_IP = "10.217.0.2"
VMS = {  # name: (uuid, mac, host dev, address)
    "pevm1": ("7b2e0c52-7d1b-4c3e-9a2f-000000000001", "52:54:00:17:00:01", "vnmpe-a", "10.217.0.11"),
    "pevm2": ("7b2e0c52-7d1b-4c3e-9a2f-000000000002", "52:54:00:17:00:02", "vnmpe-b", "10.217.0.12"),
    "pevm3": ("7b2e0c52-7d1b-4c3e-9a2f-000000000003", "52:54:00:17:00:03", "vnmpe-c", "10.217.0.13"),
}
PORTS = [v[2] for v in VMS.values()] + ["vnmpe-r"]


def eui64(mac):
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 2
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + b[:3] + [0xff, 0xfe] + b[3:])))


def link_local(dev, netns=None):
    for a in json.loads(sh("ip", "-j", "-6", "addr", "show", "dev", dev, netns=netns).stdout)[0]["addr_info"]:
        if a.get("scope") == "link":
            return a["local"]
    return None


def kernel_addrs(netns):
    """The addresses of eth0 in @netns, as `ip addr` has them."""
    info = json.loads(sh("ip", "-j", "addr", "show", "dev", "eth0", netns=netns).stdout)[0]["addr_info"]
    return {a["local"] for a in info if not a.get("tentative")}


def dbus_call(method, sig="", *args):
    def unwrap(x):
        if isinstance(x, dict):
            if set(x) == {"type", "data"}:
                return unwrap(x["data"])
            return {k: unwrap(v) for k, v in x.items()}
        if isinstance(x, list):
            return [unwrap(v) for v in x]
        return x
    r = sh("busctl", f"--address={bus.address}", "--json=short", "call", "org.virtnetmon.Monitor1",
           "/org/virtnetmon/Monitor1", "org.virtnetmon.Monitor1", method, *([sig, *args] if sig else []))
    return unwrap(json.loads(r.stdout)["data"])


class Sniffer:
    """The (source, destination) address pairs of the IPv4 and IPv6
    packets that pass the bridge ports, both ways, while it runs."""

    def __init__(self, devs):
        self.pairs = set()
        self.stop = False
        self.socks = []
        for dev in devs:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            s.bind((dev, 0))
            s.settimeout(0.2)
            self.socks.append(s)
        self.threads = [threading.Thread(target=self._run, args=(s,), daemon=True) for s in self.socks]
        for th in self.threads:
            th.start()

    def _run(self, s):
        while not self.stop:
            try:
                frame = s.recv(2048)
            except socket.timeout:
                continue
            proto = struct.unpack("!H", frame[12:14])[0]
            if proto == 0x0800 and len(frame) >= 34:
                self.pairs.add((socket.inet_ntop(socket.AF_INET, frame[26:30]),
                                socket.inet_ntop(socket.AF_INET, frame[30:34])))
            elif proto == 0x86DD and len(frame) >= 54:
                self.pairs.add((socket.inet_ntop(socket.AF_INET6, frame[22:38]),
                                socket.inet_ntop(socket.AF_INET6, frame[38:54])))

    def finish(self):
        self.stop = True
        for th in self.threads:
            th.join()
        for s in self.socks:
            s.close()
        return self.pairs


def is_conversation_addr(a):
    ip = ipaddress.ip_address(a)
    return not (ip.is_multicast or ip.is_unspecified or a in ("255.255.255.255", "10.217.0.255"))


NOISE = r"""
import socket, struct, sys
dev = b"eth0"
def sock(family, kind, proto=0):
    s = socket.socket(family, kind, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, dev)
    return s
ifindex = socket.if_nametoindex("eth0")
# Router solicitation to all routers (the kernel fills in the checksum).
rs = sock(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
rs.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, 255)
for _ in range(3):
    rs.sendto(b"\x85\x00\x00\x00\x00\x00\x00\x00", ("ff02::2", 0, 0, ifindex))
# mDNS, both families.
u4 = sock(socket.AF_INET, socket.SOCK_DGRAM)
u4.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
u6 = sock(socket.AF_INET6, socket.SOCK_DGRAM)
u6.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, ifindex)
for _ in range(3):
    u4.sendto(b"noise", ("224.0.0.251", 5353))
    u6.sendto(b"noise", ("ff02::fb", 5353, 0, ifindex))
    u4.sendto(b"noise", ("255.255.255.255", 9))
    u4.sendto(b"noise", ("10.217.0.255", 9))
"""


with t.setup("a bridge with the host's address, three namespace VMs and a remote, a DHCP server, a bus and the daemon"):
    make_link(BR, "type", "bridge")
    sh("ip", "addr", "add", HOST_IP + "/24", "dev", BR)
    sh("ip", "link", "set", BR, "up")
    ns = {}
    for name, (uuid, mac, dev, addr) in VMS.items():
        ns[name] = make_netns("vnmpe-" + name)
        make_link(dev, "type", "veth", "peer", "name", "eth0", "netns", ns[name])
        sh("ip", "link", "set", "eth0", "address", mac, netns=ns[name])
        sh("ip", "addr", "add", addr + "/24", "dev", "eth0", netns=ns[name])
        sh("ip", "link", "set", "eth0", "up", netns=ns[name])
        sh("ip", "route", "add", "224.0.0.0/4", "dev", "eth0", netns=ns[name])
        sh("ip", "link", "set", dev, "master", BR)
        sh("ip", "link", "set", dev, "up")
    remote = make_netns("vnmpe-remote")
    make_link("vnmpe-r", "type", "veth", "peer", "name", "eth0", "netns", remote)
    sh("ip", "addr", "add", REMOTE_IP + "/24", "dev", "eth0", netns=remote)
    sh("ip", "link", "set", "eth0", "up", netns=remote)
    sh("ip", "link", "set", "vnmpe-r", "master", BR)
    sh("ip", "link", "set", "vnmpe-r", "up")
    # The DHCP server, for pevm3's request later.
    with open(os.path.join(tmp, "udhcpd.conf"), "w") as f:
        f.write(f"start 10.217.0.100\nend 10.217.0.110\ninterface eth0\nlease_file {tmp}/leases\n"
                "option subnet 255.255.255.0\noption lease 600\n")
    open(os.path.join(tmp, "leases"), "w").close()
    dhcpd = subprocess.Popen(["ip", "netns", "exec", remote, "busybox", "udhcpd", "-f",
                              os.path.join(tmp, "udhcpd.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_cleanup(dhcpd.wait)
    on_cleanup(dhcpd.kill)

    node_xml = write_test_node(os.path.join(tmp, "node.xml"),
                               [(name, uuid, [(mac, BR, dev)]) for name, (uuid, mac, dev, _) in VMS.items()])
    bus = Bus()
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1",
                    "--state-dir", os.path.join(tmp, "state"))

    def attached():
        probes = {p["iface"]: p for p in cli_json(bus, "status")["probes"]}
        return all(probes.get(v[2], {}).get("attached") for v in VMS.values())
    wait_for(attached, 15, "the probe on the VMs' devices")
    # DAD of the link-local addresses is over: they are usable.
    wait_for(lambda: all(link_local("eth0", ns[n]) and not any(
        a.get("tentative") for a in json.loads(sh("ip", "-j", "-6", "addr", "show", "dev", "eth0",
                                                   netns=ns[n]).stdout)[0]["addr_info"])
        for n in VMS), 10, "the link-local addresses")
    BR_LL = link_local(BR)
    LL = {n: link_local("eth0", ns[n]) for n in VMS}

    sniffer = Sniffer(PORTS)
    # Unicast: pevm1 <-> pevm2 over IPv4 and link-local, pevm1 -> remote,
    # pevm2 -> the host (IPv4 and the bridge's link-local).
    sh("ping", "-c", "3", "-i", "0.2", VMS["pevm2"][3], netns=ns["pevm1"])
    sh("ping", "-6", "-c", "3", "-i", "0.2", f"{LL['pevm2']}%eth0", netns=ns["pevm1"])
    sh("ping", "-c", "3", "-i", "0.2", REMOTE_IP, netns=ns["pevm1"])
    sh("ping", "-c", "3", "-i", "0.2", HOST_IP, netns=ns["pevm2"])
    sh("ping", "-6", "-c", "3", "-i", "0.2", f"{BR_LL}%eth0", netns=ns["pevm2"])
    # Noise: pevm3 only, and pevm1's mDNS too; pevm3's DAD from :: for a
    # new address.
    sh(sys.executable, "-c", NOISE, netns=ns["pevm3"])
    sh(sys.executable, "-c", NOISE.split("# Router solicitation")[0] + """
u4 = sock(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(3):
    u4.sendto(b"noise", ("224.0.0.251", 5353))
""", netns=ns["pevm1"])
    sh("ip", "addr", "add", "fd17::13/64", "dev", "eth0", netns=ns["pevm3"])
    # DHCP: pevm3 asks, keeps nothing (its script only writes down the
    # address it was given).
    script = os.path.join(tmp, "udhcpc.sh")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\n[ \"$1\" = bound ] && echo \"$ip\" > {tmp}/dhcp-ip\nexit 0\n")
    os.chmod(script, 0o755)
    sh("busybox", "udhcpc", "-i", "eth0", "-n", "-q", "-t", "5", "-T", "1", "-s", script, netns=ns["pevm3"],
       timeout=30)
    time.sleep(1.5)
    pairs = sniffer.finish()
    time.sleep(2.2)  # two intervals: the daemon has read what the probe saw


NAMES = {uuid: name for name, (uuid, *_) in VMS.items()}


def node_of(addr):
    for name, (uuid, mac, dev, a4) in VMS.items():
        if addr in (a4, LL[name]):
            return uuid
    if addr in (HOST_IP, BR_LL):
        return "host"
    return addr


def dhcp_given():
    try:
        with open(os.path.join(tmp, "dhcp-ip")) as f:
            return f.read().strip()
    except OSError:
        return None


@t.case("the topology has exactly the edges that carried unicast packets, both ends named")
def _():
    nodes, edges = dbus_call("GetTopology")
    got = {frozenset((e["source"], e["target"])) for e in edges}
    want = set()
    for src, dst in pairs:
        if not (is_conversation_addr(src) and is_conversation_addr(dst)):
            continue
        a, b = node_of(src), node_of(dst)
        if a in NAMES or b in NAMES:
            want.add(frozenset((a, b)))
    t.check(got == want and len(want) == 3,
            "topology edges == the unicast address pairs the bridge ports carried (pevm1-pevm2, pevm1-remote, "
            "pevm2-host)", f"topology {sorted(map(sorted, got))}\npackets {sorted(map(sorted, want))}\n"
            f"pairs {sorted(pairs)}")
    by_id = {n["id"]: n for n in nodes}
    vm_nodes = {i: n for i, n in by_id.items() if n["kind"] == "vm"}
    t.check(all(vm_nodes.get(u, {}).get("label") == name for u, name in NAMES.items()),
            "every VM is a node named after its domain", json.dumps(nodes))
    t.check(by_id.get("host", {}).get("kind") == "host" and REMOTE_IP in by_id
            and by_id[REMOTE_IP]["kind"] == "remote",
            "the host is one node of kind host, the remote namespace a remote", json.dumps(nodes))
    t.check(not any(not is_conversation_addr(i) for i in by_id if i not in NAMES and i != "host"),
            "no multicast, broadcast or unspecified node", sorted(by_id))
    t.check(all(LL[n] not in by_id for n in VMS) and BR_LL not in by_id,
            "no VM's or the bridge's link-local address is a node of its own", sorted(by_id))
    n3 = by_id.get(VMS["pevm3"][0], {})
    t.check(n3.get("nonunicast_flows", 0) >= 4 and n3.get("nonunicast_tx_bytes", 0) >= 4 * 3 * 5,
            "pevm3's multicast and broadcast are counted on its node, apart", json.dumps(n3))


@t.case("flows: peers named, multicast only on request")
def _():
    rows = cli_json(bus, "flows", "pevm1", "--by", "flow")
    kinds = {r["remote_ip"]: (r["remote_kind"], r["remote_name"]) for r in rows}
    t.check(kinds.get(VMS["pevm2"][3]) == ("vm", "pevm2") and kinds.get(LL["pevm2"]) == ("vm", "pevm2"),
            "pevm1's flows to pevm2's IPv4 and link-local address name pevm2", json.dumps(kinds))
    t.check(kinds.get(REMOTE_IP) == ("remote", ""), "the remote namespace is a remote", json.dumps(kinds))
    t.check(all(is_conversation_addr(r["remote_ip"]) and is_conversation_addr(r["local_ip"]) for r in rows),
            "no multicast, broadcast or unspecified flow without --non-unicast", json.dumps(kinds))
    allrows = cli_json(bus, "flows", "pevm1", "--by", "flow", "--non-unicast")
    mc = [r for r in allrows if r["remote_ip"] == "224.0.0.251"]
    t.check(len(mc) == 1 and mc[0]["remote_kind"] == "multicast" and mc[0]["tx_packets"] == 3,
            "with --non-unicast pevm1's mDNS is one flow of kind multicast, 3 packets", json.dumps(mc))
    t.check(any(r["local_ip"] == "224.0.0.251" and r["remote_kind"] == "multicast" for r in allrows),
            "pevm3's mDNS that reached pevm1 has a multicast local side and is shown as multicast",
            json.dumps([(r["local_ip"], r["remote_ip"], r["remote_kind"]) for r in allrows]))
    rows2 = cli_json(bus, "flows", "pevm2", "--by", "flow")
    k2 = {r["remote_ip"]: (r["remote_kind"], r["remote_name"]) for r in rows2}
    t.check(k2.get(HOST_IP) == ("host", BR) and k2.get(BR_LL) == ("host", BR),
            "pevm2's flows to the bridge's IPv4 and link-local address name the host's bridge", json.dumps(k2))
    text = cli(bus, "flows", "pevm2", "--by", "flow").stdout
    t.check("vm:pevm1" in text and f"host:{BR}" in text, "the table's PEER column names them", text)


@t.case("learned addresses are the VMs' own; the link-local is the MAC-derived one")
def _():
    for name, (uuid, mac, dev, a4) in VMS.items():
        rows = cli_json(bus, "domifaddr", name, "--source", "learned")
        learned = {r["address"] for r in rows} - {dhcp_given()}
        mine = kernel_addrs(ns[name])
        t.check(learned and learned <= mine,
                f"{name}: every learned address is one `ip addr` shows on its eth0 (or the DHCP server gave it)",
                f"learned {sorted(learned)}, ip addr {sorted(mine)}")
        t.check(all(is_conversation_addr(a) for a in learned), f"{name}: none is multicast, broadcast or ::",
                sorted(learned))
        t.check(LL[name] == eui64(mac) and LL[name] in learned,
                f"{name}: its link-local {LL[name]} is learned and is the one its MAC {mac} gives",
                sorted(learned))
        t.check(all(r["iface"] == dev and r["mac"] == mac and r["prefix"] == -1 for r in rows),
                f"{name}: on {dev} with its MAC", json.dumps(rows))
    rows = {r["address"]: r for r in cli_json(bus, "domifaddr", "pevm1", "--source", "learned")}
    t.check(VMS["pevm1"][3] in rows and "arp" in rows[VMS["pevm1"][3]]["via"].split(",")
            and "traffic" in rows[VMS["pevm1"][3]]["via"].split(","),
            "pevm1's IPv4 address was learned from its packets and from its ARP", json.dumps(rows))
    t.check(set(rows) == {VMS["pevm1"][3], LL["pevm1"]}, "pevm1 used exactly its IPv4 and link-local address",
            sorted(rows))
    text = cli(bus, "domifaddr", "pevm1").stdout
    t.check("MAC ADDRESS" in text and f"{LL['pevm1']}" in text and "learned (" in text,
            "domifaddr prints a virsh-like table", text)


@t.case("an address a DHCP server gave to a VM's MAC is learned")
def _():
    given = dhcp_given()
    t.check(given and given.startswith("10.217.0.1"), "udhcpc was given an address", given)
    rows = {r["address"]: r for r in cli_json(bus, "domifaddr", "pevm3", "--source", "learned")}
    t.check(given in rows and "dhcp" in rows[given]["via"].split(","),
            f"pevm3 learned {given} from the DHCP ACK to its MAC", json.dumps(rows))
    t.check(given not in kernel_addrs(ns["pevm3"]), "(the VM did not configure it: only the ACK says so)")


@t.case("bad input is refused, named")
def _():
    r = cli(bus, "domifaddr", "pevm1", "--source", "dhcp", check=False)
    t.check(r.returncode == 2 and "dhcp" in r.stderr, "an unknown --source", r.stderr)
    r = cli(bus, "domifaddr", "pevm1", "--interface", "nosuch0", check=False)
    t.check(r.returncode == 1 and "nosuch0" in r.stderr, "an interface the domain does not have", r.stderr)
    r = cli(bus, "domifaddr", "nosuchvm", check=False)
    t.check(r.returncode == 1 and "nosuchvm" in r.stderr, "an unknown domain", r.stderr)
    st = cli_json(bus, "status")["address_book"]
    t.check(st["count"] >= 6 and st["overflow"] == 0 and st["max_age_seconds"] == 1800,
            "status shows the address book", json.dumps(st))


t.done()
