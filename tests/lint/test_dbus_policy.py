#!/usr/bin/env python3
"""Every method of the D-Bus API is named in the system bus policy
(dbus/org.virtnetmon.Monitor1.conf.in): a method the policy leaves out is
refused to every caller but root, on every installed system. Methods that
change state are allowed to readers too (the daemon asks polkit itself);
DomainHook, which only the libvirt hook sends, is root's alone."""
import os
import sys
import xml.etree.ElementTree as ET

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
api = ET.parse(os.path.join(root, "dbus", "org.virtnetmon.Monitor1.xml")).getroot()
with open(os.path.join(root, "dbus", "org.virtnetmon.Monitor1.conf.in")) as f:
    # The readers' policy, as meson fills it in by default.
    policy = ET.fromstring(f.read().replace("@READ_SCOPE@", 'context="readers"')
                           .replace("@READ_WHO@", "readers").split("\n", 3)[3])
ROOT_ONLY = {("org.virtnetmon.Monitor1", "DomainHook")}

allowed = {(a.get("send_interface"), a.get("send_member"))
           for p in policy.iter("policy") if p.get("context") == "readers"
           for a in p.iter("allow") if a.get("send_destination") == "org.virtnetmon.Monitor1"}
methods = [(i.get("name"), m.get("name")) for i in api.iter("interface") for m in i.iter("method")]
missing = [f"{i}.{m}" for i, m in methods if (i, m) not in allowed and (i, m) not in ROOT_ONLY]
print("1..2")
print(("ok" if methods else "not ok") + f" 1 - the API has {len(methods)} methods")
print(("ok" if not missing else "not ok") + " 2 - every method is allowed by the bus policy"
      + ("" if not missing else f" # missing: {', '.join(missing)}"))
sys.exit(1 if missing or not methods else 0)
