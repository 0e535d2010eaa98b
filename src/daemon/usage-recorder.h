/* usage-recorder.h: what goes into the usage store at each refresh: the
 * increase of the kernel's counters of every VM interface since the last
 * reading of the same device, in the guest's view, for the VM (by uuid)
 * and the interface. Glue between the link table and the store; pure (no
 * SQLite here).
 *
 * Where a device's counting starts:
 *  - a device read before in this run: from that reading, counter by
 *    counter: a 32-bit counter that wrapped counts what it carried past
 *    the wrap (see vnm_counter_delta), one that went down otherwise was
 *    reset and everything it shows now counts (the others go on);
 *  - a device first read in this run, whose last counters the store has
 *    (same name, same ifindex, same boot, counters not lower but for a
 *    32-bit wrap): from those,
 *    so that a restart, even after SIGKILL, continues exactly where the
 *    database stopped;
 *  - a device the store knows under its name but with another ifindex, an
 *    earlier boot or lower counters (recreated, rebooted): from 0, its
 *    counters are all its own traffic;
 *  - a device the store does not know: from 0, except at the first
 *    reading (the engine makes it when the daemon starts) of a new
 *    database, one without the counters of a first reading (the store
 *    keeps that in the database) or of a store in memory only, where
 *    devices already present start from their counters then (traffic from
 *    before virtnetmon kept usage is not put into the current hour);
 *  - any device while the store could not read the saved counters (its
 *    database could not be opened yet): from its counters then, losing
 *    the traffic of the downtime rather than counting its whole past
 *    again; when the database opens, a device whose saved counters are
 *    its own (as above) also counts what it carried since them.
 * Every device's starting counters are set in the store at its first
 * reading, so that the write after it (the engine writes right after the
 * first reading) has them all, and the database stops being new.
 * Traffic is counted for the VM a device belongs to when it is counted: a
 * device not (yet) mapped to a VM keeps its starting point until it is. */
#pragma once

#include <glib.h>

#include "link-table.h"
#include "usage-store.h"

/* A VM passed its monthly quota (see VnmEngine's usage-quota-exceeded). */
typedef struct {
  const gchar *vm_name;
  const gchar *vm_uuid;
  const gchar *month;       /* "YYYY-MM", UTC */
  guint64 month_bytes;      /* rx + tx this month when it was noticed */
  guint64 quota_bytes;
  gint64 time;              /* Unix seconds */
} VnmUsageQuotaEvent;

typedef struct _VnmUsageRecorder VnmUsageRecorder;

/* @store is borrowed; @boot_id tells this boot from others
 * (/proc/sys/kernel/random/boot_id, see vnm_usage_boot_id). */
VnmUsageRecorder *vnm_usage_recorder_new (VnmUsageStore *store, const gchar *boot_id);
void vnm_usage_recorder_free (VnmUsageRecorder *rec);

/* Counts the links of @links as read now (@now: Unix seconds). */
void vnm_usage_recorder_feed (VnmUsageRecorder *rec, VnmLinkTable *links, gint64 now);
/* @link (with the counters of the kernel's last word on it) is about to
 * leave @links: its last increase counts. */
void vnm_usage_recorder_link_gone (VnmUsageRecorder *rec, VnmLinkTable *links,
                                   const VnmLink *link, gint64 now);

/* This boot's id, "" when the kernel does not say. */
gchar *vnm_usage_boot_id (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmUsageRecorder, vnm_usage_recorder_free)
