/* device-ledger.h: a file in the state directory listing host devices, one
 * "IFINDEX NAME [FLAG]" line each under a comment, so that the next
 * virtnetmond knows which kernel objects (clsact hooks, counters in pinned
 * maps) are of which device. A device listed counts only while its ifindex
 * still has that name: the kernel reuses an ifindex for another device.
 * Shared by the flow probe and the latency monitor. */
#pragma once

#include <glib.h>
#include <net/if.h>

typedef struct {
  gint ifindex;
  gchar name[IF_NAMESIZE];
  gint flag;                /* what the writer records with it; 0 when absent */
} VnmLedgerEntry;

typedef struct _VnmDeviceLedger VnmDeviceLedger;

/* A ledger written to @path; @title is its comment line (without "# "). */
VnmDeviceLedger *vnm_device_ledger_new (const gchar *path, const gchar *title);
void vnm_device_ledger_free (VnmDeviceLedger *ledger);
const gchar *vnm_device_ledger_path (VnmDeviceLedger *ledger);

/* Builds the next contents: clear, then add each device. */
void vnm_device_ledger_clear (VnmDeviceLedger *ledger);
void vnm_device_ledger_add (VnmDeviceLedger *ledger, gint ifindex, const gchar *name, gint flag);
/* Writes the file when its contents changed since the last write; FALSE
 * with @error when it cannot (what was written before stays). */
gboolean vnm_device_ledger_write (VnmDeviceLedger *ledger, GError **error);

/* The entries of the ledger at @path (an earlier run's) whose ifindex has
 * the same name now; an empty array when there is no such file. */
GArray *vnm_device_ledger_read_same_devices (const gchar *path);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmDeviceLedger, vnm_device_ledger_free)
