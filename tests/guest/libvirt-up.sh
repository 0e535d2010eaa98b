#!/bin/bash
# Starts what libvirt's qemu:///system needs on a host without systemd:
# virtlogd and libvirtd as daemons. Idempotent.
set -eu
mkdir -p /run/libvirt /var/log/libvirt
# /dev/kvm as udev leaves it on any Debian host (root:kvm 0660; the qemu
# user is in group kvm). Without udev it is root's alone: QEMU's capability
# probe then finds KVM while libvirt's check as the qemu user does not, so
# libvirt thinks its cached capabilities outdated and probes QEMU again at
# every lookup (about 6 s each, 40 s for one `virsh create`). Guests here
# are type='qemu' (TCG) either way.
if [ -c /dev/kvm ] && getent group kvm >/dev/null; then
  chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
fi
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
