#!/usr/bin/env python3
"""Runs a benchmark command and writes what it prints into FILE between
<!-- NAME:begin --> and <!-- NAME:end -->.

    update_doc.py NAME FILE COMMAND [ARGS...]
"""
import subprocess
import sys


def write_block(path, name, text):
    """Replaces what stands between NAME's markers in PATH with TEXT."""
    with open(path) as f:
        doc = f.read()
    begin, end = f"<!-- {name}:begin -->\n", f"<!-- {name}:end -->"
    if begin not in doc or end not in doc:
        sys.exit(f"update_doc: {path} has no {begin.strip()} ... {end} block")
    head, rest = doc.split(begin, 1)
    with open(path, "w") as f:
        f.write(head + begin + text + end + rest.split(end, 1)[1])


if __name__ == "__main__":
    name, path, cmd = sys.argv[1], sys.argv[2], sys.argv[3:]
    text = subprocess.run(cmd, check=True, text=True, stdout=subprocess.PIPE).stdout
    print(text)
    write_block(path, name, text)
