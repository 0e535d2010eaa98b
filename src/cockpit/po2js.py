#!/usr/bin/env python3
"""Writes Cockpit's po.LANG.js for the page from a gettext catalog: the
messages of po/LANG.po whose source is in src/cockpit, in the form
cockpit.locale() takes. Fuzzy and untranslated entries are left out, so
cockpit.gettext falls back to English for them.

usage: po2js.py LANG.po OUTPUT.js
"""
import json
import os
import re
import sys


def unquote(lines):
    return "".join(json.loads(line) for line in lines)


def entries(path):
    """Yields (references, flags, msgctxt, msgid, msgid_plural, [msgstr...])."""
    block = []
    with open(path, encoding="utf-8") as f:
        for line in f.read().split("\n") + [""]:
            if line.strip():
                block.append(line)
                continue
            if block:
                yield parse(block)
            block = []


def parse(block):
    refs, flags, fields, key = [], [], {}, None
    for line in block:
        if line.startswith("#:"):
            refs += line[2:].split()
        elif line.startswith("#,"):
            flags += [f.strip() for f in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            fields[key].append(line)
        else:
            key, _, rest = line.partition(" ")
            fields[key] = [rest]
    def get(k):
        return unquote(fields[k]) if k in fields else None
    msgstrs = [get("msgstr")] if "msgstr" in fields else \
        [get(f"msgstr[{i}]") for i in range(10) if f"msgstr[{i}]" in fields]
    return refs, flags, get("msgctxt"), get("msgid"), get("msgid_plural"), msgstrs


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    po, output = sys.argv[1:]
    lang = os.path.splitext(os.path.basename(po))[0]
    plural = "n != 1"
    table = {}
    for refs, flags, ctxt, msgid, msgid_plural, msgstrs in entries(po):
        if msgid == "":
            m = re.search(r"plural=([^;\n]+)", msgstrs[0] or "")
            if m:
                plural = m.group(1).strip()
            continue
        if "fuzzy" in flags or not any(r.startswith("src/cockpit/") for r in refs):
            continue
        if not all(msgstrs):
            continue
        key = f"{ctxt}\u0004{msgid}" if ctxt else msgid
        table[key] = [msgid_plural] + msgstrs
    if not re.fullmatch(r"[n0-9 !=<>%&|?:()]+", plural):
        sys.exit(f"po2js: {po}: unexpected Plural-Forms expression '{plural}'")
    header = {"language": lang, "language-direction": "ltr"}
    body = json.dumps(table, ensure_ascii=False, indent=1, sort_keys=True)
    with open(output, "w", encoding="utf-8") as f:
        f.write("cockpit.locale(Object.assign({\"\": Object.assign(%s, "
                "{\"plural-forms\": function (n) { return %s; }})}, %s));\n"
                % (json.dumps(header), plural, body))


if __name__ == "__main__":
    main()
