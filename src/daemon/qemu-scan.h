/* qemu-scan.h: maps interfaces of QEMU processes that libvirt does not run
 * (Proxmox style) from their command lines in /proc, and, as a last resort,
 * from the name pattern tap<VMID>i<N>. */
#pragma once

#include <glib.h>

typedef struct {
  gint pid;
  gchar *name;      /* from -name (first field, or guest=), "" when absent */
  gchar *vmid;      /* from -id, "" when absent */
  gchar *uuid;      /* from -uuid or -smbios type=1,uuid=, "" when absent */
  GPtrArray *ifnames; /* of gchar*: -netdev/-nic/-net tap ifname= values */
  GArray *tap_ifindexes; /* of gint: the macvtap (or ipvtap) devices whose
                            /dev/tap<ifindex> it holds open (-netdev tap,fd=
                            names none), from /proc/<pid>/fd; by vnm_qemu_scan */
  gboolean libvirt_managed; /* started by libvirt (-name guest=...) */
} VnmQemuProcess;

/* Whether @argv0 (argv[0] or the exe path) names a QEMU system emulator. */
gboolean vnm_qemu_is_emulator (const gchar *argv0);

/* Parses a QEMU command line. Never fails on unknown options; returns NULL
 * with an error only when argv is not QEMU's. */
VnmQemuProcess *vnm_qemu_cmdline_parse (const gchar *const *argv, gint pid, GError **error);

/* Parses the NUL-separated contents of /proc/<pid>/cmdline. */
VnmQemuProcess *vnm_qemu_cmdline_parse_raw (const gchar *raw, gsize len, gint pid,
                                            GError **error);

/* Scans @proc_root (normally "/proc") for QEMU processes. Unreadable or
 * vanished processes are skipped. Returns an array of VnmQemuProcess*. */
GPtrArray *vnm_qemu_scan (const gchar *proc_root);

/* The ifindex of a macvtap's character device from the target of a
 * /proc/<pid>/fd link ("/dev/tap<ifindex>"); FALSE for anything else. */
gboolean vnm_qemu_tap_device_ifindex (const gchar *fd_target, gint *ifindex);

/* tap<VMID>i<N>: on a match sets @vmid and @nic and returns TRUE. */
gboolean vnm_name_pattern_match (const gchar *ifname, guint *vmid, guint *nic);

void vnm_qemu_process_free (VnmQemuProcess *proc);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmQemuProcess, vnm_qemu_process_free)
