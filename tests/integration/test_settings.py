#!/usr/bin/env python3
"""Integration: per-domain settings in libvirt <metadata>, access control,
and bad input on the D-Bus API.

"VMs" stvm1..3 (libvirt test driver) are namespaces behind veth vnmst-a..c
on bridge vnmst-br0; a peer namespace sits behind vnmst-p. stvm2 starts
with settings that are not valid, stvm3 with monitoring off. Ground truth:
the kernel's tcx program lists (tests/helpers/tcx-progs) for where probes
are, the packets the test sends, what libvirt keeps in the domain's
metadata (read back through the daemon's own libvirt connection is not
enough: the test driver lives in the daemon, so the Settings property and
the probes' presence are what can be observed), a real polkitd on the
test's bus with a rule the test writes, and a real dbus-daemon enforcing
the bus policy generated from dbus/org.virtnetmon.Monitor1.conf.in.

The namespaces, bus and daemon are the shared setup. Each case makes and
cleans up what else it needs, and puts back the settings it changed, so
one that fails does not stop the others.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, make_link,  # noqa: E402
                     netns_on_bridge, on_cleanup, require_root, sh, skip, source_dir, wait_for)

require_root()
POLKITD = "/usr/lib/polkit-1/polkitd"
for tool in ("setpriv", POLKITD):
    if shutil.which(tool) is None and not os.access(tool, os.X_OK):
        skip(f"needs {tool} (polkitd)")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnmst-")
os.chmod(tmp, 0o755)
on_cleanup(shutil.rmtree, tmp, True)
TCX_PROGS = os.path.join(build_dir(), "tests", "helpers", "tcx-progs")
DBUS_CALL = os.path.join(build_dir(), "tests", "helpers", "dbus-call")
NS = "http://virtnetmon.org/xmlns/domain/1.0"


with t.setup("three VMs and a peer behind a bridge, a bus that carries polkit, the daemon"):
    # --- topology -------------------------------------------------------------
    make_link("vnmst-br0", "type", "bridge")
    sh("ip", "link", "set", "vnmst-br0", "up")
    vms = {}
    for i, dev in ((1, "vnmst-a"), (2, "vnmst-b"), (3, "vnmst-c")):
        vms[f"stvm{i}"] = (netns_on_bridge("vnmst-br0", dev, f"vnmst-vm{i}", f"10.217.0.1{i}", quiet=True), dev)
    peer = netns_on_bridge("vnmst-br0", "vnmst-p", "vnmst-peer", "10.217.0.2", quiet=True)

    METADATA = {
        "stvm1": "",
        # Not valid: the domain must still be mapped and probed, with defaults.
        "stvm2": f"<metadata><v:settings xmlns:v='{NS}'><v:flows table-size='lots'/></v:settings></metadata>",
        "stvm3": f"<metadata><v:settings xmlns:v='{NS}'><v:monitoring enabled='no'/></v:settings></metadata>",
    }
    # The guests' MACs go into the XML, as libvirt's do (drops are attributed by MAC).
    macs = {name: json.loads(sh("ip", "-j", "link", "show", dev + "g", netns=ns).stdout)[0]["address"]
            for name, (ns, dev) in vms.items()}
    node_xml = os.path.join(tmp, "node.xml")
    with open(node_xml, "w") as f:
        f.write("<node>\n" + "".join(f"""  <domain type='test'>
    <name>{name}</name>
    <uuid>7b2e0c52-7d1b-4c3e-9a2f-00000000000{i}</uuid>
    {METADATA[name]}
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>
      <interface type='bridge'>
        <mac address='{macs[name]}'/>
        <source bridge='vnmst-br0'/>
        <target dev='{dev}'/>
      </interface>
    </devices>
  </domain>
""" for i, (name, (ns, dev)) in enumerate(sorted(vms.items()), 1)) + "</node>\n")

    # The test's bus carries polkit too, with polkit's own bus policy.
    policy = os.path.join(tmp, "policy.conf")
    with open(os.path.join(build_dir(), "dbus", "org.virtnetmon.Monitor1.conf")) as f:
        text = f.read()
    with open(policy, "w") as f:
        f.write(text.replace("</busconfig>", "  <include>/usr/share/dbus-1/system.d/org.freedesktop.PolicyKit1.conf</include>\n</busconfig>"))
    bus = Bus(policy=policy)
    state_dir = os.path.join(tmp, "state")
    daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--interval", "1", "--state-dir", state_dir)


def our_tcx(dev):
    out = sh(TCX_PROGS, "show", dev, check=False).stdout
    return [line.split()[1] for line in out.splitlines() if "vnm_tc_" in line]


def probes():
    return {p["iface"]: p for p in cli_json(bus, "status")["probes"]}


def settings(name):
    return cli_json(bus, "set", name)


def call(method, args, user=None, big=None):
    cmd = [DBUS_CALL, bus.address, method, args] + ([str(big)] if big else [])
    if user:
        cmd = ["setpriv", f"--reuid={user}", f"--regid={user if user != 'nobody' else 'nogroup'}",
               "--init-groups"] + cmd
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def traced(name):
    return cli_json(bus, "latency", name)["state"]["traced"]


@t.case("settings from the domain XML at start")
def _():
    # --- settings from the domain XML at start ------------------------------------
    wait_for(lambda: len(our_tcx("vnmst-a")) == 2 and len(our_tcx("vnmst-b")) == 2, 10,
             "the flow probe on stvm1 and stvm2")
    p = probes()
    t.check(our_tcx("vnmst-c") == [] and not p["vnmst-c"]["attached"]
            and "settings" in p["vnmst-c"]["reason"],
            "stvm3, with <monitoring enabled='no'/> in its metadata, gets no probe, and status says why",
            f"{our_tcx('vnmst-c')} {p['vnmst-c']}")
    s2 = settings("stvm2")
    t.check(len(our_tcx("vnmst-b")) == 2 and "table-size='lots'" in s2["error"] and s2["from_metadata"] == []
            and s2["monitoring"] is True,
            "stvm2's settings that are not valid are ignored, named in Settings.error; the domain is mapped and probed with the defaults",
            json.dumps(s2))
    s3 = settings("stvm3")
    t.check(s3["monitoring"] is False and s3["from_metadata"] == ["monitoring"] and s3["error"] == "",
            "stvm3's Settings: monitoring off, from its metadata", json.dumps(s3))
    prop = sh("busctl", f"--address={bus.address}", "--json=short", "get-property", "org.virtnetmon.Monitor1",
              "/org/virtnetmon/Monitor1/domain/7b2e0c52_7d1b_4c3e_9a2f_000000000003",
              "org.virtnetmon.Domain1", "Settings").stdout
    prop = {k: v["data"] for k, v in json.loads(prop)["data"].items()}
    t.check(prop["monitoring"] is False and prop["from_metadata"] == ["monitoring"]
            and prop["flow_table_size"] == s3["flow_table_size"],
            "the Domain1.Settings property says the same as `virtnetmon set`", json.dumps(prop))


@t.case("virtnetmon set: monitoring follows, both ways")
def _():
    on_cleanup(cli, bus, "set", "stvm3", "--monitoring", "off", check=False)   # as its metadata says
    on_cleanup(cli, bus, "set", "stvm1", "--unset", "monitoring", check=False)
    # --- virtnetmon set: monitoring follows, both ways ------------------------------
    r = cli(bus, "set", "stvm1", "--monitoring", "off", check=False)
    t.check(r.returncode == 0 and "monitoring           off    (domain's metadata)" in r.stdout,
            "virtnetmon set stvm1 --monitoring off: written and applied", r.stdout + r.stderr)
    wait_for(lambda: our_tcx("vnmst-a") == [], 5, "the probe to leave vnmst-a")
    t.check(our_tcx("vnmst-a") == [] and len(our_tcx("vnmst-b")) == 2,
            "the kernel: no virtnetmon program on stvm1's netdev any more, stvm2's untouched")
    cli(bus, "set", "stvm3", "--monitoring", "on")
    wait_for(lambda: len(our_tcx("vnmst-c")) == 2, 5, "the probe on vnmst-c")
    t.check(len(our_tcx("vnmst-c")) == 2, "virtnetmon set stvm3 --monitoring on: the kernel lists its probe")
    r = cli(bus, "set", "stvm1", "--unset", "monitoring", check=False)
    wait_for(lambda: len(our_tcx("vnmst-a")) == 2, 5, "the probe back on vnmst-a")
    t.check(r.returncode == 0 and "(default)" in r.stdout.splitlines()[1],
            "--unset monitoring: the default (on) applies again, probe back", r.stdout + r.stderr)


@t.case("latency tracing follows the settings")
def _():
    on_cleanup(cli, bus, "set", "stvm1", "--unset", "latency", check=False)
    on_cleanup(cli, bus, "latency", "--all", "--off", check=False)
    # --- latency tracing follows the settings --------------------------------------
    t.check(not traced("stvm1"), "stvm1 is not traced before (latency is off by default)")
    cli(bus, "set", "stvm1", "--latency", "on", "--latency-threshold", "250")
    lat = cli_json(bus, "latency", "stvm1")["state"]
    t.check(lat["traced"] and abs(lat["threshold_us"] - 250) < 1e-6,
            "set --latency on --latency-threshold 250: GetLatency says traced with threshold 250 us", json.dumps(lat))
    s_on = settings("stvm1")
    cli(bus, "set", "stvm1", "--unset", "latency")
    t.check(not traced("stvm1"), "set --unset latency: tracing off again (the default)")
    s_off = settings("stvm1")
    t.check(s_on["latency_tracing"] is True and s_on["latency_source"] == "settings"
            and s_off["latency_tracing"] is False and s_off["latency_source"] == "default",
            "Settings: latency_tracing follows GetLatency, latency_source says the metadata, then the default",
            json.dumps([s_on, s_off]))
    # A command switches tracing regardless of the setting; Settings says so.
    cli(bus, "latency", "stvm1", "--on")
    s_cmd, text = settings("stvm1"), cli(bus, "set", "stvm1").stdout
    t.check(traced("stvm1") and s_cmd["latency_tracing"] is True and s_cmd["latency_source"] == "command"
            and s_cmd["latency"] is False and "switched by 'virtnetmon latency DOMAIN'" in text,
            "latency --on: traced though the setting is off; Settings and 'virtnetmon set' name the command",
            json.dumps(s_cmd) + "\n" + text)
    cli(bus, "latency", "--all", "--on")
    s_all = settings("stvm3")
    t.check(traced("stvm3") and s_all["latency_tracing"] is True and s_all["latency_source"] == "all",
            "latency --all --on: stvm3 traced, its latency_source is 'all'", json.dumps(s_all))
    cli(bus, "latency", "--all", "--off")
    cli(bus, "set", "stvm1", "--latency", "off")
    cli(bus, "set", "stvm1", "--unset", "latency")
    s_back = settings("stvm1")
    t.check(not traced("stvm1") and s_back["latency_tracing"] is False and s_back["latency_source"] == "default",
            "a settings change ends the command's choice: the default applies again", json.dumps(s_back))


@t.case("a domain's flow table size")
def _():
    on_cleanup(cli, bus, "set", "stvm1", "--unset", "flow-table-size", check=False)
    # --- a domain's flow table size ------------------------------------------------
    cli(bus, "set", "stvm1", "--flow-table-size", "16")
    SENDER = """
import socket, sys
for port in range(41000, 41040):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("10.217.0.11", port)); s.sendto(b"x" * 100, ("10.217.0.2", 9)); s.close()
"""
    sh("python3", "-c", SENDER, netns=vms["stvm1"][0])
    time.sleep(2.5)

    def udp_flows():
        return [f for f in cli_json(bus, "flows", "stvm1", "--by", "flow", "--proto", "udp")
                if f["remote_ip"] == "10.217.0.2" and f["remote_port"] == 9]

    flows = udp_flows()
    pa = probes()["vnmst-a"]
    t.check(pa["flows_active"] <= 16 and pa["flows_evicted"] >= 24,
            "with flow-table-size 16, at most 16 of 40 flows stay active and the rest are counted as evicted",
            json.dumps(pa))
    t.check(len(flows) == 40 and sum(f["tx_packets"] for f in flows) == 40,
            "nothing is lost: all 40 flows are listed (ended ones as summaries), 40 packets sent",
            f"{len(flows)} flows, {sum(f['tx_packets'] for f in flows)} packets")
    cli(bus, "set", "stvm1", "--unset", "flow-table-size")


@t.case("bad arguments")
def _():
    # --- bad arguments -----------------------------------------------------------
    before = settings("stvm1")
    cases = [
        ("('stvm1', {'frobnicate': <true>}, @as [])", "org.virtnetmon.Error.InvalidArgument", "frobnicate"),
        ("('stvm1', {'monitoring': <'yes'>}, @as [])", "org.virtnetmon.Error.InvalidArgument", "monitoring"),
        ("('stvm1', {'flow_table_size': <uint32 8>}, @as [])", "org.virtnetmon.Error.InvalidArgument", "16 to 4194304"),
        ("('stvm1', {'latency_threshold_us': <int32 -5>}, @as [])", "org.virtnetmon.Error.InvalidArgument", "latency_threshold_us"),
        ("('stvm1', @a{sv} {}, ['colour'])", "org.virtnetmon.Error.InvalidArgument", "colour"),
        ("('no-such-vm', @a{sv} {}, @as [])", "org.virtnetmon.Error.UnknownDomain", "no-such-vm"),
        ("('stvm1', 'latency=on')", "org.freedesktop.DBus.Error.InvalidArgs", "(sa{sv}as)"),
    ]
    for args, name, word in cases:
        out = call("SetDomainSettings", args)
        t.check(out.startswith(f"ERROR {name}") and word in out, f"SetDomainSettings{args}: {name} naming {word!r}", out)
    after = settings("stvm1")
    t.check(after == before, "after refused calls, stvm1's settings are unchanged", json.dumps(after))

    wrong_types = [
        ("GetFlows", "(int32 5, @a{sv} {})"),
        ("GetLatency", "('stvm1',)"),
        ("GetHistory", "('stvm1', 'rx_mbps')"),
        ("SetLatencyTracing", "('stvm1', 'on', @a{sv} {})"),
        ("DomainHook", "('start',)"),
        ("ListDomains", "(true,)"),
    ]
    for method, args in wrong_types:
        out = call(method, args)
        t.check(out.startswith("ERROR org.freedesktop.DBus.Error.InvalidArgs"),
                f"{method}{args}: InvalidArgs", out)

    for method, args, big, name in [
            ("GetFlows", "(@BIG@, @a{sv} {})", 4 << 20, "org.virtnetmon.Error.InvalidArgument"),
            ("SetDomainSettings", "(@BIG@, @a{sv} {}, @as [])", 4 << 20, "org.virtnetmon.Error.InvalidArgument"),
            ("DomainHook", "('start', @BIG@)", 20 << 20, "org.virtnetmon.Error.Parse"),
            ("GetLatency", "('stvm1', {'interface': <@BIG@>})", 1 << 20, "org.virtnetmon.Error"),
    ]:
        out = call(method, args, big=big)
        t.check(out.startswith(f"ERROR {name}") and len(out) < 4000,
                f"{method} with a {big >> 20} MiB argument: {name}, with a short message", out[:300])
    t.check(daemon.proc.poll() is None and len(our_tcx("vnmst-a")) == 2
            and cli_json(bus, "list") and len(cli_json(bus, "list")) == 3,
            "after all the bad calls the daemon runs, with its domains and probes")


@t.case("access control: reading for everyone, changing for root or polkit")
def _():
    on_cleanup(cli, bus, "latency", "stvm2", "--off", check=False)
    on_cleanup(cli, bus, "set", "stvm1", "--unset", "latency", check=False)
    # --- access control: reading for everyone, changing for root or polkit ------------
    r = cli(bus, "list", user="nobody", check=False)
    t.check(r.returncode == 0 and "stvm1" in r.stdout, "nobody may read (virtnetmon list)", r.stderr)
    out = call("SetDomainSettings", "('stvm1', {'latency': <true>}, @as [])", user="nobody")
    t.check(out.startswith("ERROR org.virtnetmon.Error.PermissionDenied") and "org.virtnetmon.configure" in out
            and "polkit did not answer" in out,
            "without polkit running, nobody's SetDomainSettings is refused: PermissionDenied, naming the action", out)
    out = call("DomainHook", "('release', '<domain/>')", user="nobody")
    t.check(out.startswith("ERROR org.freedesktop.DBus.Error.AccessDenied"),
            "DomainHook from nobody: the bus policy refuses it (root only)", out)

    # A real polkitd on this bus, our action installed where polkit reads actions,
    # and a rule that authorizes one user (the system user "daemon").
    ACTION = "/usr/share/polkit-1/actions/org.virtnetmon.policy"
    RULE = "/etc/polkit-1/rules.d/49-virtnetmon-test.rules"
    if not os.path.exists(ACTION):
        shutil.copy(os.path.join(source_dir(), "dbus", "org.virtnetmon.policy"), ACTION)
        on_cleanup(os.unlink, ACTION)
    with open(RULE, "w") as f:
        f.write('polkit.addRule(function (action, subject) {\n'
                '  if (action.id == "org.virtnetmon.configure" && subject.user == "daemon")\n'
                '    return polkit.Result.YES;\n});\n')
    on_cleanup(os.unlink, RULE)
    pk = subprocess.Popen([POLKITD, "--no-debug"], env=dict(os.environ, DBUS_SYSTEM_BUS_ADDRESS=bus.address),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    on_cleanup(pk.kill)
    wait_for(lambda: "org.freedesktop.PolicyKit1" in sh("busctl", f"--address={bus.address}", "list",
                                                           "--acquired", check=False).stdout, 10, "polkitd on the bus")

    r = cli(bus, "set", "stvm1", "--latency", "on", user="daemon", check=False)
    lat = cli_json(bus, "latency", "stvm1")["state"]
    t.check(r.returncode == 0 and lat["traced"],
            "polkit authorizes user daemon (rule): its virtnetmon set --latency on is written and applied",
            r.stdout + r.stderr)
    out = call("SetDomainSettings", "('stvm1', {'latency': <false>}, @as [])", user="nobody")
    t.check(out.startswith("ERROR org.virtnetmon.Error.PermissionDenied") and "needs authentication" in out
            and traced("stvm1"),
            "polkit refuses nobody (auth_admin, no agent): PermissionDenied, nothing changed", out)
    out = call("SetLatencyTracing", "('stvm2', true, @a{sv} {})", user="daemon")
    t.check(out.startswith("OK") and traced("stvm2"), "SetLatencyTracing by the polkit-authorized user works", out)
    out = call("SetLatencyTracing", "('stvm2', false, @a{sv} {})", user="nobody")
    t.check(out.startswith("ERROR org.virtnetmon.Error.PermissionDenied") and traced("stvm2"),
            "SetLatencyTracing by nobody: PermissionDenied", out)
    r = cli(bus, "set", "stvm1", "--unset", "latency", check=False)
    t.check(r.returncode == 0, "root needs no polkit rule", r.stderr)


@t.case("reading for one group only (-Dread_group)")
def _():
    # --- reading for one group only (-Dread_group) -------------------------------------
    with open(os.path.join(source_dir(), "dbus", "org.virtnetmon.Monitor1.conf.in")) as f:
        template = f.read()
    group_policy = os.path.join(tmp, "group.conf")
    with open(group_policy, "w") as f:
        f.write(template.replace("@READ_SCOPE@", 'group="daemon"').replace("@READ_WHO@", "group daemon"))
    bus2 = Bus(policy=group_policy)
    Daemon(bus2, "--connect", f"test://{node_xml}", "--no-bpf", name="virtnetmond-group")
    r_nobody = cli(bus2, "list", user="nobody", check=False)
    r_member = subprocess.run(["setpriv", "--reuid=daemon", "--regid=daemon", "--init-groups",
                               os.path.join(build_dir(), "src", "virtnetmon"), "--bus-address", bus2.address,
                               "list"], capture_output=True, text=True)
    t.check(r_nobody.returncode != 0 and "bus policy does not let this user" in r_nobody.stderr,
            "read_group=daemon: the bus refuses nobody's read", r_nobody.stdout + r_nobody.stderr)
    t.check(r_member.returncode == 0 and "stvm1" in r_member.stdout,
            "read_group=daemon: a member of group daemon reads", r_member.stderr)


t.done()
