/* probes.h: the per-VM flow probe (bpf/flows.bpf.c) behind libbpf: load it
 * once, attach its two tc programs to a VM's host netdevs, detach exactly
 * what virtnetmon attached, and read its maps into plain structs. */
#pragma once

#include <glib.h>

#include "flows.h"
#include "probe-attach.h"

/* tc filter identity of virtnetmon's programs on clsact ingress/egress. */
#define VNM_TC_HANDLE   0x564e4d31u  /* "VNM1" */
#define VNM_TC_PRIORITY 1

/* enum bpf_attach_type values of Linux 6.6, newer than the uapi headers
 * this may be built with. */
#define VNM_BPF_TCX_INGRESS 46
#define VNM_BPF_TCX_EGRESS  47

typedef struct _VnmProbes VnmProbes;

/* Counts the tc filters under clsact @egress/ingress of @ifindex, or -1 on
 * error. Lets the probes remove a clsact qdisc they created once it is
 * empty, without touching anyone else's. */
typedef gint (*VnmTcFilterCountFunc) (gint ifindex, gboolean egress, gpointer user_data);

/* Loads the probe with a flow table of @flow_table_size entries, hooking
 * devices as @attach says (AUTO: tcx when the kernel answers a tcx query).
 * @state_dir keeps the list of devices with clsact hooks, so that a restart
 * after a crash can remove them (tcx links need no such list), and which
 * devices' totals were kept at the last stop.
 * With @pin_dir (a directory in bpffs, NULL for none), the flow table and
 * the per-device totals are pinned there and, when a compatible pin exists
 * (an earlier virtnetmond's), adopted: flows and totals continue across a
 * restart. Without bpffs, or while another daemon holds @pin_dir, the maps
 * stay private and vnm_probes_pin_status() says why. */
VnmProbes *vnm_probes_new (guint flow_table_size, VnmProbeAttach attach, const gchar *state_dir,
                           const gchar *pin_dir, VnmTcFilterCountFunc count_filters,
                           gpointer user_data, GError **error);

typedef enum {
  VNM_PIN_NONE,       /* private maps: totals restart with the daemon */
  VNM_PIN_NEW,        /* this run's maps, pinned */
  VNM_PIN_ADOPTED,    /* an earlier run's pinned maps, reused */
} VnmPinState;

VnmPinState vnm_probes_pin_state (VnmProbes *probes);
/* A sentence on the pin state: where, and why not when not pinned. */
const gchar *vnm_probes_pin_status (VnmProbes *probes);
void vnm_probes_free (VnmProbes *probes);

guint vnm_probes_flow_table_size (VnmProbes *probes);
/* VNM_PROBE_ATTACH_TCX or _CLSACT: what this kernel got. */
VnmProbeAttach vnm_probes_attach_mode (VnmProbes *probes);

/* Removes clsact hooks a previous virtnetmond left behind: those in the
 * state file and any virtnetmon filter found on @ifindexes (an array of
 * gint). Returns how many hooks were removed. */
guint vnm_probes_remove_stale (VnmProbes *probes, GArray *ifindexes);

/* Attaches to @ifindex (ingress: from the VM, egress: to the VM) and starts
 * its totals at zero, or, for a device whose totals an earlier run kept in
 * the pinned map, continues them (*continued set TRUE; may be NULL). tcx links go first in the device's chain, so that no
 * other program's verdict hides a packet from the probe. Fails with a
 * message naming the device when the kernel refuses or (clsact) another
 * program holds virtnetmon's tc handle. */
gboolean vnm_probes_attach (VnmProbes *probes, gint ifindex, const gchar *ifname,
                            gboolean *continued, GError **error);

/* Closes virtnetmon's tcx links on @ifindex, or removes its clsact filters
 * (only after checking they are ours) and the clsact qdisc if virtnetmon
 * created it and it is now empty. With @device_gone, only forgets the
 * device. */
void vnm_probes_detach (VnmProbes *probes, gint ifindex, gboolean device_gone);

gboolean vnm_probes_is_attached (VnmProbes *probes, gint ifindex);
/* Detaches everything (daemon shutdown). With pinned maps, the totals of
 * every device stay in the map (and are listed in the state directory) for
 * the next run to continue. */
void vnm_probes_detach_all (VnmProbes *probes);

/* Slots of the per-CPU flow cache on each CPU; 0 when the kernel refused
 * the cache (every packet takes the table). */
guint vnm_probes_cache_slots (VnmProbes *probes);
/* Moves the counts the per-CPU flow cache holds into the flow table (see
 * vnm-flows.h): before reading the table, so that it is complete, and
 * after detaching devices, before their flows end. */
void vnm_probes_flush_cache (VnmProbes *probes);
/* Reads every flow table entry. */
GArray *vnm_probes_read_flows (VnmProbes *probes, GError **error);
/* Deletes one entry (the daemon moved it to its closed-flow summaries). */
void vnm_probes_delete_flow (VnmProbes *probes, const struct vnm_flow_key *key);

/* The sum over CPUs of @ifindex's totals; FALSE when not attached. */
gboolean vnm_probes_read_totals (VnmProbes *probes, gint ifindex,
                                 struct vnm_iface_totals *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmProbes, vnm_probes_free)
