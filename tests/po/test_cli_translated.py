#!/usr/bin/env python3
"""Every message the CLI prints has a German translation in po/de.po, and
de.po compiles cleanly (msgfmt -c)."""
import os
import re
import subprocess
import sys
import tempfile

top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
cli_dir = os.path.join(top, "src", "cli")
sources = sorted(os.path.join("src", "cli", f) for f in os.listdir(cli_dir) if f.endswith(".c"))
with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "cli.pot")
    subprocess.run(["xgettext", "--from-code=UTF-8", "-k_", "-kN_", "-o", pot, "-D", top, *sources],
                   check=True)
    subprocess.run(["msgfmt", "-c", "-o", os.path.join(tmp, "de.mo"), os.path.join(top, "po", "de.po")],
                   check=True)
    r = subprocess.run(["msgcmp", "--use-untranslated", os.path.join(top, "po", "de.po"), pot],
                       text=True, capture_output=True)
    untranslated = subprocess.run(
        ["msgattrib", "--untranslated", os.path.join(top, "po", "de.po")],
        text=True, capture_output=True, check=True).stdout
print("ok 1 - de.po compiles (msgfmt -c)")
ok = r.returncode == 0
print(f"{'ok' if ok else 'not ok'} 2 - every CLI msgid is in de.po")
if not ok:
    print("# " + r.stderr.replace("\n", "\n# "))
# msgcmp --use-untranslated accepts empty msgstr; check the CLI ones are filled.
with tempfile.TemporaryDirectory() as tmp:
    pot = os.path.join(tmp, "cli.pot")
    subprocess.run(["xgettext", "--from-code=UTF-8", "-k_", "-kN_", "-o", pot, "-D", top, *sources],
                   check=True)
    cli_only = subprocess.run(["msgmerge", "-q", "--no-fuzzy-matching", "-o", "-",
                               os.path.join(top, "po", "de.po"), pot],
                              text=True, capture_output=True, check=True).stdout
    with open(os.path.join(tmp, "cli.po"), "w") as f:
        f.write(cli_only)
    empty = subprocess.run(["msgattrib", "--untranslated", "--no-obsolete", os.path.join(tmp, "cli.po")],
                           text=True, capture_output=True, check=True).stdout
n_empty = len(re.findall(r"^msgid ", empty, re.M)) - (1 if empty.strip() else 0)
print(f"{'ok' if n_empty == 0 else 'not ok'} 3 - every CLI message is translated ({n_empty} missing)")
if n_empty:
    print("# " + empty.replace("\n", "\n# "))
print("1..3")
sys.exit(0 if ok and n_empty == 0 else 1)
