#!/bin/bash
# Starts what libvirt's qemu:///system needs on a host without systemd:
# virtlogd and libvirtd as daemons. Idempotent.
set -eu
mkdir -p /run/libvirt /var/log/libvirt
if ! pgrep -x virtlogd >/dev/null; then
  virtlogd -d
fi
if ! pgrep -x libvirtd >/dev/null; then
  libvirtd -d
fi
for i in $(seq 1 50); do
  virsh -c qemu:///system version >/dev/null 2>&1 && exit 0
  sleep 0.2
done
echo "libvirt-up: libvirtd does not answer on qemu:///system" >&2
exit 1
