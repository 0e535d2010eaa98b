#!/usr/bin/env python3
"""The daemon's modules form no include cycle. A module is a .c file and
its .h (src/daemon/engine.c + engine.h is the module "engine"); it depends
on every module whose header its .c or .h includes with #include "...".
A cycle (a -> b -> ... -> a) means the modules cannot be understood, built
or tested one without the others. Also checks src/common and src/cli, and
that src/common includes nothing of the daemon or the CLI."""
import os
import re
import sys

top = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def modules(dirs):
    """{module: set of headers included}, {header basename: module}."""
    deps, owner = {}, {}
    for d in dirs:
        for f in sorted(os.listdir(os.path.join(top, d))):
            base, ext = os.path.splitext(f)
            if ext not in (".c", ".h"):
                continue
            with open(os.path.join(top, d, f), encoding="utf-8") as fh:
                deps.setdefault(base, set()).update(os.path.basename(h) for h in INCLUDE.findall(fh.read()))
            if ext == ".h":
                owner[f] = base
    return deps, owner


def graph(dirs):
    deps, owner = modules(dirs)
    return {m: sorted({owner[h] for h in hs if h in owner and owner[h] != m}) for m, hs in deps.items()}


def cycles(g):
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in g.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(g):
        if v not in index:
            visit(v)
    return out


def a_cycle(g, comp):
    """One path a -> ... -> a inside @comp, for the message."""
    start, members = comp[0], set(comp)
    path, seen = [start], {start}
    while True:
        nxt = next(w for w in g[path[-1]] if w in members and (w == start or w not in seen))
        path.append(nxt)
        if nxt == start:
            return " -> ".join(path)
        seen.add(nxt)


n, failed = 0, False
for name, dirs in (("daemon", ["src/daemon", "src/common"]), ("CLI", ["src/cli", "src/common"])):
    g = graph(dirs)
    found = cycles(g)
    n += 1
    ok = not found and len(g) > 5
    failed |= not ok
    print(f"{'ok' if ok else 'not ok'} {n} - the {len(g)} modules of the {name} form no include cycle")
    for comp in found:
        print(f"# cycle among {', '.join(comp)}: {a_cycle(g, comp)}")

common, _ = modules(["src/common"])
outside = {h for hs in common.values() for h in hs} - {f for f in os.listdir(os.path.join(top, "src/common"))}
outside -= {"config.h", "vnm-generated.h"}
_, daemon_headers = modules(["src/daemon"])
_, cli_headers = modules(["src/cli"])
bad = sorted(h for h in outside if h in daemon_headers or h in cli_headers)
n += 1
failed |= bool(bad)
print(f"{'ok' if not bad else 'not ok'} {n} - src/common includes no header of the daemon or the CLI"
      + (f" # {', '.join(bad)}" if bad else ""))
print(f"1..{n}")
sys.exit(1 if failed else 0)
