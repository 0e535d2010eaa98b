#!/bin/bash
# ./run.sh        installs what is missing, builds, starts the system D-Bus,
#                 virtlogd, libvirtd and virtnetmond, boots two demo guests
#                 when no domain runs, and prints `virtnetmon ifstat`.
#                 When Cockpit is installed it also serves the Cockpit page
#                 at http://127.0.0.1:9090/virtnetmon (a local session).
# ./run.sh stop   stops virtnetmond, cockpit-ws and the demo guests (libvirtd
#                 and the system bus are left running).
# Idempotent: running it again starts only what is not running.
set -euo pipefail
cd "$(dirname "$0")"
TOP=$PWD
PIDFILE=/run/virtnetmon/virtnetmond.pid
COCKPIT_PIDFILE=/run/virtnetmon/cockpit-ws.pid
LOG=/var/log/virtnetmond.log
DEMO_BRIDGE=vnmdemo0
GUEST=/var/lib/virtnetmon/guest

daemon_running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

if [ "${1:-}" = "stop" ]; then
  if daemon_running; then kill "$(cat "$PIDFILE")"; echo "Stopped virtnetmond."; fi
  rm -f "$PIDFILE"
  if [ -f "$COCKPIT_PIDFILE" ] && kill "$(cat "$COCKPIT_PIDFILE")" 2>/dev/null; then echo "Stopped cockpit-ws."; fi
  rm -f "$COCKPIT_PIDFILE"
  for d in vnm-demo-a vnm-demo-b; do
    virsh -q -c qemu:///system destroy "$d" >/dev/null 2>&1 && echo "Stopped demo guest $d."
  done
  ip link del "$DEMO_BRIDGE" 2>/dev/null || true
  exit 0
fi
[ $# -eq 0 ] || { echo "usage: ./run.sh [stop]" >&2; exit 2; }

./.ci/deps.sh
if [ -f build/build.ninja ]; then meson setup --reconfigure build >/dev/null; else meson setup build >/dev/null; fi
ninja -C build >/dev/null
echo "Built virtnetmond and virtnetmon in build/src/."

# The system bus, with our policy.
install -D -m 644 build/dbus/org.virtnetmon.Monitor1.conf /etc/dbus-1/system.d/org.virtnetmon.Monitor1.conf
if [ ! -S /run/dbus/system_bus_socket ] || ! dbus-send --system --dest=org.freedesktop.DBus --print-reply / org.freedesktop.DBus.GetId >/dev/null 2>&1; then
  mkdir -p /run/dbus
  rm -f /run/dbus/pid
  dbus-daemon --system --fork
  echo "Started the system D-Bus."
else
  dbus-send --system --dest=org.freedesktop.DBus --type=method_call / org.freedesktop.DBus.ReloadConfig
fi

tests/guest/libvirt-up.sh
echo "libvirtd and virtlogd are running (qemu:///system)."

if ! daemon_running; then
  mkdir -p "$(dirname "$PIDFILE")"
  nohup "$TOP/build/src/virtnetmond" --system >>"$LOG" 2>&1 &
  echo $! > "$PIDFILE"
  for _ in $(seq 1 50); do build/src/virtnetmon status >/dev/null 2>&1 && break; sleep 0.2; done
  echo "Started virtnetmond (pid $(cat "$PIDFILE"), log $LOG)."
fi

if [ -z "$(virsh -q -c qemu:///system list --name | tr -d '[:space:]')" ]; then
  echo "No domain runs: booting two demo guests on bridge $DEMO_BRIDGE (QEMU/TCG, a few seconds)..."
  tests/guest/build-guest.sh "$GUEST" >/dev/null
  ip link show "$DEMO_BRIDGE" >/dev/null 2>&1 || ip link add "$DEMO_BRIDGE" type bridge
  ip link set "$DEMO_BRIDGE" up
  demo_xml() {
    cat <<XML
<domain type='qemu'>
  <name>$1</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$GUEST/vmlinuz</kernel>
    <initrd>$GUEST/initrd.img</initrd>
    <cmdline>console=ttyS0 quiet $2</cmdline>
  </os>
  <devices>
    <interface type='bridge'><source bridge='$DEMO_BRIDGE'/><model type='virtio'/></interface>
    <serial type='file'><source path='/var/log/libvirt/$1.console'/><target port='0'/></serial>
  </devices>
</domain>
XML
  }
  demo_xml vnm-demo-a "vnm.ip=10.214.0.11/24 vnm.serve=1" > /tmp/vnm-demo-a.xml
  demo_xml vnm-demo-b "vnm.ip=10.214.0.12/24 vnm.peer=10.214.0.11" > /tmp/vnm-demo-b.xml
  virsh -q -c qemu:///system create /tmp/vnm-demo-a.xml
  virsh -q -c qemu:///system create /tmp/vnm-demo-b.xml
  echo "Waiting for the guests to boot and exchange traffic..."
  for _ in $(seq 1 60); do
    grep -q VNM-FETCH-OK /var/log/libvirt/vnm-demo-b.console 2>/dev/null && break
    sleep 1
  done
fi
# The Cockpit page: root's own Cockpit package directory points at the build
# tree, and cockpit-ws serves a local session (no login: loopback only).
if [ -x /usr/lib/cockpit/cockpit-ws ] && [ -f build/src/cockpit/patternfly.css ]; then
  mkdir -p "$HOME/.local/share/cockpit"
  ln -sfn "$TOP/build/src/cockpit" "$HOME/.local/share/cockpit/virtnetmon"
  if ! [ -f "$COCKPIT_PIDFILE" ] || ! kill -0 "$(cat "$COCKPIT_PIDFILE")" 2>/dev/null; then
    nohup /usr/lib/cockpit/cockpit-ws --no-tls --local-session=cockpit-bridge \
      --address 127.0.0.1 --port 9090 >>/var/log/virtnetmon-cockpit-ws.log 2>&1 &
    echo $! > "$COCKPIT_PIDFILE"
  fi
  COCKPIT_URL="http://127.0.0.1:9090/virtnetmon"
fi
sleep 2
echo
build/src/virtnetmon ifstat
cat <<MSG

virtnetmon reads everything from virtnetmond over D-Bus. Try:
  build/src/virtnetmon list
  build/src/virtnetmon domiflist vnm-demo-b
  build/src/virtnetmon domifstat vnm-demo-b
  build/src/virtnetmon ifstat --json
Stop virtnetmond and the demo guests with: ./run.sh stop
MSG
[ -z "${COCKPIT_URL:-}" ] || echo "The Cockpit page (VM network): $COCKPIT_URL"
