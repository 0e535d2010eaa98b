/* flows.h: what the daemon keeps of the flow probe's table — the flows now
 * in the kernel, summaries of flows that ended (idle past a timeout, or their
 * VM stopped) kept for a while — and the aggregations the D-Bus API serves:
 * rows by flow, remote, remote port or local port, and the traffic topology.
 * Pure: plain structs in, plain structs out; tested without a kernel. */
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

/* Records (active and ended) of the ifindexes in @ifindexes (a set of
 * GINT_TO_POINTER), or of all when NULL. Borrowed pointers. */
GPtrArray *vnm_flow_store_records (VnmFlowStore *store, GHashTable *ifindexes);

/* --- aggregation --- */

typedef enum {
  VNM_FLOW_BY_FLOW,
  VNM_FLOW_BY_REMOTE,
  VNM_FLOW_BY_REMOTE_PORT,
  VNM_FLOW_BY_LOCAL_PORT,
} VnmFlowBy;

typedef enum {
  VNM_FLOW_SORT_BYTES,
  VNM_FLOW_SORT_RTT,
  VNM_FLOW_SORT_RETRANS,
  VNM_FLOW_SORT_CONNS,
} VnmFlowSort;

typedef struct {
  VnmFlowBy by;
  gint direction;          /* VNM_OPENER_VM (out), VNM_OPENER_REMOTE (in), or -1 */
  gint proto;              /* IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP (also ICMPv6), or -1 */
  VnmFlowSort sort;
  guint top;               /* 0: all */
} VnmFlowQuery;

/* Parse the D-Bus/CLI words; FALSE with a message naming the bad word. */
gboolean vnm_flow_query_parse (VnmFlowQuery *q, const gchar *by, const gchar *direction,
                               const gchar *proto, const gchar *sort, GError **error);

/* RTT samples of one leg, aggregated. */
typedef struct {
  guint64 sum_us, jitter_sum_us;
  guint64 count, jitter_count;
  guint32 min_us, max_us;
} VnmRttAgg;

/* Adds one flow's RTT samples of one leg to @agg. */
void vnm_rtt_agg_merge (VnmRttAgg *agg, const struct vnm_rtt *r);

typedef struct {
  gchar local_ip[48], remote_ip[48];   /* "" when aggregated away */
  gint local_port, remote_port;        /* -1 when aggregated away */
  gint proto;                          /* -1 when mixed */
  gint direction;                      /* VNM_OPENER_*, -1 when mixed */
  guint64 tx_bytes, rx_bytes, tx_packets, rx_packets;
  guint64 conns_opened, conns_closed, resets, retrans_tx, retrans_rx;
  VnmRttAgg rtt;                       /* remote leg: the RTT the VM's TCP sees */
  VnmRttAgg vm_rtt;                    /* host -> VM -> host */
  guint64 first_ns, last_ns;           /* monotonic */
  guint flows, active;
} VnmFlowRow;

/* Aggregates @records (VnmFlowRecord*) per @q into VnmFlowRow, sorted. */
GArray *vnm_flow_aggregate (GPtrArray *records, const VnmFlowQuery *q);

const gchar *vnm_flow_proto_name (gint proto);
const gchar *vnm_flow_direction_name (gint opener);
/* Address text of a key address (IPv4-mapped shown as IPv4). */
void vnm_flow_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len);

/* --- topology --- */

typedef struct {
  gchar *id;      /* domain uuid, or the remote address */
  gchar *label;   /* domain name, or the address */
  gboolean is_vm;
  guint64 rx_bytes, tx_bytes;   /* the node's view */
} VnmTopoNode;

typedef struct {
  gchar *source, *target;       /* node ids; source is a VM */
  guint64 bytes_to_target, bytes_to_source;
  guint64 conns, retrans;
  VnmRttAgg rtt;
} VnmTopoEdge;

typedef struct {
  GPtrArray *nodes;   /* VnmTopoNode*, owned */
  GPtrArray *edges;   /* VnmTopoEdge*, owned */
} VnmTopology;

/* @owner maps GINT_TO_POINTER (ifindex) to the owning domain's uuid and
 * @names uuid to name. A remote address that is some VM's own address on
 * this host (seen as a local address of its flows) becomes a VM-to-VM edge,
 * counted once. */
VnmTopology *vnm_flow_topology (GPtrArray *records, GHashTable *owner, GHashTable *names);
void vnm_topology_free (VnmTopology *topo);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmFlowStore, vnm_flow_store_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmTopology, vnm_topology_free)
