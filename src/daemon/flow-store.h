/* flow-store.h: what the daemon keeps of the flow probe's table: the flows
 * now in the kernel, and summaries of flows that ended (idle past a
 * timeout, or their VM stopped) kept for a while. Pure: plain structs in,
 * plain structs out; tested without a kernel. */
#pragma once

#include <glib.h>

#include "vnm-flows.h"

/* One flow table entry as read from the kernel. */
typedef struct {
  struct vnm_flow_key key;
  struct vnm_flow flow;
} VnmFlowEntry;

typedef struct {
  struct vnm_flow_key key;
  struct vnm_flow flow;
  gboolean ended;          /* a summary: no longer in the kernel table */
  gboolean evicted;        /* it ended for want of room (the LRU table, the
                            * domain's limit), not idle or with its device;
                            * in what was padding: the saved layout stays */
  gint64 ended_us;         /* monotonic time it ended */
} VnmFlowRecord;

typedef struct _VnmFlowStore VnmFlowStore;

/* Flows idle for @idle_timeout_us end; ended ones are kept @retention_us,
 * at most @max_ended of them (the oldest go first, counted). */
VnmFlowStore *vnm_flow_store_new (gint64 idle_timeout_us, gint64 retention_us, guint max_ended);
void vnm_flow_store_free (VnmFlowStore *store);

/* Takes a fresh read of the kernel table (@entries of VnmFlowEntry). Flows idle past the timeout end; their keys are
 * appended to @to_delete for the caller to remove from the kernel. */
void vnm_flow_store_update (VnmFlowStore *store, const GArray *entries, gint64 now_mono_us,
                            GArray *to_delete);

/* @ifindex's device or VM is gone: all its flows end now. Their keys are
 * appended to @to_delete. */
void vnm_flow_store_end_ifindex (VnmFlowStore *store, gint ifindex, gint64 now_mono_us,
                                 GArray *to_delete);

/* A domain may keep at most @keep flows (its settings' flow table size):
 * of the active flows of @ifindexes (a set of GINT_TO_POINTER), the least
 * recently seen beyond @keep end now, their keys appended to @to_delete.
 * They are not counted as removed, so they show as evicted, like the LRU
 * table's own evictions. Returns how many ended. */
guint vnm_flow_store_limit (VnmFlowStore *store, GHashTable *ifindexes, guint keep,
                            gint64 now_mono_us, GArray *to_delete);

/* The daemon's own part of the store, for the next run when the kernel
 * table is kept (pinned): summaries of ended flows and the per-device
 * counts of entries the daemon removed. Active flows are not included:
 * they are in the kernel table. */
GBytes *vnm_flow_store_save (VnmFlowStore *store);
/* Adds what vnm_flow_store_save() wrote; FALSE when @data is not such a
 * record (another version, truncated): nothing is added then. */
gboolean vnm_flow_store_load (VnmFlowStore *store, GBytes *data, gint64 now_mono_us);

/* Probe (re)attached to @ifindex: its totals restart, so does the count of
 * entries the daemon removed. */
void vnm_flow_store_reset_ifindex (VnmFlowStore *store, gint ifindex);

/* Flow entries of @ifindex in the kernel table now, and removed by the
 * daemon since attach. With the probe's flows_created this gives the
 * entries the LRU table evicted: created - active - removed. */
guint vnm_flow_store_active (VnmFlowStore *store, gint ifindex);
guint64 vnm_flow_store_removed (VnmFlowStore *store, gint ifindex);
guint64 vnm_flow_store_summaries_dropped (VnmFlowStore *store);

/* Protocol classes of the per-VM flow figures on /metrics. */
typedef enum {
  VNM_FLOW_CLASS_TCP,
  VNM_FLOW_CLASS_UDP,
  VNM_FLOW_CLASS_ICMP,         /* ICMP and ICMPv6 */
  VNM_FLOW_CLASS_OTHER,
  VNM_FLOW_CLASSES,
} VnmFlowClass;

VnmFlowClass vnm_flow_class (guint8 proto);
/* "tcp", "udp", "icmp", "other". */
const gchar *vnm_flow_class_name (VnmFlowClass c);

/* A device's flows per protocol class since its probe attached, whatever
 * became of single flows: what active flows count now plus what ended
 * ones counted last, so the sums only grow while the device keeps its
 * probe (vnm_flow_store_reset_ifindex() starts them again). */
typedef struct {
  guint64 bytes[VNM_FLOW_CLASSES][2];    /* L4 payload bytes, [VNM_DIR_*] */
  guint64 packets[VNM_FLOW_CLASSES][2];
  guint64 started[VNM_FLOW_CLASSES][3];  /* flows first seen, [VNM_OPENER_*] */
  guint64 evicted[VNM_FLOW_CLASSES][3];  /* ended by the full table or the domain's limit */
  guint active[VNM_FLOW_CLASSES][3];     /* going on: in the kernel table, and
                                          * for TCP neither closed nor reset */
} VnmFlowClassTotals;

void vnm_flow_class_totals_add (VnmFlowClassTotals *into, const VnmFlowClassTotals *t);
/* Every device's class totals: GINT_TO_POINTER (ifindex) -> VnmFlowClassTotals*,
 * a new table. */
GHashTable *vnm_flow_store_class_totals (VnmFlowStore *store);

/* Records (active and ended) of the ifindexes in @ifindexes (a set of
 * GINT_TO_POINTER), or of all when NULL. Borrowed pointers. */
GPtrArray *vnm_flow_store_records (VnmFlowStore *store, GHashTable *ifindexes);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmFlowStore, vnm_flow_store_free)
