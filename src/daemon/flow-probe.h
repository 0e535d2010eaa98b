/* flow-probe.h: the per-VM flow probe (bpf/flows.bpf.c) behind libbpf: load it
 * once, attach its two tc programs to a VM's host netdevs, detach exactly
 * what virtnetmon attached, and read its maps into plain structs. */
#pragma once

#include <glib.h>

#include "flow-store.h"
#include "probe-attach.h"
#include "tc-hook.h"

typedef struct _VnmProbes VnmFlowProbe;

/* Loads the probe with a flow table of @flow_table_size entries, hooking
 * devices as @attach says (AUTO: tcx when the kernel answers a tcx query).
 * @state_dir keeps the list of devices with clsact hooks, so that a restart
 * after a crash can remove them (tcx links need no such list), and which
 * devices' totals were kept at the last stop.
 * With @pin_dir (a directory in bpffs, NULL for none), the flow table and
 * the per-device totals are pinned there and, when a compatible pin exists
 * (an earlier virtnetmond's), adopted: flows and totals continue across a
 * restart. Without bpffs, or while another daemon holds @pin_dir, the maps
 * stay private and vnm_flow_probe_pin_status() says why. */
VnmFlowProbe *vnm_flow_probe_new (guint flow_table_size, VnmProbeAttach attach, const gchar *state_dir,
                           const gchar *pin_dir, VnmTcFilterCountFunc count_filters,
                           gpointer user_data, GError **error);

typedef enum {
  VNM_PIN_NONE,       /* private maps: totals restart with the daemon */
  VNM_PIN_NEW,        /* this run's maps, pinned */
  VNM_PIN_ADOPTED,    /* an earlier run's pinned maps, reused */
} VnmPinState;

VnmPinState vnm_flow_probe_pin_state (VnmFlowProbe *probes);
/* A sentence on the pin state: where, and why not when not pinned. */
const gchar *vnm_flow_probe_pin_status (VnmFlowProbe *probes);
void vnm_flow_probe_free (VnmFlowProbe *probes);

guint vnm_flow_probe_flow_table_size (VnmFlowProbe *probes);
/* VNM_PROBE_ATTACH_TCX or _CLSACT: what this kernel got. */
VnmProbeAttach vnm_flow_probe_attach_mode (VnmFlowProbe *probes);

/* A DNS message sent to a VM on @ifindex: its first @len bytes of
 * @orig_len. */
typedef void (*VnmDnsMessageFunc) (gint ifindex, const guint8 *msg, gsize len, gsize orig_len,
                                   gpointer user_data);
/* Calls @func on the main loop for each DNS message the probe passes on. */
gboolean vnm_flow_probe_watch_dns (VnmFlowProbe *probes, VnmDnsMessageFunc func,
                                   gpointer user_data, GError **error);
/* DNS messages the probe could not pass on (its ring buffer was full). */
guint64 vnm_flow_probe_dns_lost (VnmFlowProbe *probes);
/* Messages from UDP port 53 to a VM on a flow it had sent nothing on (no
 * answer to its query): not passed on. */
guint64 vnm_flow_probe_dns_unasked (VnmFlowProbe *probes);

/* Removes clsact hooks a previous virtnetmond left behind: those in the
 * state file and any virtnetmon filter found on @ifindexes (an array of
 * gint). Returns how many hooks were removed. */
guint vnm_flow_probe_remove_stale (VnmFlowProbe *probes, GArray *ifindexes);

/* Attaches to @ifindex (on a tap ingress sees what the VM sends, egress
 * what is sent to it; with @vm_sends_on_egress, for a macvtap, whose egress
 * is the guest's transmit path, the other way round) and starts
 * its totals at zero, or, for a device whose totals an earlier run kept in
 * the pinned map, continues them (*continued set TRUE; may be NULL). tcx links go first in the device's chain, so that no
 * other program's verdict hides a packet from the probe. Fails with a
 * message naming the device when the kernel refuses or (clsact) another
 * program holds virtnetmon's tc handle. */
gboolean vnm_flow_probe_attach (VnmFlowProbe *probes, gint ifindex, const gchar *ifname,
                            gboolean vm_sends_on_egress, gboolean *continued, GError **error);

/* Closes virtnetmon's tcx links on @ifindex, or removes its clsact filters
 * (only after checking they are ours) and the clsact qdisc if virtnetmon
 * created it and it is now empty. With @device_gone, only forgets the
 * device. */
void vnm_flow_probe_detach (VnmFlowProbe *probes, gint ifindex, gboolean device_gone);

gboolean vnm_flow_probe_is_attached (VnmFlowProbe *probes, gint ifindex);
/* Detaches everything (daemon shutdown). With pinned maps, the totals of
 * every device stay in the map (and are listed in the state directory) for
 * the next run to continue. */
void vnm_flow_probe_detach_all (VnmFlowProbe *probes);

/* Slots of the per-CPU flow cache on each CPU; 0 when the kernel refused
 * the cache (every packet takes the table). */
guint vnm_flow_probe_cache_slots (VnmFlowProbe *probes);
/* Moves the counts the per-CPU flow cache holds into the flow table (see
 * vnm-flows.h): before reading the table, so that it is complete, and
 * after detaching devices, before their flows end. */
void vnm_flow_probe_flush_cache (VnmFlowProbe *probes);
/* Reads every flow table entry. */
GArray *vnm_flow_probe_read_flows (VnmFlowProbe *probes, GError **error);
typedef struct {
  struct vnm_learned_key key;
  struct vnm_learned value;
} VnmLearnedEntry;

/* The addresses the probe learned from ARP and DHCP (see vnm-flows.h),
 * VnmLearnedEntry; the map keeps the most recent (LRU). */
GArray *vnm_flow_probe_read_learned (VnmFlowProbe *probes);
/* Deletes one entry (the daemon moved it to its closed-flow summaries). */
void vnm_flow_probe_delete_flow (VnmFlowProbe *probes, const struct vnm_flow_key *key);

/* The sum over CPUs of @ifindex's totals; FALSE when not attached. */
gboolean vnm_flow_probe_read_totals (VnmFlowProbe *probes, gint ifindex,
                                 struct vnm_iface_totals *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmFlowProbe, vnm_flow_probe_free)
