#!/usr/bin/env python3
"""docs/schema/*.schema.json: valid JSON Schemas (draft 2020-12) whose
references resolve, strict (each object lists its keys, each key has a
description), one for every subcommand and mode of `virtnetmon` that takes
--json, and agreeing with the D-Bus documentation and the Prometheus names.

Usage: test_json_schemas.py VIRTNETMON SCHEMA_DIR DBUS_XML METRICS_C
"""
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import jsonschema_check as jc  # noqa: E402

virtnetmon, schema_dir, dbus_xml, metrics_c = sys.argv[1:5]
print("TAP version 13")
try:
    from jsonschema import Draft202012Validator
except ImportError:
    if os.environ.get("VIRTNETMON_REQUIRE_ALL") == "1":
        print("1..1\nnot ok 1 - python3-jsonschema is installed")
        sys.exit(1)
    print("1..0 # SKIP needs python3-jsonschema")
    sys.exit(77)

n = failed = 0


def check(ok, what, detail=""):
    global n, failed
    n += 1
    print(f"{'ok' if ok else 'not ok'} {n} - {what}", flush=True)
    if not ok:
        failed += 1
        for line in str(detail).splitlines():
            print(f"# {line}")


schemas = jc.load_schemas(schema_dir)
records = schemas.get(jc.RECORDS, {})
check(jc.RECORDS in schemas and len(schemas) > 1, f"docs/schema holds {jc.RECORDS} and the outputs' schemas",
      sorted(schemas))

# --- each file is a schema -----------------------------------------------------
for name, s in sorted(schemas.items()):
    try:
        Draft202012Validator.check_schema(s)
        err = ""
    except Exception as e:  # SchemaError
        err = str(e)
    check(not err and s.get("$schema") == "https://json-schema.org/draft/2020-12/schema"
          and s.get("$id", "").endswith("/" + name) and s.get("description"),
          f"{name}: a draft 2020-12 schema, its $id ends in its file name, it has a description", err or s.get("$id"))


def walk(node, path=""):
    """Every sub-schema dict of @node with its JSON pointer."""
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from walk(v, f"{path}/{i}")


def resolve(name, ref):
    """The schema @ref (in file @name) points at, or None."""
    file, _, pointer = ref.partition("#")
    target = schemas.get(file or name)
    for part in [p for p in pointer.split("/") if p]:
        if not isinstance(target, dict) or part not in target:
            return None
        target = target[part]
    return target


# --- references resolve, objects are strict, keys are described ------------------
for name, s in sorted(schemas.items()):
    bad_refs, loose, undescribed = [], [], []
    for path, node in walk(s):
        if "$ref" in node and resolve(name, node["$ref"]) is None:
            bad_refs.append(f"{path}: {node['$ref']}")
        if "properties" in node and node.get("type") == "object" and node.get("additionalProperties") is not False:
            loose.append(path)
        if node.get("type") == "object" and "properties" in node:
            missing = set(node.get("required", [])) - set(node["properties"])
            if missing:
                loose.append(f"{path}: requires unknown {sorted(missing)}")
            for key, prop in node["properties"].items():
                target = resolve(name, prop["$ref"]) if isinstance(prop, dict) and "$ref" in prop else None
                if not (isinstance(prop, dict) and (prop.get("description") or (target or {}).get("description"))):
                    undescribed.append(f"{path}/properties/{key}")
    check(not bad_refs, f"{name}: every $ref resolves", "\n".join(bad_refs))
    check(not loose, f"{name}: every object lists its keys (additionalProperties false, required among them)",
          "\n".join(loose))
    check(not undescribed, f"{name}: every key has a description", "\n".join(undescribed))

# --- one schema for every subcommand and mode that prints JSON ----------------------
help_text = subprocess.run([virtnetmon, "--help"], capture_output=True, text=True).stdout
commands = re.findall(r"^  ([a-z]+)  ", help_text.split("Commands:", 1)[-1].split("Global options:")[0], re.M)
check(len(commands) >= 10, f"virtnetmon --help lists the subcommands ({len(commands)})", help_text)
wanted = set()
for cmd in commands:
    sub_help = subprocess.run([virtnetmon, cmd, "--help"], capture_output=True, text=True).stdout
    if "--json" not in sub_help:
        continue
    lines = [[cmd]]
    if cmd == "flows":
        m = re.search(r"--by=([a-z|-]+)", sub_help)
        bys = m.group(1).split("|") if m else []
        check(sorted(bys) == sorted(jc.FLOW_BYS), "flows --help lists the --by modes the schemas know", sub_help)
        lines = [[cmd, "D", "--by", by] for by in bys] + [[cmd, "D"]]
    if cmd == "latency":
        check("--events" in sub_help, "latency --help has --events", sub_help)
        lines = [[cmd, "D"], [cmd, "D", "--events"], [cmd, "D", "--hist"], [cmd, "D", "--on"],
                 [cmd, "--all", "--off"]]
    for args in lines:
        try:
            name = jc.schema_for(args)
        except ValueError as e:
            name = str(e)
        wanted.add(name)
        check(name in schemas, f"virtnetmon {' '.join(args)} --json has a schema ({name})")
unused = set(schemas) - wanted - {jc.RECORDS}
check(not unused, "every output schema belongs to a subcommand and mode", sorted(unused))
check(set(jc.SUBCOMMANDS) == set(commands), "jsonschema_check.SUBCOMMANDS are the subcommands of --help",
      f"{sorted(jc.SUBCOMMANDS)} vs {sorted(commands)}")
for args in (["nosuch"], ["flows", "D", "--by", "nosuch"]):
    try:
        jc.schema_for(args)
        check(False, f"virtnetmon {' '.join(args)} has no JSON schema")
    except ValueError:
        check(True, f"virtnetmon {' '.join(args)} has no JSON schema")

# --- the check can fail ------------------------------------------------------------
setting = {"monitoring": True, "latency": False, "latency_threshold_us": 1000, "flow_table_size": 65536,
           "usage_quota_bytes": 0,
           "from_metadata": ["latency"], "latency_tracing": False, "latency_source": "default", "error": ""}
for what, doc, words in (("a valid document passes", setting, None),
                         ("an unknown key is refused", {**setting, "latency_threshold": 5}, "'latency_threshold' was unexpected"),
                         ("a missing key is refused", {k: v for k, v in setting.items() if k != "error"},
                          "'error' is a required property"),
                         ("a wrong type is refused", {**setting, "monitoring": "on"}, "$.monitoring")):
    try:
        jc.validate_output(["set", "vm1", "--json"], doc, schema_dir)
        check(words is None, f"set --json: {what}")
    except AssertionError as e:
        check(words is not None and words in str(e) and "virtnetmon set vm1" in str(e), f"set --json: {what}", e)

# --- one schema of names: D-Bus documentation and Prometheus ------------------------
with open(dbus_xml) as f:
    xml = f.read()
with open(metrics_c) as f:
    metrics = f.read()
# Keys the CLI adds around the daemon's records, which the XML names otherwise.
CLI_ONLY = {"lost_total": "LatencyEvents' lost"}
not_in_xml, no_family = [], []
for def_name, d in sorted(records.get("$defs", {}).items()):
    for key, prop in d.get("properties", {}).items():
        if key not in CLI_ONLY and not re.search(rf"(?<![A-Za-z0-9_]){re.escape(key)}(?![A-Za-z0-9_])", xml):
            not_in_xml.append(f"{def_name}.{key}")
    for path, node in walk(d):
        fam = node.get("x-prometheus")
        base = fam.split("{")[0] if fam else ""
        # A histogram's _bucket, _sum and _count are its family's.
        bases = [base] + [base[:-len(x)] for x in ("_bucket", "_sum", "_count") if base.endswith(x)]
        if fam and not any(f'"{b}"' in metrics for b in bases):
            no_family.append(f"{def_name}{path}: {fam}")
check(not not_in_xml, "every key of a record is documented in dbus/org.virtnetmon.Monitor1.xml",
      "\n".join(not_in_xml))
check(not no_family, "every x-prometheus family is one virtnetmond exports (src/daemon/metrics.c)",
      "\n".join(no_family))

print(f"1..{n}")
sys.exit(1 if failed else 0)
