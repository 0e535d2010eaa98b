/* vnm-names.h: the names other tools rely on (see dbus/ and DESIGN.md). */
#pragma once

#define VNM_DBUS_NAME            "org.virtnetmon.Monitor1"
#define VNM_DBUS_PATH            "/org/virtnetmon/Monitor1"
#define VNM_DBUS_DOMAIN_PREFIX   "/org/virtnetmon/Monitor1/domain"
#define VNM_DEFAULT_LIBVIRT_URI  "qemu:///system"

/* How a host interface was tied to a VM. */
#define VNM_MAPPED_BY_LIBVIRT      "libvirt"
#define VNM_MAPPED_BY_QEMU_CMDLINE "qemu-cmdline"
#define VNM_MAPPED_BY_NAME_PATTERN "name-pattern"

/* Where virtnetmond records the tc hooks it attached (crash recovery). */
#define VNM_DEFAULT_STATE_DIR    "/run/virtnetmon"

/* Where virtnetmond pins the flow probe's maps (bpffs), so that totals and
 * flows continue when the daemon restarts. */
#define VNM_DEFAULT_PIN_DIR      "/sys/fs/bpf/virtnetmon"

/* Where virtnetmond keeps the usage totals that survive a reboot (SQLite). */
#define VNM_DEFAULT_USAGE_DB     "/var/lib/virtnetmon/usage.db"

/* In the state directory: the address of the bus virtnetmond serves when it
 * is not the system bus, for the libvirt hook (which libvirtd runs with a
 * clean environment). Absent when the daemon serves the system bus. */
#define VNM_BUS_ADDRESS_FILE     "bus-address"

/* The rate history's metric names, in VnmMetric order (daemon/history.h):
 * what GetHistory and `virtnetmon history --metric` accept. */
#define VNM_HISTORY_METRIC_NAMES \
  "rx_mbps", "tx_mbps", "rx_pps", "tx_pps", \
  "rx_errors_ps", "tx_errors_ps", "rx_drops_ps", "tx_drops_ps"
