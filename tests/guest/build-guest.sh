#!/bin/bash
# Builds the tiny test/demo guest: Debian's kernel plus a busybox initramfs
# whose init brings up virtio-net and does what the kernel command line says
# (vnm.ip=ADDR/LEN, vnm.dhcp=1 to ask DHCP for eth0's address and then ping
# the router it names (else the DHCP server) now and then, vnm.serve=1 to run an HTTP server,
# vnm.peer=ADDR to fetch from one in a loop). Output: $OUT/vmlinuz and $OUT/initrd.img.
# Usage: build-guest.sh [OUT]   (default /var/lib/virtnetmon/guest)
set -euo pipefail
OUT=${1:-/var/lib/virtnetmon/guest}
if [ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ "$OUT/initrd.img" -nt "$0" ]; then
  exit 0
fi
command -v busybox >/dev/null || { echo "build-guest: busybox-static is missing (apt-get install busybox-static)" >&2; exit 1; }
mkdir -p "$OUT"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

resolve() { apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}'; }
pkg=$(resolve)
if [ -z "$pkg" ]; then
  apt-get update -q >/dev/null 2>&1 || true
  pkg=$(resolve)
fi
[ -n "$pkg" ] || { echo "build-guest: cannot resolve linux-image-amd64 (run apt-get update)" >&2; exit 1; }
(cd "$work" && apt-get download "$pkg" >/dev/null 2>&1) || { echo "build-guest: cannot download $pkg" >&2; exit 1; }
dpkg-deb -x "$work"/linux-image-*.deb "$work/k"
kver=$(ls "$work/k/lib/modules")
cp "$work/k/boot/vmlinuz-$kver" "$OUT/vmlinuz.new"

root="$work/root"
mkdir -p "$root"/{bin,sbin,proc,sys,dev,tmp,www,lib/modules}
cp "$(command -v busybox)" "$root/bin/busybox"
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  f=$(find "$work/k/lib/modules/$kver" -name "$m.ko*" | head -1)
  [ -n "$f" ] || { echo "build-guest: module $m not found in $pkg" >&2; exit 1; }
  case "$f" in
    *.xz) xz -dc "$f" > "$root/lib/modules/$m.ko" ;;
    *.zst) zstd -dcq "$f" > "$root/lib/modules/$m.ko" ;;
    *) cp "$f" "$root/lib/modules/$m.ko" ;;
  esac
done
cat > "$root/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod /lib/modules/$m.ko 2>/dev/null
done
ip link set lo up
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    vnm.ip=*) IP=${arg#vnm.ip=} ;;
    vnm.ip1=*) IP1=${arg#vnm.ip1=} ;;
    vnm.peer=*) PEER=${arg#vnm.peer=} ;;
    vnm.serve=1) SERVE=1 ;;
    vnm.dhcp=1) DHCP=1 ;;
    vnm.count=*) COUNT=${arg#vnm.count=} ;;
  esac
done
cat > /bin/dhcp-script <<'SCRIPT'
#!/bin/sh
case "$1" in
  bound|renew)
    ip addr add "$ip/$mask" dev "$interface"
    # An isolated libvirt network names no router: the DHCP server then.
    echo "${router:-$serverid}" | cut -d' ' -f1 > /tmp/router
    echo "VNM-DHCP-BOUND ip=$ip/$mask router=$router" > /dev/console ;;
esac
exit 0
SCRIPT
chmod 755 /bin/dhcp-script
[ -n "$IP" ] && ip addr add "$IP" dev eth0
[ -n "$IP1" ] && ip addr add "$IP1" dev eth1
ip link set eth0 up 2>/dev/null
ip link set eth1 up 2>/dev/null
# 4 MiB to serve
dd if=/dev/zero of=/www/blob bs=1024 count=4096 2>/dev/null
if [ -n "$SERVE" ]; then httpd -p 80 -h /www; fi
if [ -n "$DHCP" ]; then
  udhcpc -i eth0 -s /bin/dhcp-script -t 20 -T 2 -A 2 -b >/dev/null 2>&1
  (
    while :; do
      [ -s /tmp/router ] && ping -c 2 "$(cat /tmp/router)" >/dev/null 2>&1
      sleep 5
    done
  ) &
fi
echo "VNM-GUEST-READY ip=$IP ip1=$IP1 peer=$PEER"
if [ -n "$PEER" ]; then
  (
    n=0
    while [ -z "$COUNT" ] || [ "$n" -lt "$COUNT" ]; do
      wget -q -O /dev/null "http://$PEER/blob" && echo "VNM-FETCH-OK" && n=$((n + 1))
      ping -c 5 -i 0.2 "$PEER" >/dev/null 2>&1
      sleep 1
    done
    echo "VNM-FETCH-DONE $n"
  ) &
fi
exec sh </dev/console >/dev/console 2>&1
INIT
chmod 755 "$root/init"
(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip -1) > "$OUT/initrd.img.new"
mv "$OUT/vmlinuz.new" "$OUT/vmlinuz"
mv "$OUT/initrd.img.new" "$OUT/initrd.img"
chmod 644 "$OUT/vmlinuz" "$OUT/initrd.img"
echo "build-guest: $OUT/vmlinuz ($pkg) and $OUT/initrd.img"
