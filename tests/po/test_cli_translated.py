#!/usr/bin/env python3
"""Every message the CLI prints (its own, and those of src/common it shows)
has a German translation in po/de.po, and de.po compiles cleanly (msgfmt -c)."""
import os
import re
import subprocess
import sys
import tempfile

top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
de_po = os.path.join(top, "po", "de.po")
cli_dir = os.path.join(top, "src", "cli")
common_dir = os.path.join(top, "src", "common")
sources = sorted([os.path.join("src", "cli", f) for f in os.listdir(cli_dir) if f.endswith(".c")] +
                 [os.path.join("src", "common", f) for f in os.listdir(common_dir) if f.endswith(".c")])


def run(*cmd):
    return subprocess.run(cmd, text=True, capture_output=True, check=True).stdout


with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "cli.pot")
    run("xgettext", "--from-code=UTF-8", "-k_", "-kN_", "-o", pot, "-D", top, *sources)
    compiles = subprocess.run(["msgfmt", "-c", "-o", os.path.join(tmp, "de.mo"), de_po],
                              text=True, capture_output=True)
    # de.po restricted to the CLI's msgids: entries missing from de.po come
    # out untranslated, and so do entries de.po has with an empty msgstr.
    # (Each msgattrib output starts with the header entry.)
    cli_po = os.path.join(tmp, "cli.po")
    with open(cli_po, "w") as f:
        f.write(run("msgmerge", "-q", "--no-fuzzy-matching", "-o", "-", de_po, pot))
    # Fuzzy entries hold a guess from another message: not a translation.
    missing = run("msgattrib", "--untranslated", "--no-obsolete", cli_po) + \
        run("msgattrib", "--only-fuzzy", "--no-obsolete", cli_po)
    total = len(re.findall(r"^msgid ", run("msgattrib", "--no-obsolete", cli_po), re.M)) - 1

n_missing = len([m for m in re.findall(r'^msgid (".*")', missing, re.M) if m != '""'])
ok1 = compiles.returncode == 0
print(f"{'ok' if ok1 else 'not ok'} 1 - de.po compiles (msgfmt -c)")
if not ok1:
    print("# " + compiles.stderr.replace("\n", "\n# "))
ok2 = n_missing == 0 and total > 0
print(f"{'ok' if ok2 else 'not ok'} 2 - all {total} CLI messages are translated ({n_missing} missing)")
if n_missing:
    print("# " + missing.replace("\n", "\n# "))
print("1..2")
sys.exit(0 if ok1 and ok2 else 1)
