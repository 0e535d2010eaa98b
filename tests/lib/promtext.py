"""A small parser of the Prometheus text exposition format, for tests:
families with their HELP and TYPE, samples with unescaped labels."""
import re

_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)')


def _unescape(v):
    out, i = [], 0
    while i < len(v):
        if v[i] == "\\" and i + 1 < len(v):
            out.append({"n": "\n", "\\": "\\", '"': '"'}.get(v[i + 1], "\\" + v[i + 1]))
            i += 2
        else:
            out.append(v[i])
            i += 1
    return "".join(out)


def parse(text):
    """Returns (families, samples): families name -> {"type", "help"};
    samples a list of (name, {label: value}, float)."""
    families, samples = {}, []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            _, kind, name, rest = (line.split(" ", 3) + [""])[:4]
            families.setdefault(name, {})["help" if kind == "HELP" else "type"] = rest
            continue
        if line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$", line)
        if not m:
            raise ValueError(f"not a sample line: {line!r}")
        labels, body = {}, m.group(3) or ""
        pos = 0
        while pos < len(body):
            lm = _LABEL.match(body, pos)
            if not lm:
                raise ValueError(f"bad labels in {line!r}")
            labels[lm.group(1)] = _unescape(lm.group(2))
            pos = lm.end()
        samples.append((m.group(1), labels, float(m.group(4))))
    return families, samples


def select(samples, name, **labels):
    return [(lab, v) for n, lab, v in samples
            if n == name and all(lab.get(k) == want for k, want in labels.items())]


def value(samples, name, **labels):
    """The one sample's value; raises when there is not exactly one."""
    found = select(samples, name, **labels)
    if len(found) != 1:
        raise KeyError(f"{name}{labels}: {len(found)} samples")
    return found[0][1]


def query(port, q):
    """An instant query to the Prometheus on 127.0.0.1:@port. A Prometheus
    still starting answers a plain-text 503, or nothing: both come back as
    {"status": "down"}, so that callers can wait for "success"."""
    import json
    import urllib.error
    import urllib.parse
    import urllib.request

    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": q})
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return json.load(r)
    except urllib.error.HTTPError as e:
        try:
            return json.load(e)
        except ValueError:
            return {"status": "down", "code": e.code}
    except OSError:
        return {"status": "down"}
