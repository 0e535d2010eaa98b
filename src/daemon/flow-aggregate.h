/* flow-aggregate.h: flow records as the D-Bus API serves them: rows by
 * flow, remote, remote port or local port, filtered and sorted. Pure. */
#pragma once

#include <glib.h>

#include "flow-store.h"

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
  guint flows, active;                 /* active: see vnm_flow_record_is_active() */
} VnmFlowRow;

/* Whether @rec is going on: in the kernel table, and for TCP, its
 * connection neither closed (FIN both ways) nor reset. */
gboolean vnm_flow_record_is_active (const VnmFlowRecord *rec);

/* Aggregates @records (VnmFlowRecord*) per @q into VnmFlowRow, sorted. */
GArray *vnm_flow_aggregate (GPtrArray *records, const VnmFlowQuery *q);

const gchar *vnm_flow_proto_name (gint proto);
const gchar *vnm_flow_initiator_name (gint opener);
/* Address text of a key address (IPv4-mapped shown as IPv4). */
void vnm_flow_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len);

