#!/usr/bin/env python3
"""virtnetmon's usage errors, without a daemon and without root.

Every bad invocation exits 2 at once, before any D-Bus call, with one line
on stderr that names the option as it was typed and quotes the value. The
system bus is a socket that does not exist, so a command that wrongly goes
on to ask the daemon exits 1 instead, and fails here; the valid-looking
invocations must do exactly that (exit 1, "not running"), so that the test
fails both ways. Needs VIRTNETMON_BUILD_DIR (the meson build directory)."""
import os
import subprocess
import sys
import tempfile
import time

build = os.environ.get("VIRTNETMON_BUILD_DIR", "")
cli = os.path.join(build, "src", "virtnetmon")
if not build or not os.access(cli, os.X_OK):
    print(f"1..0 # SKIP no virtnetmon binary at '{cli}' (set VIRTNETMON_BUILD_DIR)")
    sys.exit(0)

# Well under the 5 s that `set` waits for the daemon.
FAST = 2.0
LONG = "x" * 300

# (arguments, strings stderr must contain: the option as typed, the value)
USAGE = [
    # The two examples of the issue.
    (["latency", "dom", "--on", "--src-ip", "1.2.3"], ["--src-ip", "'1.2.3'"]),
    (["set", "dom", "--latency", "on", "--unset", "latency"], ["--latency", "--unset", "'latency'"]),
    # latency: values checked here, not by the daemon.
    (["latency", "dom", "--on", "--dst-ip", "999.1.1.1"], ["--dst-ip", "'999.1.1.1'"]),
    (["latency", "dom", "--on", "--src-ip", "10.0.0.1", "--dst-ip", "::1"], ["--src-ip", "--dst-ip"]),
    (["latency", "dom", "--on", "--src-port", "70000"], ["--src-port", "'70000'"]),
    (["latency", "dom", "--on", "--dst-port", "abc"], ["--dst-port", "'abc'"]),
    (["latency", "dom", "--on", "--dst-port", "0"], ["--dst-port", "'0'"]),
    (["latency", "dom", "--on", "-t", "60000001"], ["-t", "'60000001'"]),
    (["latency", "dom", "--on", "--direction", "up"], ["--direction", "'up'"]),
    (["latency", "dom", "--on", "-p", "sctp"], ["-p", "'sctp'"]),
    (["latency", "dom", "--events", "--count", "0"], ["--count", "'0'"]),
    # latency: what does not go together.
    (["latency", "dom", "--on", "--off"], ["--on", "--off"]),
    (["latency", "dom", "--events", "--on"], ["--on", "--events"]),
    (["latency", "dom", "--hist", "--events"], ["--hist", "--events"]),
    (["latency", "dom", "--events", "-i", "vnet0"], ["-i", "--events"]),
    (["latency", "dom", "--off", "-p", "tcp"], ["-p", "--off"]),
    (["latency", "dom", "--all", "--on"], ["--all", "'dom'"]),
    (["latency", "--all"], ["--all", "--on"]),
    (["latency", "dom", "--proto", "udp"], ["--proto", "--on"]),
    (["latency", "dom", "-n", "5"], ["-n", "--events"]),
    (["latency"], ["domain"]),
    # set
    (["set", "dom", "--unset", "monitoring", "--monitoring", "off"], ["--monitoring", "--unset"]),
    (["set", "dom", "--latency", "maybe"], ["--latency", "'maybe'"]),
    (["set", "dom", "--flow-table-size", "8"], ["--flow-table-size", "'8'"]),
    (["set", "dom", "--latency-threshold=-1"], ["--latency-threshold", "'-1'"]),
    (["set", "dom", "--unset", "latency_threshold_us"], ["--unset", "'latency_threshold_us'"]),
    (["set"], ["domain"]),
    # ifstat
    (["ifstat", "--sort", "sideways"], ["--sort", "'sideways'"]),
    (["ifstat", "-s", "up"], ["-s", "'up'"]),
    (["ifstat", "--top", "-1"], ["--top", "'-1'"]),
    (["ifstat", "-f", LONG], ["-f"]),
    (["ifstat", "--asc=no"], ["--asc", "'no'"]),
    (["ifstat", "--bogus"], ["--bogus"]),
    (["ifstat", "extra"], ["'extra'"]),
    # flows
    (["flows", "dom", "--by", "nonsense"], ["--by", "'nonsense'"]),
    (["flows", "dom", "-n", "x"], ["-n", "'x'"]),
    (["flows", "dom", "--initiator", "sideways"], ["--initiator", "'sideways'"]),
    (["flows", "dom", "extra"], ["'extra'"]),
    # history
    (["history", "dom", "--since", "3w"], ["--since", "'3w'"]),
    (["history", "dom", "-s", "0"], ["-s", "'0'"]),
    (["history", "dom", "-m", "tx_bogus"], ["-m", "'tx_bogus'"]),
    # top
    (["top", "--json", "--interval", "2"], ["--interval", "--json"]),
    (["top", "-i", "0"], ["-i", "'0'"]),
    (["top", "--sort", "sideways"], ["--sort", "'sideways'"]),
    (["top"], ["terminal", "--json"]),
    # the others
    (["domiflist", "a", "b"], ["'b'"]),
    (["domiflist", LONG], ["DOMAIN"]),
    (["domifstat"], ["DOMAIN"]),
    (["domifstat", "a", "b", "c"], ["'c'"]),
    (["drops"], ["domain"]),
    (["list", "--json=yes"], ["--json", "'yes'"]),
    (["status", "extra"], ["'extra'"]),
    # global options and commands
    (["--bus-address", "foo", "list"], ["--bus-address", "'foo'"]),
    (["--bus-address"], ["--bus-address"]),
    (["--session", "--bus-address", "unix:path=/nonexistent", "list"], ["--session", "--bus-address"]),
    (["--bogus", "list"], ["'--bogus'"]),
    (["lsit"], ["'lsit'", "'list'"]),
    (["help", "nosuch"], ["'nosuch'"]),
]

# Valid invocations: they get past the checks and fail to reach the daemon.
VALID = [
    ["list"],
    ["latency", "dom", "--on", "--src-ip", "1.2.3.4", "--dst-ip", "10.0.0.2", "--src-port", "80",
     "--dst-port", "443", "-t", "250", "-d", "rx", "-p", "tcp"],
    ["latency", "dom", "--on", "--src-ip", "fe80::1"],
    ["latency", "dom", "--events", "--proto", "udp", "--count", "3"],
    ["latency", "dom", "--hist", "-i", "vnet0"],
    ["latency", "--all", "--off"],
    ["set", "dom", "--latency", "on", "--unset", "monitoring"],
    ["set", "dom"],
    ["top", "--json"],
    ["--json", "top", "-s", "rx", "--asc", "-a", "-f", "vm"],
    ["ifstat", "-n", "010", "-s", "rx"],
    ["history", "dom", "--since", "2h", "-m", "tx_pps"],
    ["flows", "dom", "-b", "remote-port", "-n", "5", "--initiator", "remote"],
    ["domiflist", "--", "-odd-name"],
    ["domifstat", "dom", "vnet0"],
]

# (arguments, what stdout of the help must contain)
HELP = [
    (["--help"], ["top", "2 usage error"]),
    (["top", "--help"], ["--json"]),
    (["help", "latency"], ["--src-ip", "2 usage error"]),
]

n = 0
failed = False


def report(ok, what, detail=""):
    global n, failed
    n += 1
    failed |= not ok
    print(f"{'ok' if ok else 'not ok'} {n} - {what}")
    if not ok and detail:
        print("# " + detail.replace("\n", "\n# "))


def run(args, env):
    start = time.monotonic()
    r = subprocess.run([cli, *args], env=env, stdin=subprocess.DEVNULL, text=True,
                       capture_output=True, timeout=30)
    return r, time.monotonic() - start


def shown(args):
    return " ".join(a if len(a) < 40 else a[:12] + "..." for a in args)


with tempfile.TemporaryDirectory() as tmp:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "DBUS_"))}
    env.update(LC_ALL="C", LANGUAGE="C",
               DBUS_SYSTEM_BUS_ADDRESS=f"unix:path={tmp}/no-such-bus",
               DBUS_SESSION_BUS_ADDRESS=f"unix:path={tmp}/no-such-bus")
    for args, wanted in USAGE:
        r, took = run(args, env)
        lines = r.stderr.splitlines()
        missing = [w for w in wanted if w not in r.stderr]
        ok = r.returncode == 2 and len(lines) == 1 and not missing and took < FAST
        extra = ""
        if args[:2] == ["latency", "dom"] and "src_ip" in r.stderr:
            ok, extra = False, "names the D-Bus key src_ip; "
        report(ok, f"usage error: virtnetmon {shown(args)}",
               f"{extra}exit {r.returncode} (want 2) in {took:.2f} s, {len(lines)} stderr lines, "
               f"missing {missing}:\n{r.stderr}")
    for args in VALID:
        r, took = run(args, env)
        ok = r.returncode == 1 and "not running" in r.stderr and took < FAST
        report(ok, f"not a usage error (no daemon: exit 1): virtnetmon {shown(args)}",
               f"exit {r.returncode} (want 1) in {took:.2f} s:\n{r.stderr}")
    for args, wanted in HELP:
        r, took = run(args, env)
        missing = [w for w in wanted if w not in r.stdout]
        report(r.returncode == 0 and not missing, f"help: virtnetmon {shown(args)}",
               f"exit {r.returncode}, missing {missing}:\n{r.stdout}{r.stderr}")
print(f"1..{n}")
sys.exit(1 if failed else 0)
