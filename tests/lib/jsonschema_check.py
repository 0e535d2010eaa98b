"""Validates virtnetmon's --json output against docs/schema/*.schema.json.

    from jsonschema_check import validate_output
    validate_output(["flows", "vm1", "--by", "flow"], json.loads(out))

picks the schema of the command line (subcommand and mode) and raises
AssertionError naming the subcommand, the JSON path of the offending value
and the validator's message. Works with Debian 12's python3-jsonschema
(4.10) and with newer ones (the `referencing` registry when there is one,
else RefResolver with a store of every schema).
"""
import glob
import json
import os
import warnings

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "docs", "schema")
RECORDS = "virtnetmon-records.schema.json"

# Subcommands that print JSON, and how their modes choose a schema (see
# schema_for). `virtnetmon --help` lists the subcommands; the unit test
# test_json_schemas.py checks that each of them is here.
SUBCOMMANDS = ("list", "domiflist", "domifaddr", "domifstat", "flows", "conns", "services", "latency", "drops",
               "history", "ifstat", "top", "set", "status", "usage")
FLOW_BYS = ("flow", "remote", "remote-port", "local-port")


class NoJsonSchema(Exception):
    """jsonschema is not installed."""


def _jsonschema():
    try:
        import jsonschema  # noqa: F401
        from jsonschema import Draft202012Validator
    except ImportError as e:
        raise NoJsonSchema("python3-jsonschema is not installed") from e
    return Draft202012Validator


def schema_files(directory=SCHEMA_DIR):
    return sorted(glob.glob(os.path.join(directory, "*.schema.json")))


_loaded = {}


def load_schemas(directory=SCHEMA_DIR):
    """{file name: schema} of every schema in @directory."""
    directory = os.path.abspath(directory)
    if directory not in _loaded:
        found = {}
        for path in schema_files(directory):
            with open(path) as f:
                found[os.path.basename(path)] = json.load(f)
        _loaded[directory] = found
    return _loaded[directory]


def _option_value(args, long_name, short_name=None):
    """The value of --long VALUE, --long=VALUE or -s VALUE in @args, or None."""
    value = None
    for i, a in enumerate(args):
        if a == "--":
            break
        if a == f"--{long_name}" or (short_name and a == f"-{short_name}"):
            value = args[i + 1] if i + 1 < len(args) else None
        elif a.startswith(f"--{long_name}="):
            value = a.split("=", 1)[1]
    return value


def _has(args, *flags):
    return any(a in flags for a in args)


def schema_for(args):
    """The schema file name for a command line (without the program, the
    bus options and --json): "virtnetmon-flows-by-flow.schema.json". Raises
    ValueError for a command line that prints no JSON document."""
    args = [a for a in args if a != "--json"]
    if not args or args[0] not in SUBCOMMANDS:
        raise ValueError(f"no --json schema for {' '.join(args) or 'no subcommand'}")
    cmd, rest = args[0], args[1:]
    if cmd == "flows":
        by = _option_value(rest, "by", "b") or "remote-port"
        if by not in FLOW_BYS:
            raise ValueError(f"flows --by {by}: no such mode")
        return f"virtnetmon-flows-by-{by}.schema.json"
    if cmd == "latency":
        if _has(rest, "--on", "--off"):
            return "virtnetmon-latency-switch.schema.json"
        if _has(rest, "--events", "-e"):
            return "virtnetmon-latency-events.schema.json"
        return "virtnetmon-latency.schema.json"
    return f"virtnetmon-{cmd}.schema.json"


def _path(error):
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)


def _validator(name, directory=SCHEMA_DIR):
    Draft202012Validator = _jsonschema()
    schemas = load_schemas(directory)
    if name not in schemas:
        raise AssertionError(f"no schema {name} in {os.path.abspath(directory)}")
    schema = schemas[name]
    try:
        from referencing import Registry, Resource  # jsonschema >= 4.18
    except ImportError:
        Registry = None
    if Registry is not None:
        registry = Registry().with_resources(
            (s["$id"], Resource.from_contents(s)) for s in schemas.values())
        return Draft202012Validator(schema, registry=registry)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from jsonschema import RefResolver
        store = {s["$id"]: s for s in schemas.values()}
        resolver = RefResolver(base_uri=schema["$id"], referrer=schema, store=store)
        return Draft202012Validator(schema, resolver=resolver)


def validate(name, document, what=None, directory=SCHEMA_DIR):
    """Validates @document against the schema file @name; AssertionError
    naming @what (the command), the JSON path and the message of each
    error (the first 5)."""
    validator = _validator(name, directory)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{what or name}: --json output does not match docs/schema/{name}:"]
        for e in errors[:5]:
            # In allOf/anyOf the useful message is the deepest one.
            best = e
            while best.context:
                best = sorted(best.context, key=lambda c: len(c.absolute_path))[-1]
            lines.append(f"  at {_path(best)}: {best.message}")
        if len(errors) > 5:
            lines.append(f"  ... and {len(errors) - 5} more")
        raise AssertionError("\n".join(lines))


def validate_output(args, document, directory=SCHEMA_DIR):
    """Validates one document virtnetmon printed for the command line @args."""
    args = [str(a) for a in args]
    name = schema_for(args)
    validate(name, document, "virtnetmon " + " ".join(a for a in args if a != "--json"), directory)
    return document


def validate_lines(args, text, directory=SCHEMA_DIR):
    """Validates a stream of one JSON object a line (latency --events
    --json); returns the objects."""
    docs = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            doc = json.loads(line)
        except ValueError as e:
            raise AssertionError(f"virtnetmon {' '.join(args)}: line {n} is not JSON: {e}: {line[:200]}")
        validate_output(args, doc, directory)
        docs.append(doc)
    return docs
