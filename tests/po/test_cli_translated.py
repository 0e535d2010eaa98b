#!/usr/bin/env python3
"""Every message the CLI prints (its own, and those of src/common it shows)
and every message of the Cockpit page (src/cockpit/*.js) has a German
translation in po/de.po, and de.po compiles cleanly (msgfmt -c)."""
import os
import re
import subprocess
import sys
import tempfile

top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
de_po = os.path.join(top, "po", "de.po")


def sources(subdir, ext):
    d = os.path.join(top, "src", subdir)
    return [os.path.join("src", subdir, f) for f in sorted(os.listdir(d)) if f.endswith(ext)]


def run(*cmd):
    return subprocess.run(cmd, text=True, capture_output=True, check=True).stdout


def untranslated(tmp, name, files):
    """(messages, how many lack a translation, those entries) of @files
    against de.po."""
    pot = os.path.join(tmp, name + ".pot")
    run("xgettext", "--from-code=UTF-8", "-k_", "-kN_", "-o", pot, "-D", top, *files)
    # de.po restricted to these msgids: entries missing from de.po come out
    # untranslated, and so do entries de.po has with an empty msgstr.
    # (Each msgattrib output starts with the header entry.)
    po = os.path.join(tmp, name + ".po")
    with open(po, "w") as f:
        f.write(run("msgmerge", "-q", "--no-fuzzy-matching", "-o", "-", de_po, pot))
    # Fuzzy entries hold a guess from another message: not a translation.
    untranslated = run("msgattrib", "--untranslated", "--no-obsolete", po)
    fuzzy = run("msgattrib", "--only-fuzzy", "--no-obsolete", po)
    total = entries(run("msgattrib", "--no-obsolete", po))
    return total, entries(untranslated) + entries(fuzzy), untranslated + fuzzy


def entries(po_text):
    """Messages in a msgattrib output, less its header entry. (A message
    whose msgid spans lines starts with msgid "" too: it counts.)"""
    n = len(re.findall(r"^msgid ", po_text, re.M))
    return max(n - 1, 0)


def main():
    groups = (("CLI", sources("cli", ".c") + sources("common", ".c")),
              ("Cockpit page", sources("cockpit", ".js")))
    n, failed = 0, False
    with tempfile.TemporaryDirectory() as tmp:
        compiles = subprocess.run(["msgfmt", "-c", "-o", os.path.join(tmp, "de.mo"), de_po],
                                  text=True, capture_output=True)
        n += 1
        print(f"{'ok' if compiles.returncode == 0 else 'not ok'} {n} - de.po compiles (msgfmt -c)")
        if compiles.returncode:
            failed = True
            print("# " + compiles.stderr.replace("\n", "\n# "))
        for name, files in groups:
            total, n_missing, missing = untranslated(tmp, name.split()[0].lower(), files)
            ok = n_missing == 0 and total > 0
            failed |= not ok
            n += 1
            print(f"{'ok' if ok else 'not ok'} {n} - all {total} {name} messages are translated ({n_missing} missing)")
            if n_missing:
                print("# " + missing.replace("\n", "\n# "))
    print(f"1..{n}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
