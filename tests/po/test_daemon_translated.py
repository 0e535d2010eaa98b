#!/usr/bin/env python3
"""virtnetmond speaks German when asked to: every message of src/daemon has
a German translation in po/de.po, and the daemon built here prints them,
with LANGUAGE=de LANG=C.UTF-8 and the catalogue compiled from po/de.po
(VIRTNETMON_LOCALEDIR): its --help, its usage errors (a value out of range,
a malformed configuration file), its log lines and the text of the D-Bus
errors it returns (those are in the daemon's locale, whoever calls). The
daemon runs unprivileged: a private bus, libvirt's test:/// driver, --no-bpf.
Needs VIRTNETMON_BUILD_DIR (the meson build directory)."""
import gettext
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_cli_translated import de_po, sources, untranslated  # noqa: E402

build = os.environ.get("VIRTNETMON_BUILD_DIR", "")
daemon = os.path.join(build, "src", "virtnetmond")
dbus_call = os.path.join(build, "tests", "helpers", "dbus-call")

results = []


def check(ok, what, detail=""):
    results.append(bool(ok))
    print(f"{'ok' if ok else 'not ok'} {len(results)} - {what}")
    if not ok and detail:
        print("# " + detail.rstrip("\n").replace("\n", "\n# "))


def skip(what, why):
    results.append(True)
    print(f"ok {len(results)} - {what} # SKIP {why}")


def pattern(fmt):
    """A regex for what a printf format prints: its text, any argument."""
    spec = r"%(?:\d+\$)?[-+ #0]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?[diouxXeEfgGcsp%]"
    out, pos = "", 0
    for m in re.finditer(spec, fmt):
        out += re.escape(fmt[pos:m.start()]) + ("%" if m.group() == "%%" else ".*?")
        pos = m.end()
    return out + re.escape(fmt[pos:])


class German:
    """The German catalogue: translation of a msgid, and whether text shows
    the German message (and not the English one)."""

    def __init__(self, localedir):
        self.t = gettext.translation("virtnetmon", localedir=localedir, languages=["de"])

    def __call__(self, msgid):
        return self.t.gettext(msgid)

    def says(self, text, msgid):
        de = self(msgid)
        return de != msgid and re.search(pattern(de), text) and not re.search(pattern(msgid), text)


def run_daemon(args, env, timeout=10):
    return subprocess.run([daemon, *args], env=env, text=True, capture_output=True,
                          timeout=timeout)


def usage_errors(de, env, tmp):
    conf = os.path.join(tmp, "empty.conf")
    open(conf, "w").close()

    r = run_daemon(["--help"], env)
    summary_line = de("Per-VM network observability for libvirt/KVM hosts: maps host interfaces to\n"
                      "VMs from libvirt's domain XML (or QEMU command lines), samples their counters\n"
                      "and serves them on D-Bus as org.virtnetmon.Monitor1.\n"
                      "For VM interfaces, rx/tx are the guest's view (rx = into the VM), as\n"
                      "`virsh domifstat` prints them.").split("\n")[0]
    options = ["Sampling interval in seconds (default: 1)", "Use the session bus",
               "Do not load or probe any eBPF program", "Log debugging messages",
               "Read defaults from FILE (default: %s, when it exists)"]
    missing = [m for m in options if not de.says(r.stdout, m)]
    check(r.returncode == 0 and summary_line in r.stdout and not missing,
          "virtnetmond --help is in German (summary and options)",
          f"exit {r.returncode}; not in German: {missing}\n{r.stdout}{r.stderr}")

    r = run_daemon(["--config", conf, "--interval", "0"], env)
    check(r.returncode == 2 and de.says(r.stderr, "--interval must be between %g and %g seconds, not %g.")
          and de.says(r.stderr, "Run 'virtnetmond --help' for the options."),
          "an --interval out of range is refused in German (exit 2)",
          f"exit {r.returncode}\n{r.stderr}")

    r = run_daemon(["--config", conf, "--probe-attach", "sideways"], env)
    check(r.returncode == 2
          and de.says(r.stderr, "unknown --probe-attach mode '%s' (use tcx, tc-clsact or auto).")
          and "sideways" in r.stderr,
          "an unknown --probe-attach mode is refused in German, naming it (exit 2)",
          f"exit {r.returncode}\n{r.stderr}")

    bad = os.path.join(tmp, "bad.conf")
    with open(bad, "w") as f:
        f.write("[daemon]\ninterval=1\n[nosuch]\nkey=1\n")
    r = run_daemon(["--config", bad], env)
    check(r.returncode == 2
          and de.says(r.stderr, "Unknown section [%s] in '%s' (known: [daemon], [domains]).")
          and bad in r.stderr,
          "a configuration file with an unknown section is refused in German, naming it",
          f"exit {r.returncode}\n{r.stderr}")

    with open(bad, "w") as f:
        f.write("[domains]\nmonitoring=maybe\n")
    r = run_daemon(["--config", bad], env)
    check(r.returncode == 2
          and de.says(r.stderr, "%s= in [%s] of '%s' is '%s'; use yes or no.")
          and "maybe" in r.stderr,
          "a configuration file with a bad value is refused in German, quoting it",
          f"exit {r.returncode}\n{r.stderr}")


def call(address, method, args):
    r = subprocess.run([dbus_call, address, method, args], text=True, capture_output=True,
                       timeout=30)
    return r.stdout.strip()


def running_daemon(de, env, tmp):
    """Log lines and D-Bus errors of a daemon on a private bus."""
    what = "a running daemon logs and answers D-Bus errors in German"
    if not shutil.which("dbus-daemon"):
        skip(what, "no dbus-daemon")
        return
    if not os.access(dbus_call, os.X_OK):
        skip(what, f"no dbus-call helper at '{dbus_call}'")
        return
    conf = os.path.join(tmp, "empty.conf")
    bus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--print-address=1"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    proc = None
    try:
        address = bus.stdout.readline().strip()
        log = open(os.path.join(tmp, "daemon.log"), "w+")
        proc = subprocess.Popen([daemon, "--bus-address", address, "--connect", "test:///default",
                                 "--no-bpf", "--state-dir", os.path.join(tmp, "state"),
                                 "--pin-dir", "", "--config", conf],
                                env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
        reply = ""
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and proc.poll() is None:
            reply = call(address, "ListDomains", "()")
            if reply.startswith("OK"):
                break
            time.sleep(0.2)
        if not reply.startswith("OK"):
            log.seek(0)
            check(False, what, f"the daemon did not answer: {reply}\n{log.read()}")
            return

        unknown = call(address, "GetInterfaceStats", "('no-such-domain', '')")
        check(unknown.startswith("ERROR org.virtnetmon.Error.UnknownDomain")
              and de.says(unknown, "No running domain has the name, id or uuid '%s'."),
              "an unknown domain's D-Bus error text is in German", unknown)
        sort = call(address, "GetLinkStats", "('sideways', false, uint32 0, false, '')")
        check(sort.startswith("ERROR org.virtnetmon.Error.InvalidArgument")
              and de.says(sort, "Unknown sort key '%.32s': use 'rx' or 'tx'."),
              "a bad argument's D-Bus error text is in German", sort)

        proc.terminate()
        proc.wait(timeout=10)
        log.seek(0)
        text = log.read()
        lines = ["Connected to libvirt at %s.", "Serving %s (interval %.1f s, libvirt %s).",
                 "Flow probes are not available: %s", "Stopping on signal %d."]
        missing = [m for m in lines if not de.says(text, m)]
        check(not missing, "its log lines are in German", f"not in German: {missing}\n{text}")
    finally:
        if proc and proc.poll() is None:
            proc.kill()
            proc.wait()
        bus.terminate()
        bus.wait()


def unmarked_log_lines(files):
    """Log calls (g_message, g_warning, g_info, g_critical) whose format is a
    string literal with words in it, not _("...")."""
    call = re.compile(r'\b(?:g_message|g_warning|g_info|g_critical)\s*\(\s*"((?:[^"\\]|\\.)*)"')
    spec = re.compile(r"%(?:\d+\$)?[-+ #0]*(?:\d+|\*)?(?:\.\d+)?(?:hh|h|ll|l|z|j|t|L)?[a-zA-Z%]")
    out = []
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for f in files:
        with open(os.path.join(top, f), encoding="utf-8") as fh:
            for n, line in enumerate(fh, 1):
                for m in call.finditer(line):
                    if re.search(r"[A-Za-z]{2}", spec.sub("", m.group(1))):
                        out.append(f"{f}:{n}: {line.strip()}")
    return out


def main():
    if not build or not os.access(daemon, os.X_OK):
        print(f"1..0 # SKIP no virtnetmond binary at '{daemon}' (set VIRTNETMON_BUILD_DIR)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        total, n_missing, missing = untranslated(tmp, "daemon", sources("daemon", ".c"))
        check(n_missing == 0 and total > 0,
              f"all {total} daemon messages are translated ({n_missing} missing)", missing)
        bare = unmarked_log_lines(sources("daemon", ".c"))
        check(not bare, "every log line with words is marked for translation", "\n".join(bare))

        localedir = os.path.join(tmp, "locale")
        os.makedirs(os.path.join(localedir, "de", "LC_MESSAGES"))
        mo = subprocess.run(["msgfmt", "-c", "-o",
                             os.path.join(localedir, "de", "LC_MESSAGES", "virtnetmon.mo"), de_po],
                            text=True, capture_output=True)
        check(mo.returncode == 0, "de.po compiles (msgfmt -c)", mo.stderr)
        if mo.returncode == 0:
            env = {k: v for k, v in os.environ.items() if not k.startswith("LC_")}
            env.update(LANGUAGE="de", LANG="C.UTF-8", VIRTNETMON_LOCALEDIR=localedir,
                       HOME=tmp, XDG_CACHE_HOME=tmp, XDG_CONFIG_HOME=tmp, XDG_RUNTIME_DIR=tmp)
            de = German(localedir)
            usage_errors(de, env, tmp)
            running_daemon(de, env, tmp)
    print(f"1..{len(results)}")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
