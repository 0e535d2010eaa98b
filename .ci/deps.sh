#!/bin/bash
# Installs, with apt, whatever of virtnetmon's build and test dependencies is
# missing on a Debian 12 machine. Used by ./run.sh and ./test.sh.
set -euo pipefail
PKGS=(
  meson ninja-build pkg-config gcc clang llvm bpftool
  libglib2.0-dev libglib2.0-bin libvirt-dev libxml2-dev libxml2-utils
  libbpf-dev libmnl-dev libelf-dev zlib1g-dev gettext libsoup-3.0-dev
  dbus iproute2 iputils-ping ethtool nftables util-linux python3 cpio
  libvirt-daemon-system libvirt-clients qemu-system-x86 busybox-static
  prometheus prometheus-node-exporter tmux libncurses-dev
  dpkg-dev debhelper lintian systemd strace man-db
)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
