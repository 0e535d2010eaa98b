/* flow-monitor.h: keeps the flow probe on exactly the host netdevs of
 * running VMs (attach on start, detach on stop or when the device goes),
 * polls its table into the flow store each interval, and answers what is
 * attached where and why not. Glue between registry, link table, probes
 * and flows; no outside library of its own. */
#pragma once

#include <glib.h>

#include "flow-topology.h"
#include "kernel-caps.h"
#include "link-table.h"
#include "flow-probe.h"
#include "registry.h"

typedef struct {
  guint table_size;           /* flow table entries in the kernel */
  gint64 idle_timeout_s;      /* a flow idle this long ends */
  gint64 retention_s;         /* ended flows are kept this long */
  guint max_ended;            /* and at most this many */
  const gchar *state_dir;     /* where the tc hook list is kept */
  const gchar *pin_dir;       /* bpffs directory for the maps; NULL: none */
  VnmProbeAttach attach;      /* tcx, clsact or auto */
  VnmTcFilterCountFunc count_filters; /* lets the probe tidy a clsact qdisc it made */
  gpointer count_filters_data;
} VnmFlowMonitorConfig;

typedef struct _VnmFlowMonitor VnmFlowMonitor;

/* Never fails: when the probe cannot be loaded (--no-bpf, kernel refuses),
 * the monitor says why for every device and serves no flows. */
VnmFlowMonitor *vnm_flow_monitor_new (VnmLinkTable *links, VnmRegistry *registry,
                                      const VnmKernelCaps *caps, const VnmFlowMonitorConfig *config,
                                      gboolean disabled);
void vnm_flow_monitor_free (VnmFlowMonitor *m);

gboolean vnm_flow_monitor_available (VnmFlowMonitor *m);
/* Why flows are not available ("" when they are). */
const gchar *vnm_flow_monitor_unavailable_reason (VnmFlowMonitor *m);
guint vnm_flow_monitor_table_size (VnmFlowMonitor *m);
/* Slots a CPU of the flow cache; 0 without it. */
guint vnm_flow_monitor_cache_slots (VnmFlowMonitor *m);
/* "tcx" or "tc-clsact"; "" when unavailable. */
const gchar *vnm_flow_monitor_program (VnmFlowMonitor *m);

/* Attach to new VM netdevs, detach from those no longer a running VM's.
 * Call when the registry or the link list changed. */
void vnm_flow_monitor_reconcile (VnmFlowMonitor *m);
/* Read the kernel table into the store (each interval). */
void vnm_flow_monitor_poll (VnmFlowMonitor *m);
/* Detach everything (shutdown). With pinned maps, the kernel table and the
 * totals stay for the next run, and the daemon's ended-flow summaries are
 * saved in the state directory to be read back then. */
void vnm_flow_monitor_stop (VnmFlowMonitor *m);
/* "adopted ...", "pinned ..." or why the maps are not pinned; "" without probes. */
const gchar *vnm_flow_monitor_pin_status (VnmFlowMonitor *m);
/* "new", "adopted", or "" when the maps are not pinned. */
const gchar *vnm_flow_monitor_pinned (VnmFlowMonitor *m);

typedef struct {
  gchar *iface;
  gint ifindex;
  gchar *domain_uuid, *domain_name;
  gboolean attached;
  gchar *program;   /* "tc" (clsact ingress + egress) */
  const gchar *hooks; /* "ingress,egress": the hook that sees what the VM
                         sends, then the one that sees what it receives
                         (tap); "egress,ingress" on a macvtap */
  gchar *reason;    /* why not attached; "" when attached */
} VnmProbeStatus;

void vnm_probe_status_free (VnmProbeStatus *s);
/* One row per interface of every running domain. */
GPtrArray *vnm_flow_monitor_status (VnmFlowMonitor *m);

typedef struct {
  gboolean attached;
  struct vnm_iface_totals totals;
  guint active;             /* flow entries in the kernel table now */
  guint64 evicted;          /* entries the LRU table evicted */
} VnmProbeTotals;

gboolean vnm_flow_monitor_totals (VnmFlowMonitor *m, gint ifindex, VnmProbeTotals *out);

/* Records (active and ended) of @domain_uuid's interfaces. Borrowed. */
GPtrArray *vnm_flow_monitor_records (VnmFlowMonitor *m, const gchar *domain_uuid);
VnmTopology *vnm_flow_monitor_topology (VnmFlowMonitor *m, VnmPeerNames *peers);
/* Calls @func for every record (active and ended) with the uuid and name
 * of the domain whose device it is on ("" when not known). */
typedef void (*VnmFlowRecordFunc) (const VnmFlowRecord *rec, const gchar *domain_uuid,
                                   const gchar *domain_name, gpointer user_data);
void vnm_flow_monitor_foreach_record (VnmFlowMonitor *m, VnmFlowRecordFunc func, gpointer user_data);
/* What the probe learned of the VMs' addresses: @via "traffic" (the
 * source address of unicast packets a VM sent, the local side of its
 * flows), "arp" (the sender of ARP from a VM, @mac its sender MAC) or
 * "dhcp" (a DHCP ACK gave the address to client @mac); @last_ns monotonic. */
typedef void (*VnmLearnedFunc) (gint ifindex, guint8 family, const guint8 addr[16], const gchar *via,
                                const gchar *mac, guint64 last_ns, gpointer user_data);
void vnm_flow_monitor_foreach_learned (VnmFlowMonitor *m, VnmLearnedFunc func, gpointer user_data);
/* Summaries of ended flows dropped because too many were kept. */
guint64 vnm_flow_monitor_summaries_dropped (VnmFlowMonitor *m);

/* A DNS message sent to VM @domain_uuid (its first @len of @orig_len bytes). */
typedef void (*VnmFlowDnsFunc) (const gchar *domain_uuid, const guint8 *msg, gsize len,
                                gsize orig_len, gpointer user_data);
/* Calls @func for the DNS messages sent to the VMs (none without probes). */
void vnm_flow_monitor_watch_dns (VnmFlowMonitor *m, VnmFlowDnsFunc func, gpointer user_data);
/* DNS messages the probe could not pass on. */
guint64 vnm_flow_monitor_dns_lost (VnmFlowMonitor *m);
/* Messages from UDP port 53 to a VM that had asked nothing on that flow. */
guint64 vnm_flow_monitor_dns_unasked (VnmFlowMonitor *m);
/* RTT of the TCP flows in the kernel table now, per probed interface:
 * GINT_TO_POINTER (ifindex) -> VnmRttAgg[2] (remote leg, VM leg). */
GHashTable *vnm_flow_monitor_active_rtt (VnmFlowMonitor *m);

/* Each VM's flows per protocol class (see VnmFlowClassTotals), summed
 * over its probed devices: domain uuid -> VnmFlowClassTotals*, a new table. */
GHashTable *vnm_flow_monitor_class_totals (VnmFlowMonitor *m);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmFlowMonitor, vnm_flow_monitor_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmProbeStatus, vnm_probe_status_free)
