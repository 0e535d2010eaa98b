#!/usr/bin/env python3
"""Package: the Debian package built from this tree with
`dpkg-buildpackage -us -uc -b`, installed on this machine, started by the
system bus, and purged.

Ground truth: dpkg's own records (the file list, conffiles, status), lintian,
the system bus (who owns org.virtnetmon.Monitor1, and as which program), the
kernel's BPF links, and the file system after the purge. The system bus is
the machine's own: started here when it is not running, and stopped again.
"""
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
from vnmtest import Results, on_cleanup, require_root, sh, skip, source_dir, wait_for  # noqa: E402

require_root()
for tool in ("dpkg-buildpackage", "dh", "lintian", "dbus-daemon", "dbus-send", "bpftool", "man"):
    if shutil.which(tool) is None:
        skip(f"needs {tool} (Debian packages dpkg-dev, debhelper, lintian, dbus, bpftool, man-db)")

PKG = "virtnetmon"
NAME = "org.virtnetmon.Monitor1"
t = Results()
tmp = tempfile.mkdtemp(prefix="vnm-deb-")
on_cleanup(shutil.rmtree, tmp, True)


def installed():
    r = sh("dpkg-query", "-W", "-f=${Status}", PKG, check=False)
    return r.returncode == 0 and "installed" in r.stdout.split()


def purge():
    return sh("dpkg", "--purge", PKG, check=False)


if installed():
    print(f"# {PKG} was installed before the test: purging it first", flush=True)
    purge()
on_cleanup(lambda: installed() and purge())

# --- build ---------------------------------------------------------------------
# A copy of the tree (what git tracks plus new files it does not ignore):
# dpkg-buildpackage writes its results next to the source directory.
src = os.path.join(tmp, "virtnetmon")
top = source_dir()
if os.path.isdir(os.path.join(top, ".git")):
    names = sh("git", "-C", top, "ls-files", "-co", "--exclude-standard", "-z").stdout.split("\0")
    for n in filter(None, names):
        if os.path.exists(os.path.join(top, n)):
            os.makedirs(os.path.dirname(os.path.join(src, n)), exist_ok=True)
            shutil.copy2(os.path.join(top, n), os.path.join(src, n), follow_symlinks=False)
else:
    shutil.copytree(top, src, symlinks=True, ignore=shutil.ignore_patterns("build", "_build*", ".git"))
# PatternFly for the Cockpit page: npm's, as the README tells a package builder.
pf = os.path.join("src", "cockpit", "node_modules")
if os.path.isdir(os.path.join(top, pf)) and not os.path.isdir(os.path.join(src, pf)):
    shutil.copytree(os.path.join(top, pf), os.path.join(src, pf), symlinks=True)
env = dict(os.environ, DEB_BUILD_OPTIONS="parallel=2")
env.pop("VIRTNETMON_BUILD_DIR", None)
r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-b"], cwd=src, env=env,
                   capture_output=True, text=True)
with open(os.path.join(tmp, "build.log"), "w") as f:
    f.write(r.stdout + r.stderr)
debs = sorted(f for f in os.listdir(tmp) if f.startswith(PKG + "_") and f.endswith(".deb"))
t.check(r.returncode == 0 and len(debs) == 1, "dpkg-buildpackage -us -uc -b builds virtnetmon_*.deb",
        (r.stdout + r.stderr)[-3000:])
if not debs:
    t.done()
deb = os.path.join(tmp, debs[0])
t.check("meson test --suite unit" in r.stdout and re.search(r"^Ok:\s+[1-9]", r.stdout, re.M) and
        re.search(r"^Fail:\s+0\s*$", r.stdout, re.M), "the unit suite ran at build time and passed")

contents = sh("dpkg-deb", "-c", deb).stdout
paths = {line.split()[5].lstrip(".") for line in contents.splitlines()}
for p in ("/usr/sbin/virtnetmond", "/usr/bin/virtnetmon", "/lib/systemd/system/virtnetmond.service",
          "/usr/share/dbus-1/system.d/org.virtnetmon.Monitor1.conf",
          "/usr/share/dbus-1/system-services/org.virtnetmon.Monitor1.service",
          "/usr/share/dbus-1/interfaces/org.virtnetmon.Monitor1.xml",
          "/usr/share/polkit-1/actions/org.virtnetmon.policy", "/etc/virtnetmon/virtnetmond.conf",
          "/usr/share/man/man8/virtnetmond.8.gz", "/usr/share/man/man1/virtnetmon.1.gz",
          "/usr/share/locale/de/LC_MESSAGES/virtnetmon.mo", "/usr/share/doc/virtnetmon/copyright",
          "/usr/share/virtnetmon/schemas/virtnetmon-settings.rng",
          "/usr/share/virtnetmon/schemas/virtnetmon-records.schema.json",
          "/usr/share/virtnetmon/schemas/virtnetmon-ifstat.schema.json",
          "/usr/libexec/virtnetmon-libvirt-hook", "/etc/libvirt/hooks/qemu.d/virtnetmon",
          "/usr/share/cockpit/virtnetmon/manifest.json", "/usr/share/cockpit/virtnetmon/index.html",
          "/usr/share/cockpit/virtnetmon/virtnetmon.js", "/usr/share/cockpit/virtnetmon/patternfly.css",
          "/usr/share/cockpit/virtnetmon/po.de.js"):
    if p not in paths:
        t.check(False, f"the package holds {p}", contents)
t.check(True, "the package holds the daemon, CLI, unit, bus policy, activation, polkit, libvirt hook, "
        "Cockpit page, man pages, translations")
ctl = os.path.join(tmp, "control")
sh("dpkg-deb", "-e", deb, ctl)
with open(os.path.join(ctl, "conffiles")) as f:
    t.check(f.read().split() == ["/etc/virtnetmon/virtnetmond.conf"], "the configuration file is a conffile")
depends = sh("dpkg-deb", "-f", deb, "Depends").stdout
t.check(all(d in depends for d in ("libbpf1", "libvirt0", "libmnl0", "libglib2.0-0", "dbus")),
        "Depends: the shared libraries (from shlibs) and dbus", depends)
changes = [f for f in os.listdir(tmp) if f.endswith(".changes")]
r = sh("lintian", "--fail-on", "error", os.path.join(tmp, changes[0]), check=False)
t.check(r.returncode == 0, "lintian finds no errors", r.stdout + r.stderr)

# --- the system bus ----------------------------------------------------------------


def bus_up():
    return sh("dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/",
              "org.freedesktop.DBus.GetId", check=False).returncode == 0


def name_owner_pid():
    r = sh("dbus-send", "--system", "--print-reply", "--dest=org.freedesktop.DBus", "/",
           "org.freedesktop.DBus.GetConnectionUnixProcessID", f"string:{NAME}", check=False)
    return int(r.stdout.split()[-1]) if r.returncode == 0 else None


if not bus_up():
    os.makedirs("/run/dbus", exist_ok=True)
    if os.path.exists("/run/dbus/pid"):
        os.unlink("/run/dbus/pid")
    pid = int(sh("dbus-daemon", "--system", "--fork", "--print-pid").stdout.split()[0])

    def stop_bus(pid=pid):
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        for f in ("/run/dbus/pid",):
            if os.path.exists(f):
                os.unlink(f)
    on_cleanup(stop_bus)
    wait_for(bus_up, 10, "the system bus")
if name_owner_pid():
    t.check(False, f"{NAME} is free on the system bus before the test",
            "a virtnetmond already runs there (./run.sh? stop it with ./run.sh stop)")
    t.done()

# --- install -------------------------------------------------------------------------
r = sh("dpkg", "-i", deb, check=False)
t.check(r.returncode == 0 and installed(), "dpkg -i installs the package", r.stdout + r.stderr)
owned = [p for p in sh("dpkg", "-L", PKG).stdout.split("\n") if p and os.path.isfile(p)]
t.check(os.path.realpath("/etc/libvirt/hooks/qemu.d/virtnetmon") == "/usr/libexec/virtnetmon-libvirt-hook"
        and os.access("/etc/libvirt/hooks/qemu.d/virtnetmon", os.X_OK),
        "the libvirt hook is in place in /etc/libvirt/hooks/qemu.d")
# With an empty XDG_DATA_HOME: root's own packages (./run.sh links one) would hide it.
r = sh("cockpit-bridge", "--packages", check=False, env=dict(os.environ, XDG_DATA_HOME=tmp))
t.check(any(line.split()[:1] == ["virtnetmon"] and "/usr/share/cockpit/virtnetmon" in line
            for line in r.stdout.splitlines()),
        "Cockpit finds the installed page (cockpit-bridge --packages)", r.stdout + r.stderr)
t.check(os.path.islink("/etc/systemd/system/multi-user.target.wants/virtnetmond.service") and
        os.path.islink("/etc/systemd/system/dbus-org.virtnetmon.Monitor1.service"),
        "the unit is enabled (multi-user.target wants it; the bus name alias points at it)")

t0 = time.monotonic()
r = sh("/usr/bin/virtnetmon", "status", "--json", check=False)
took = time.monotonic() - t0
try:
    st = json.loads(r.stdout)
except ValueError:
    st = {}
pid = name_owner_pid()
exe = os.readlink(f"/proc/{pid}/exe") if pid else ""
t.check(r.returncode == 0 and st.get("version") and exe == "/usr/sbin/virtnetmond",
        f"the first call starts /usr/sbin/virtnetmond through the system bus and it answers ({took:.1f} s)",
        f"rc {r.returncode} exe {exe!r} {r.stderr}")
if pid:
    with open(f"/proc/{pid}/cmdline") as f:
        argv = f.read().split("\0")
    t.check("--system" in argv, "the activated daemon serves the system bus", str(argv))
r = sh("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/virtnetmon", "list",
       "--json", check=False)
t.check(r.returncode == 0 and r.stdout.strip().startswith("["),
        "an unprivileged user reads through the installed bus policy", r.stderr)
r = sh("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/usr/bin/virtnetmon", "latency",
       "--all", "--on", check=False)
t.check(r.returncode == 1 and "permission denied" in r.stderr,
        "an unprivileged user may not switch tracing on", r.stderr)
r = subprocess.run(["/usr/bin/virtnetmon", "--help"], capture_output=True, text=True,
                   env=dict(os.environ, LANGUAGE="de", LANG="C.UTF-8", LC_ALL="C.UTF-8"))
t.check("Aufruf: virtnetmon" in r.stdout + r.stderr, "the installed German translation is used",
        (r.stdout + r.stderr)[:300])
r = sh("man", "-w", "virtnetmond", check=False)
t.check(r.stdout.strip() == "/usr/share/man/man8/virtnetmond.8.gz", "man finds virtnetmond(8)", r.stdout)

# A map pinned where virtnetmond keeps pinned objects: purge must remove it.
pinned = "/sys/fs/bpf/virtnetmon/vnm_purge_check"
if os.path.ismount("/sys/fs/bpf"):
    os.makedirs(os.path.dirname(pinned), exist_ok=True)
    sh("bpftool", "map", "create", pinned, "type", "array", "key", "4", "value", "4", "entries", "1",
       "name", "vnm_purge")

# --- purge ------------------------------------------------------------------------------
r = purge()
t.check(r.returncode == 0 and not installed(), "dpkg --purge removes the package", r.stdout + r.stderr)
t.check(not pid or not os.path.exists(f"/proc/{pid}"), "the running daemon was stopped")
t.check(name_owner_pid() is None, f"{NAME} has no owner on the system bus any more")
left = [p for p in owned if os.path.lexists(p)]
left += [p for p in ("/etc/virtnetmon", "/run/virtnetmon", "/sys/fs/bpf/virtnetmon",
                     "/etc/libvirt/hooks/qemu.d/virtnetmon",
                     "/etc/systemd/system/multi-user.target.wants/virtnetmond.service",
                     "/etc/systemd/system/dbus-org.virtnetmon.Monitor1.service") if os.path.lexists(p)]
t.check(not left and len(owned) >= 18,
        f"nothing of it is left: its {len(owned)} files, /etc/virtnetmon, run-time state, pinned maps, unit links",
        str(left))
links = json.loads(sh("bpftool", "-j", "link", "show").stdout or "[]")
progs = {p["id"]: p.get("name", "") for p in json.loads(sh("bpftool", "-j", "prog", "show").stdout or "[]")}
vnm = [progs.get(link.get("prog_id"), "") for link in links
       if progs.get(link.get("prog_id"), "").startswith("vnm_")]
t.check(not vnm, "no BPF program of virtnetmond stays attached", str(vnm))
t.done()
