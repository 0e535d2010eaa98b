#!/bin/bash
# Installs, with apt, whatever of virtnetmon's build and test dependencies is
# missing on a Debian 12 machine. Used by ./run.sh and ./test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
PKGS=(
  meson ninja-build pkg-config gcc clang llvm bpftool
  libglib2.0-dev libglib2.0-bin libvirt-dev libxml2-dev libxml2-utils
  libbpf-dev libmnl-dev libelf-dev zlib1g-dev gettext libsoup-3.0-dev libsqlite3-dev
  dbus iproute2 iputils-ping ethtool nftables util-linux python3 python3-jsonschema cpio
  libvirt-daemon-system libvirt-clients qemu-system-x86 busybox-static dnsmasq-base
  prometheus prometheus-node-exporter tmux libncurses-dev
  dpkg-dev debhelper lintian systemd strace man-db
  cockpit-ws cockpit-bridge cockpit-system chromium curl
  libclang-rt-14-dev polkitd
  nfdump tshark
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

# Node.js for the Cockpit page's build inputs (PatternFly, from npm) and its
# browser test (playwright-core driving Debian's chromium). Debian's nodejs
# when the machine has none.
if ! command -v npm >/dev/null; then
  echo "Installing: nodejs npm"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends nodejs npm
fi
for dir in src/cockpit tests/cockpit; do
  if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    echo "Installing npm packages of $dir (package-lock.json)"
    npm ci --prefix "$dir" --no-audit --no-fund --loglevel=error
    touch "$dir/node_modules"
  fi
done
