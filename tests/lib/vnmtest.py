"""Shared plumbing for virtnetmon's integration and end-to-end tests.

Each test gets a private dbus-daemon that loads the project's own bus policy,
a virtnetmond on it, and helpers to run the CLI and read kernel ground truth
(`ip -j -s link`). Everything a test creates is registered for cleanup.
"""
import atexit
import contextlib
import json
import os
import shutil
import socket
import signal
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77


def skip(reason):
    """Skip the test (exit 77), or fail when VIRTNETMON_REQUIRE_ALL=1."""
    if os.environ.get("VIRTNETMON_REQUIRE_ALL") == "1":
        print(f"FAIL (skips are failures here): {reason}", flush=True)
        sys.exit(1)
    print(f"SKIP: {reason}", flush=True)
    sys.exit(SKIP)


def require_root():
    if os.geteuid() != 0:
        skip("needs root (network namespaces, veth and tap devices)")
    if shutil.which("ip") is None:
        skip("needs iproute2's ip")


_cleanups = []
# The stacks on_cleanup adds to: the script's (run at exit), and on top of it
# the running case's (see Results.case), run when that case ends.
_cleanup_stacks = [_cleanups]


def on_cleanup(fn, *args, **kw):
    """Runs fn(*args, **kw) at cleanup: when the running case ends (see
    Results.case), or at exit when no case runs or inside shared_cleanups().
    Cleanups run last registered first."""
    _cleanup_stacks[-1].append((fn, args, kw))


@contextlib.contextmanager
def shared_cleanups():
    """Within this block on_cleanup registers with the script's stack even
    while a case runs: for what a case puts back into the shared fixture
    (a restarted daemon, a recreated device) for the cases after it."""
    _cleanup_stacks.append(_cleanups)
    try:
        yield
    finally:
        _cleanup_stacks.pop()


def _run_cleanups(stack=_cleanups):
    while stack:
        fn, args, kw = stack.pop()
        try:
            fn(*args, **kw)
        except Exception as e:  # keep cleaning
            print(f"cleanup {getattr(fn, '__name__', fn)}{args}: {e}", file=sys.stderr)


atexit.register(_run_cleanups)
signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))


def sh(*cmd, check=True, netns=None, **kw):
    if netns:
        cmd = ("ip", "netns", "exec", netns) + cmd
    return subprocess.run(cmd, check=check, text=True, capture_output=True, **kw)


def make_netns(name):
    sh("ip", "netns", "del", name, check=False)
    sh("ip", "netns", "add", name)
    on_cleanup(sh, "ip", "netns", "del", name)
    sh("ip", "link", "set", "lo", "up", netns=name)
    return name


def netns_on_bridge(bridge, dev, ns_name, addr, quiet=False):
    """A "VM": namespace @ns_name behind veth @dev (its peer @dev + "g" inside,
    with @addr/24), @dev a port of @bridge. quiet: IPv6 off on both ends, so
    no neighbour discovery or MLD chatter moves the counters."""
    ns = make_netns(ns_name)
    make_link(dev, "type", "veth", "peer", "name", dev + "g")
    if quiet:
        sh("sysctl", "-qw", f"net.ipv6.conf.{dev}.disable_ipv6=1")
    sh("ip", "link", "set", dev + "g", "netns", ns)
    if quiet:
        sh("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", netns=ns)
    sh("ip", "link", "set", dev, "master", bridge)
    sh("ip", "link", "set", dev, "up")
    sh("ip", "addr", "add", addr + "/24", "dev", dev + "g", netns=ns)
    sh("ip", "link", "set", dev + "g", "up", netns=ns)
    return ns


def write_test_node(path, domains):
    """Writes a libvirt test-driver node (for `--connect test://PATH`):
    @domains is a list of (name, uuid, [(mac, bridge, dev), ...]) or (name,
    uuid, ifaces, extra), one bridge interface per tuple; extra is XML put
    after <uuid> as it is (<title>, <metadata>). Names are XML-escaped."""
    from xml.sax.saxutils import escape
    parts = []
    for name, uuid, ifaces, *extra in domains:
        nics = "".join(f"""
      <interface type='bridge'>
        <mac address='{mac}'/>
        <source bridge='{bridge}'/>
        <target dev='{dev}'/>
      </interface>""" for mac, bridge, dev in ifaces)
        parts.append(f"""  <domain type='test'>
    <name>{escape(name, {'"': "&quot;"})}</name>
    <uuid>{uuid}</uuid>{"".join(extra)}
    <memory>65536</memory>
    <os><type>hvm</type></os>
    <devices>{nics}
    </devices>
  </domain>
""")
    with open(path, "w") as f:
        f.write("<node>\n" + "".join(parts) + "</node>\n")
    return path


def tcp_server(netns, addr, port, k, reply=0):
    """A server in @netns that accepts @k connections on @addr:@port, reads
    each to its end, then sends @reply bytes and closes. Killed at cleanup."""
    proc = subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", f"""
import socket
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(({addr!r}, {port})); s.listen(16)
for _ in range({k}):
    c, _ = s.accept()
    while c.recv(65536): pass
    c.sendall(b"r" * {reply}); c.close()
"""])
    on_cleanup(proc.kill)
    return proc


def tcp_clients(netns, addr, port, k, send):
    """@k connections from @netns to @addr:@port, one after the other, each
    sending exactly @send bytes and reading whatever comes back."""
    sh("ip", "netns", "exec", netns, "python3", "-c", f"""
import socket
for _ in range({k}):
    s = socket.create_connection(({addr!r}, {port}))
    s.sendall(b"m" * {send}); s.shutdown(socket.SHUT_WR)
    while s.recv(65536): pass
    s.close()
""")


def free_port():
    """A TCP port on 127.0.0.1 nobody listens on now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def make_link(*args):
    """ip link add ARGS; the first word is the name; deleted at cleanup."""
    name = args[0]
    sh("ip", "link", "del", name, check=False)
    sh("ip", "link", "add", *args)
    on_cleanup(sh, "ip", "link", "del", name, check=False)
    return name


def kernel_link(name):
    """Ground truth: the kernel's counters for NAME, host's view."""
    out = sh("ip", "-j", "-s", "link", "show", "dev", name).stdout
    info = json.loads(out)[0]
    st = info["stats64"]
    return {"rx_bytes": st["rx"]["bytes"], "rx_packets": st["rx"]["packets"],
            "tx_bytes": st["tx"]["bytes"], "tx_packets": st["tx"]["packets"],
            "rx_errors": st["rx"]["errors"], "rx_dropped": st["rx"]["dropped"],
            "tx_errors": st["tx"]["errors"], "tx_dropped": st["tx"]["dropped"],
            "ifindex": info["ifindex"], "operstate": info.get("operstate", "")}


def build_dir():
    return os.environ.get("VIRTNETMON_BUILD_DIR",
                          os.path.join(os.path.dirname(__file__), "..", "..", "build"))


def source_dir():
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


# The real libvirtd and the tiny test guest (tests/guest), for e2e and soak.
LIBVIRT_URI = "qemu:///system"
GUEST_DIR = "/var/lib/virtnetmon/guest"


def virsh(*args, check=True):
    return sh("virsh", "-c", LIBVIRT_URI, *args, check=check)


def daemon_pid(name):
    """The pid libvirt's daemon @name (libvirtd, virtlogd) wrote to its pid
    file under /run, if that process still runs; else None."""
    try:
        with open(f"/run/{name}.pid") as f:
            pid = int(f.read().strip())
    except (OSError, ValueError):
        return None
    try:
        with open(f"/proc/{pid}/comm") as f:
            if f.read().strip() != name:
                return None
    except OSError:
        return None
    return pid


def stop_pid(pid, timeout=5.0):
    """Stops process @pid (SIGTERM, then SIGKILL) and waits until it is gone.
    Only ever called with pids this test started or read from a pid file."""
    if pid is None:
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not os.path.exists(f"/proc/{pid}"):
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def qemu_pid_of(domain):
    """The pid of running domain @domain's QEMU, from libvirt's pid file."""
    with open(f"/run/libvirt/qemu/{domain}.pid") as f:
        return f.read().strip()


def stop_libvirt_daemon(name):
    """Stops libvirtd or virtlogd by the pid in its pid file."""
    stop_pid(daemon_pid(name), timeout=30)


def prepare_libvirt_guest():
    """Builds the guest image (when missing) and starts virtlogd and libvirtd.
    Returns "" when ready, else why not. Daemons this starts stop at cleanup,
    by the pid they wrote (a libvirtd the host already ran stays)."""
    already = {name: daemon_pid(name) for name in ("virtlogd", "libvirtd")}
    for script, args, what in (("build-guest.sh", [GUEST_DIR], "cannot build the guest image"),
                               ("libvirt-up.sh", [], "cannot start libvirtd")):
        r = subprocess.run([os.path.join(source_dir(), "tests", "guest", script), *args],
                           text=True, capture_output=True)
        if r.returncode != 0:
            return f"{what}: {r.stderr.strip()}"
    # Cleanups run last first: libvirtd stops before virtlogd.
    for name in ("virtlogd", "libvirtd"):
        if already[name] is None:
            on_cleanup(stop_libvirt_daemon, name)
    return ""


def destroyed_at_cleanup(name):
    """Destroys a leftover domain @name now, and the test's at cleanup."""
    virsh("destroy", name, check=False)
    on_cleanup(virsh, "destroy", name, check=False)


class Bus:
    """A private dbus-daemon configured like the system bus, with our policy."""

    def __init__(self, policy=None):
        """policy: the bus policy file to include (default: the build tree's,
        made from dbus/org.virtnetmon.Monitor1.conf.in)."""
        self.dir = tempfile.mkdtemp(prefix="vnm-bus-")
        on_cleanup(shutil.rmtree, self.dir, True)
        self.socket = os.path.join(self.dir, "bus.sock")
        self.address = f"unix:path={self.socket}"
        policy = policy or os.path.join(build_dir(), "dbus", "org.virtnetmon.Monitor1.conf")
        conf = os.path.join(self.dir, "bus.conf")
        with open(conf, "w") as f:
            f.write(f"""<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={self.socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <include>{policy}</include>
</busconfig>
""")
        os.chmod(self.dir, 0o755)
        self.proc = subprocess.Popen(["dbus-daemon", f"--config-file={conf}", "--nofork",
                                      "--print-address"], stdout=subprocess.PIPE, text=True)
        on_cleanup(self._stop)
        self.proc.stdout.readline()

    def _stop(self):
        self.proc.terminate()
        self.proc.wait(5)


_pin_dirs = 0


def pin_dir():
    """A fresh directory in bpffs for a test daemon's pinned maps, removed
    at cleanup (the daemon's default, /sys/fs/bpf/virtnetmon, is the host's)."""
    global _pin_dirs
    _pin_dirs += 1
    path = f"/sys/fs/bpf/vnmtest-{os.getpid()}-{_pin_dirs}"
    on_cleanup(shutil.rmtree, path, True)
    return path


class Daemon:
    def __init__(self, bus, *args, exe=None, wrapper=(), name="virtnetmond", usage_db=True):
        """exe: the daemon to run (default: the build tree's); wrapper: a
        command that runs it (setpriv, strace); name: its log file's name.
        Without --pin-dir in @args, the daemon pins into a fresh test
        directory (see pin_dir); without --usage-db, its usage database is
        in the bus's temporary directory (usage_db=False: no --usage-db, for
        a build from before it)."""
        if "--pin-dir" not in args:
            args = (*args, "--pin-dir", pin_dir())
        # The usage database in the test's directory, never /var/lib.
        if usage_db and "--usage-db" not in args:
            args = (*args, "--usage-db", os.path.join(bus.dir, name + "-usage.db"))
        self.bus = bus
        self.log = open(os.path.join(bus.dir, name + ".log"), "w+")
        self.proc = subprocess.Popen([*wrapper, exe or os.path.join(build_dir(), "src", "virtnetmond"),
                                      "--bus-address", bus.address, *args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        on_cleanup(self.stop)
        wait_for(lambda: cli(bus, "status", check=False).returncode == 0, 10,
                 "virtnetmond to answer on the bus")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    def output(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()


def cli(bus, *args, check=True, user=None):
    cmd = [os.path.join(build_dir(), "src", "virtnetmon"), "--bus-address", bus.address, *args]
    if user:
        cmd = ["setpriv", f"--reuid={user}", "--regid=nogroup", "--clear-groups"] + cmd
    r = subprocess.run(cmd, text=True, capture_output=True, timeout=30)
    if check and r.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r


def cli_json(bus, *args):
    """Runs `virtnetmon ARGS --json` and returns the document, once it is
    valid against its schema in docs/schema (tests/lib/jsonschema_check.py)."""
    return check_json(args, json.loads(cli(bus, *args, "--json").stdout))


def check_json(args, doc):
    """Validates @doc, printed by `virtnetmon ARGS --json`, against its
    schema (AssertionError when it does not match); returns @doc. Without
    python3-jsonschema only CI (VIRTNETMON_REQUIRE_ALL=1) fails."""
    import jsonschema_check
    try:
        return jsonschema_check.validate_output(args, doc)
    except jsonschema_check.NoJsonSchema as e:
        if os.environ.get("VIRTNETMON_REQUIRE_ALL") == "1":
            raise AssertionError(f"cannot check --json output: {e}")
        return doc


def ifstat_row(bus, name):
    for row in cli_json(bus, "ifstat", "--all"):
        if row["iface"] == name:
            return row
    return None


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


class Results:
    """Prints TAP so meson shows each check.

    A script is a shared setup and cases, so that one failure does not
    cascade:

        with t.setup("two namespaces, a bus and a daemon"):
            ...                  # what every case uses; cleaned up at exit

        @t.case("exact bytes each way")
        def _():                 # runs at once
            ...                  # what the case makes it cleans up itself

    on_cleanup calls made while a case runs go to that case's own stack,
    run when the case ends, passed or failed (shared_cleanups() puts them on
    the script's). An exception in a case (an AssertionError, a failed
    command, a timeout) is one `not ok` naming the case and the exception,
    and the script goes on with the next case. An exception in the shared
    setup is one `not ok`, and the script ends there. done() prints the
    plan and exits 1 when anything failed.
    """

    def __init__(self):
        self.n = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        self.n += 1
        detail = str(detail) if detail else ""
        # Only the detail's first line goes on the TAP line: a line of its
        # own would not be TAP. All of it follows as TAP comments.
        first = detail.splitlines()[0] if detail else ""
        print(f"{'ok' if ok else 'not ok'} {self.n} - {what}{(' # ' + first) if first and not ok else ''}",
              flush=True)
        if not ok:
            self.failed += 1
            if detail:
                print("# " + detail.replace("\n", "\n# "), flush=True)
            # meson's failure summary shows stderr, not the TAP stream: say
            # there what failed and with what, so a CI log is enough.
            print(f"FAILED: {what}" + (f"\n  {detail}" if detail else ""), file=sys.stderr, flush=True)

    def _raised(self, where, e):
        msg = str(e).strip()
        head = (msg.splitlines() or [""])[0]
        if len(head) > 200:
            head = head[:200] + "..."
        frames = traceback.extract_tb(e.__traceback__)
        script = os.path.abspath(sys.argv[0])
        mine = [f for f in frames if os.path.abspath(f.filename) == script] or frames
        place = f"raised at {os.path.basename(mine[-1].filename)}:{mine[-1].lineno}\n" if mine else ""
        self.check(False, f"{where}: {type(e).__name__}{': ' + head if head else ''}",
                   place + "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip())

    def case(self, name):
        """Decorator: runs the function at once as the case @name, with
        its own cleanup stack; an exception is reported, not raised."""
        def run(fn):
            self.run_case(name, fn)
            return fn
        return run

    def run_case(self, name, fn, *args, **kw):
        """Runs fn(*args, **kw) as the case @name; returns whether it ran
        to its end without an exception (its checks may still fail)."""
        print(f"# case: {name}", flush=True)
        stack = []
        _cleanup_stacks.append(stack)
        try:
            fn(*args, **kw)
            return True
        except Exception as e:
            self._raised(f"case '{name}'", e)
            return False
        finally:
            # (Any shared_cleanups() block in the case has popped its own.)
            assert _cleanup_stacks.pop() is stack
            _run_cleanups(stack)

    @contextlib.contextmanager
    def setup(self, what):
        """with t.setup(what): the shared fixture. An exception in it is
        reported as one failure and ends the script (exit 1)."""
        print(f"# setup: {what}", flush=True)
        try:
            yield
        except Exception as e:
            self._raised(f"setup ({what})", e)
            self.done()

    def done(self):
        print(f"1..{self.n}", flush=True)
        sys.exit(1 if self.failed else 0)
