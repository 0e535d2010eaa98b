#!/usr/bin/env python3
"""Install: `meson install` into a DESTDIR, configured as a Debian package
build configures it (prefix /usr, sysconfdir /etc).

Ground truth: the exact list of files a Debian host expects; dbus-daemon
loading the installed bus policy; `systemd-analyze verify` and `security` on
the installed unit; the installed binaries running. Then the installed daemon
runs for real under what its unit allows -- only the unit's
CapabilityBoundingSet (setpriv) -- attaching its probes to a test VM, traced
by strace, and every system call and socket family it used is checked against
the unit's SystemCallFilter and RestrictAddressFamilies.
"""
import configparser
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import (Bus, Daemon, Results, build_dir, cli, cli_json, free_port, make_link,  # noqa: E402
                     netns_on_bridge, on_cleanup, require_root, sh, skip, source_dir, wait_for,
                     write_test_node)

require_root()
for tool in ("systemd-analyze", "dbus-daemon", "strace", "setpriv", "xmllint"):
    if shutil.which(tool) is None:
        skip(f"needs {tool}")

t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-install-")
on_cleanup(shutil.rmtree, tmp, True)
build = os.path.join(tmp, "build")
dest = os.path.join(tmp, "dest")
SRC = source_dir()
VERSION = json.loads(sh("meson", "introspect", "--projectinfo", os.path.join(SRC, "meson.build")).stdout)["version"]


def setup_and_install(destdir, *options):
    """Configures (or reconfigures) @build as dh_auto_configure would, and
    installs into @destdir. Returns the files there, as absolute paths."""
    args = ["--prefix=/usr", "--sysconfdir=/etc", "--localstatedir=/var", "-De2e=false", *options]
    if os.path.exists(os.path.join(build, "build.ninja")):
        sh("meson", "setup", "--reconfigure", build, SRC, *args)
    else:
        sh("meson", "setup", build, SRC, *args)
    # The Cockpit page's generated files, when it is configured in.
    page = [os.path.relpath(f, build) for tgt in json.loads(sh("meson", "introspect", "--targets", build).stdout)
            if tgt["defined_in"].endswith(os.path.join("src", "cockpit", "meson.build")) for f in tgt["filename"]]
    sh("ninja", "-C", build, "src/virtnetmond", "src/virtnetmon", "hooks/virtnetmon-libvirt-hook",
       "po/de/LC_MESSAGES/virtnetmon.mo", *page)
    shutil.rmtree(destdir, True)
    r = sh("meson", "install", "-C", build, "--destdir", destdir, "--no-rebuild", "--quiet", check=False)
    assert r.returncode == 0, r.stdout + r.stderr
    found = set()
    for root, dirs, files in os.walk(destdir):
        for f in files:
            found.add(os.path.join(root, f)[len(destdir):])
    return found


# --- the file list ---------------------------------------------------------------
CORE = {
    "/usr/bin/virtnetmon",
    "/usr/sbin/virtnetmond",
    "/usr/share/man/man1/virtnetmon.1",
    "/usr/share/man/man8/virtnetmond.8",
    "/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf",
    "/usr/share/dbus-1/interfaces/org.virtnetmon.Monitor1.xml",
    "/usr/share/locale/de/LC_MESSAGES/virtnetmon.mo",
    "/usr/share/virtnetmon/schemas/virtnetmon-settings.rng",
    *(f"/usr/share/virtnetmon/schemas/{os.path.basename(f)}"
      for f in glob.glob(os.path.join(source_dir(), "docs", "schema", "*.schema.json"))),
    "/usr/share/doc/virtnetmon/examples/settings-all.xml",
    "/usr/share/doc/virtnetmon/examples/settings-counters-only.xml",
    "/usr/share/doc/virtnetmon/examples/domain-with-settings.xml",
}
OPTIONAL = {
    "dbus_activation": {"/usr/share/dbus-1/system-services/org.virtnetmon.Monitor1.service"},
    "polkit": {"/usr/share/polkit-1/actions/org.virtnetmon.policy"},
    "config_file": {"/etc/virtnetmon/virtnetmond.conf"},
    "systemd": {"/lib/systemd/system/virtnetmond.service"},
    "libvirt_hook": {"/usr/libexec/virtnetmon-libvirt-hook", "/etc/libvirt/hooks/qemu.d/virtnetmon"},
    "cockpit": {f"/usr/share/cockpit/virtnetmon/{f}" for f in (
        "manifest.json", "index.html", "virtnetmon.js", "virtnetmon.css", "patternfly.css", "po.de.js")},
}
files = setup_and_install(dest, "-Dsystemd=enabled", "-Ddbus_activation=true", "-Dpolkit=true",
                          "-Dconfig_file=true", "-Dlibvirt_hook=true", "-Dcockpit=enabled")
want = CORE.union(*OPTIONAL.values())
t.check(files == want, f"meson install puts the {len(want)} files where a Debian host expects them",
        f"missing {sorted(want - files)}, unexpected {sorted(files - want)}")

lean = setup_and_install(os.path.join(tmp, "lean"), "-Dsystemd=disabled", "-Ddbus_activation=false",
                         "-Dpolkit=false", "-Dconfig_file=false", "-Dlibvirt_hook=false",
                         "-Dcockpit=disabled")
t.check(lean == CORE, "options deselect the optional parts (unit, activation, polkit, config, hook, Cockpit page)",
        f"got {sorted(lean ^ CORE)} differing")
unitdir = setup_and_install(os.path.join(tmp, "unitdir"), "-Dsystemd=auto",
                            "-Dsystemdsystemunitdir=/usr/lib/systemd/system")
t.check("/usr/lib/systemd/system/virtnetmond.service" in unitdir and
        "/lib/systemd/system/virtnetmond.service" not in unitdir,
        "-Dsystemdsystemunitdir moves the unit", str(sorted(unitdir)))


def D(path):
    return dest + path


link = os.readlink(D("/etc/libvirt/hooks/qemu.d/virtnetmon"))
t.check(link == "/usr/libexec/virtnetmon-libvirt-hook" and os.access(D(link), os.X_OK),
        "the libvirt hook is a link in qemu.d to the hook program in libexecdir", link)


# --- the bus policy ---------------------------------------------------------------
with open(D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf"), "rb") as a, \
        open(os.path.join(build_dir(), "dbus", "org.virtnetmon.Monitor1.conf"), "rb") as b:
    t.check(a.read() == b.read(), "the installed bus policy is the one the tests run with")


def bus_accepts(policy):
    """Starts a system-type dbus-daemon that includes @policy; returns
    (accepted, what it printed)."""
    d = tempfile.mkdtemp(dir=tmp)
    conf = os.path.join(d, "bus.conf")
    with open(conf, "w") as f:
        f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={d}/bus.sock</listen>
  <include>{policy}</include>
</busconfig>
""")
    p = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork", "--print-address"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = p.stdout.readline()
    p.terminate()
    _, err = p.communicate(timeout=5)
    # Without CAP_SYS_RESOURCE a system bus cannot raise its fd limit: a
    # warning about this machine, not about the policy.
    err = "\n".join(ln for ln in err.splitlines() if "Failed to set fd limit" not in ln)
    return line.startswith("unix:"), err


ok, err = bus_accepts(D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf"))
t.check(ok and not err.strip(), "dbus-daemon --config-file accepts the installed policy", err)
r = sh("xmllint", "--noout", D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf"), check=False)
t.check(r.returncode == 0, "the installed policy is well-formed XML", r.stderr)
broken = os.path.join(tmp, "broken.conf")
with open(D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf")) as f:
    text = f.read()
with open(broken, "w") as f:
    f.write(text.replace('<allow own="org.virtnetmon.Monitor1"/>', '<allow owner="org.virtnetmon.Monitor1"/>'))
ok, err = bus_accepts(broken)
t.check(not ok and "owner" in err, "control: dbus-daemon refuses a policy with a wrong attribute", err)

# --- the activation file, the polkit actions, the interface XML ------------------------
act = configparser.ConfigParser(interpolation=None)
act.optionxform = str
act.read(D("/usr/share/dbus-1/system-services/org.virtnetmon.Monitor1.service"))
svc = act["D-BUS Service"] if act.has_section("D-BUS Service") else {}
exe = svc.get("Exec", "").split()
t.check(svc.get("Name") == "org.virtnetmon.Monitor1" and svc.get("User") == "root" and
        exe[:2] == ["/usr/sbin/virtnetmond", "--system"] and os.access(D(exe[0]), os.X_OK),
        "the activation file starts the installed daemon as root on the system bus", str(dict(svc)))

unit = configparser.ConfigParser(interpolation=None, strict=False)
unit.optionxform = str
unit.read(D("/lib/systemd/system/virtnetmond.service"))
t.check(svc.get("SystemdService") in unit["Install"].get("Alias", "").split(),
        "the activation file names the unit's alias (dbus-org.virtnetmon.Monitor1.service)",
        f"{svc.get('SystemdService')} vs {unit['Install'].get('Alias')}")
t.check(unit["Service"].get("Type") == "dbus" and unit["Service"].get("BusName") == "org.virtnetmon.Monitor1"
        and unit["Service"].get("ExecStart", "").split()[0] == "/usr/sbin/virtnetmond"
        and "libvirtd.service" in unit["Unit"].get("After", ""),
        "the unit: Type=dbus on org.virtnetmon.Monitor1, after libvirtd, runs /usr/sbin/virtnetmond")

pk = sh("xmllint", "--xpath", "//action/@id", D("/usr/share/polkit-1/actions/org.virtnetmon.policy"),
        check=False)
t.check(pk.returncode == 0 and sorted(re.findall(r'id="([^"]+)"', pk.stdout)) ==
        ["org.virtnetmon.configure"],
        "the polkit policy is well-formed and defines org.virtnetmon.configure", pk.stdout + pk.stderr)
r = sh("gdbus-codegen", "--interface-prefix", "org.virtnetmon.", "--generate-c-code",
       os.path.join(tmp, "check"), D("/usr/share/dbus-1/interfaces/org.virtnetmon.Monitor1.xml"), check=False)
t.check(r.returncode == 0, "the installed interface XML is a valid introspection document", r.stderr)

# --- the unit: systemd-analyze -------------------------------------------------------
# verify resolves the unit's dependencies and ExecStart inside --root: give
# that root the host's targets, sockets and slices (after the list check).
vroot = os.path.join(tmp, "vroot")
shutil.copytree(dest, vroot, symlinks=True)
for f in os.listdir("/lib/systemd/system"):
    if f.endswith((".target", ".socket", ".slice")):
        shutil.copy2(os.path.join("/lib/systemd/system", f), os.path.join(vroot, "lib/systemd/system", f),
                     follow_symlinks=False)
env = dict(os.environ, MANPATH=os.path.join(vroot, "usr/share/man"))


def verify(path):
    return subprocess.run(["systemd-analyze", "verify", f"--root={vroot}", path],
                          capture_output=True, text=True, env=env)


r = verify("/lib/systemd/system/virtnetmond.service")
t.check(r.returncode == 0 and not r.stderr.strip() and not r.stdout.strip(),
        "systemd-analyze verify: the installed unit is clean (its man pages and ExecStart found)",
        r.stdout + r.stderr)
with open(os.path.join(vroot, "lib/systemd/system/virtnetmond.service")) as f:
    text = f.read()
with open(os.path.join(vroot, "lib/systemd/system/vnmtypo.service"), "w") as f:
    f.write(text.replace("ProtectClock=", "ProtectClok="))
r = verify("/lib/systemd/system/vnmtypo.service")
t.check("ProtectClok" in r.stderr, "control: verify reports a mistyped key", r.stderr)
os.unlink(os.path.join(vroot, "lib/systemd/system/vnmtypo.service"))
r = subprocess.run(["systemd-analyze", "security", "--offline=yes", f"--root={vroot}", "--no-pager",
                    "/lib/systemd/system/virtnetmond.service"], capture_output=True, text=True)
m = re.search(r"Overall exposure level for virtnetmond.service: ([0-9.]+) (\w+)", r.stdout + r.stderr)
t.check(m and float(m.group(1)) <= 3.0, "systemd-analyze security: exposure 3.0 or less",
        (m.group(0) if m else r.stdout[-500:] + r.stderr))
if m:
    print(f"# {m.group(0)}", flush=True)

# --- the installed binaries run --------------------------------------------------------
vnm = D("/usr/bin/virtnetmon")
vnmd = D("/usr/sbin/virtnetmond")
r1 = sh(vnm, "--version", check=False)
r2 = sh(vnmd, "--version", check=False)
t.check(r1.returncode == 0 and VERSION in r1.stdout and r2.returncode == 0 and
        r2.stdout.strip() == f"virtnetmond {VERSION}",
        f"the installed virtnetmon and virtnetmond run and say version {VERSION}", r1.stdout + r2.stdout)
r = sh(vnmd, "--help", check=False)
t.check("/etc/virtnetmon/virtnetmond.conf" in r.stdout,
        "virtnetmond --help names the installed default configuration file", r.stdout)
for b in (vnm, vnmd):
    r = sh("ldd", b)
    t.check("not found" not in r.stdout, f"every library of {os.path.basename(b)} resolves", r.stdout)

# --- the installed daemon, under the unit's capabilities and system call filter --------
caps = unit["Service"]["CapabilityBoundingSet"].split()
families = set(unit["Service"]["RestrictAddressFamilies"].split())


def syscalls(word):
    """The system calls a SystemCallFilter word allows: a name, or a @group
    expanded by systemd-analyze, nested groups included."""
    if not word.startswith("@"):
        return {word}
    out = sh("systemd-analyze", "syscall-filter", "--no-pager", word).stdout
    names = set()
    for ln in (ln.strip() for ln in out.splitlines()[1:]):
        if ln.startswith("@"):
            names |= syscalls(ln)
        elif ln and not ln.startswith("#"):
            names.add(ln)
    return names


allowed = set().union(*(syscalls(w) for w in unit["Service"]["SystemCallFilter"].split()))
t.check("bpf" in allowed and "openat" in allowed and "ptrace" not in allowed,
        "the unit's SystemCallFilter expands (systemd-analyze syscall-filter)", str(len(allowed)))

make_link("vnmin-br0", "type", "bridge")
sh("ip", "link", "set", "vnmin-br0", "up")
netns_on_bridge("vnmin-br0", "vnmin-v1", "vnmin-vm1", "10.219.0.1", quiet=True)
netns_on_bridge("vnmin-br0", "vnmin-p1", "vnmin-peer", "10.219.0.2", quiet=True)
node_xml = write_test_node(os.path.join(tmp, "node.xml"), [
    ("invm1", "6a1e2f3c-0b4d-4c5e-8f70-112233449901", [("52:54:00:19:00:01", "vnmin-br0", "vnmin-v1")])])

bus = Bus(policy=D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf"))
setpriv = ["setpriv", "--inh-caps=-all", "--ambient-caps=-all", "--no-new-privs",
           "--bounding-set=-all," + ",".join("+" + c[len("CAP_"):].lower() for c in caps)]
trace = os.path.join(tmp, "strace.txt")
PORT = free_port()
state = os.path.join(tmp, "state")
daemon = Daemon(bus, "--connect", f"test://{node_xml}", "--config", D("/etc/virtnetmon/virtnetmond.conf"),
                "--metrics-listen", f"127.0.0.1:{PORT}", "--state-dir", state,
                exe=vnmd, wrapper=setpriv + ["strace", "-f", "-qq", "-o", trace], name="confined")


def daemon_pid():
    kids = open(f"/proc/{daemon.proc.pid}/task/{daemon.proc.pid}/children").read().split()
    return int(kids[0]) if kids else None


pid = daemon_pid()
with open(f"/proc/{pid}/status") as f:
    status_text = f.read()
bnd = int(re.search(r"CapBnd:\s+([0-9a-f]+)", status_text).group(1), 16)
with open("/proc/self/status") as f:
    # What this sandbox itself may hold (here: no CAP_SYS_RESOURCE).
    ours = int(re.search(r"CapBnd:\s+([0-9a-f]+)", f.read()).group(1), 16)
cap_numbers = sh("setpriv", "--list-caps").stdout.split()      # in number order
unit_mask = sum(1 << cap_numbers.index(c[len("CAP_"):].lower()) for c in caps)
t.check(bnd and bnd == unit_mask & ours,
        f"the daemon runs with the unit's capabilities only (bounding set {bnd:#x})",
        f"unit {unit_mask:#x} & ours {ours:#x}")


def probe_attached():
    return any(p["iface"] == "vnmin-v1" and p["attached"] for p in cli_json(bus, "status").get("probes", []))


try:
    wait_for(probe_attached, 15, "the flow probe on vnmin-v1")
except AssertionError:
    pass
st = cli_json(bus, "status")
t.check(probe_attached(), "under the unit's capabilities the flow probe attaches to the VM's interface",
        json.dumps(st.get("probes")) + daemon.output()[-1500:])
t.check(st.get("latency", {}).get("available") is True,
        "under the unit's capabilities the latency probe loads", json.dumps(st.get("latency")))
r = cli(bus, "latency", "invm1", "--on", check=False)
t.check(r.returncode == 0, "latency tracing switches on (path programs attach)", r.stderr)
sh("ping", "-c", "5", "-i", "0.05", "-q", "10.219.0.2", netns="vnmin-vm1")
time.sleep(1.5)
stats = cli_json(bus, "domifstat", "invm1", "vnmin-v1")
tx = stats[0]["tx_packets"] if stats else 0
lat = cli_json(bus, "latency", "invm1")
t.check(tx >= 5 and lat, "it counts the VM's pings and answers a latency query", json.dumps(stats)[:500])
with urllib.request.urlopen(f"http://127.0.0.1:{PORT}/metrics", timeout=10) as resp:
    body = resp.read().decode()
t.check('vm_name="invm1"' in body, "it serves the Prometheus endpoint")
cli(bus, "latency", "invm1", "--off", check=False)
os.kill(daemon_pid(), 15)
daemon.proc.wait(15)
out = daemon.output()
t.check("Stopping on signal 15" in out, "the confined daemon stops cleanly on SIGTERM", out[-1500:])

used, fams = set(), set()
with open(trace) as f:
    for line in f:
        m = re.match(r"\d+\s+([a-z0-9_]+)\(", line)
        if m:
            used.add(m.group(1))
        m = re.search(r"socket\((AF_\w+)", line)
        if m:
            fams.add(m.group(1))
# The first execve is strace's own start of the daemon; it runs before the
# filter would apply, and is in @system-service anyway.
t.check("bpf" in used and not (used - allowed),
        f"all {len(used)} system calls the daemon made are in the unit's SystemCallFilter",
        f"outside the filter: {sorted(used - allowed)}")
t.check(fams and fams <= families, f"its socket families {sorted(fams)} are in RestrictAddressFamilies",
        f"outside: {sorted(fams - families)}")

# Control: without CAP_NET_ADMIN the probe cannot attach, and says so.
bus2 = Bus(policy=D("/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf"))
fewer = [c for c in caps if c != "CAP_NET_ADMIN"]
setpriv2 = setpriv[:-1] + ["--bounding-set=-all," + ",".join("+" + c[len("CAP_"):].lower() for c in fewer)]
d2 = Daemon(bus2, "--connect", f"test://{node_xml}", "--state-dir", state + "2",
            exe=vnmd, wrapper=setpriv2, name="nonetadmin")
time.sleep(2)
st2 = cli_json(bus2, "status")
t.check(not any(p["iface"] == "vnmin-v1" and p["attached"] for p in st2.get("probes", [])),
        "control: without CAP_NET_ADMIN the probe does not attach", json.dumps(st2.get("probes")))
d2.stop()
t.done()
