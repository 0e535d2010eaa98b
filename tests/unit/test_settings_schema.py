#!/usr/bin/env python3
"""xml/virtnetmon-settings.rng against the settings fixtures and examples.

The daemon's parser is checked on the same files by test-domain-xml
(/domain-xml/settings-fixtures): valid/ must pass both, invalid/ must fail
both, so the schema and the parser cannot drift apart unnoticed."""
import glob
import os
import subprocess
import sys

schema, data, examples = sys.argv[1:4]
cases = []
for kind in ("valid", "invalid"):
    for path in sorted(glob.glob(os.path.join(data, kind, "*.xml"))):
        cases.append((kind, path))
for path in ("settings-all.xml", "settings-counters-only.xml"):
    cases.append(("valid", os.path.join(examples, path)))

print("TAP version 13")
print(f"1..{len(cases) + 1}")
n = 1
r = subprocess.run(["xmllint", "--noout", "--relaxng", schema, schema],
                   capture_output=True, text=True)
# A schema that does not compile fails every file the same way; say so first.
ok = "failed to compile" not in r.stderr and "Relax-NG parser error" not in r.stderr
print(f"{'ok' if ok else 'not ok'} {n} - the schema compiles")
for kind, path in cases:
    n += 1
    r = subprocess.run(["xmllint", "--noout", "--relaxng", schema, path],
                       capture_output=True, text=True)
    accepted = r.returncode == 0
    good = accepted == (kind == "valid")
    name = os.path.relpath(path, os.path.dirname(data))
    print(f"{'ok' if good else 'not ok'} {n} - schema {'accepts' if kind == 'valid' else 'refuses'} {name}")
    if not good:
        for line in r.stderr.splitlines():
            print(f"# {line}")
