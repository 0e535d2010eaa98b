/* metrics.c: the engine's state -> Prometheus metrics.
 *
 * Names follow the Prometheus conventions: a virtnetmon_ prefix, base units
 * (bytes, seconds), _total for counters. Every interface sample carries the
 * labels iface, vm_name, vm_uuid, vm_id ("" where there is no VM); a VM's own
 * series (latency, flows by protocol) vm_name, vm_uuid, vm_id. For a VM's
 * interface, receive/transmit are the guest's view (receive = into the VM),
 * as `virsh domifstat` and libvirt's own statistics count them; for other
 * devices the host's view.
 *
 * Cardinality is bounded by the VMs, never by their traffic: no label holds
 * an address or a port. Per VM: latency histograms (at most 7 directions and
 * stages of 29 series each, only for VMs with histograms, only those with
 * packets), drops by kernel reason (a bounded enum), flows by 4 protocol
 * classes, TCP connections by 6 states and 3 initiators, handshake failures
 * by 2 reasons and 2 initiators, and the connections of at most
 * VNM_METRICS_SERVICES exposed services (the rest counted in
 * virtnetmon_vm_services_unlisted). docs/fleet.md gives the figures. */
#include "config.h"

#include <unistd.h>

#include "flow-aggregate.h"
#include "conn-states.h"
#include "flow-monitor.h"
#include "latency-hist.h"
#include "latency-monitor.h"
#include "metrics.h"
#include "prom-text.h"
#include "dbus-records.h"

typedef struct {
  const VnmLink *link;
  GString *labels;           /* iface, vm_name, vm_uuid, vm_id */
  VnmLinkOwner owner;
  VnmCounters c;
  VnmProbeTotals probe;      /* probe.attached: the probe counts this device */
  const VnmRttAgg *rtt;      /* [2]: remote leg, VM leg; NULL: no TCP samples */
} Entry;

static void
entry_clear (Entry *e)
{
  g_string_free (e->labels, TRUE);
}

/* The labels that name a VM, on every series of a VM or its interface.
 * Its title and tenant (Nova project, user, flavor) are on
 * virtnetmon_vm_info alone, one series a VM: other families join them in
 * on vm_uuid (group_left), so that they stay small. */
static void
append_vm_labels (GString *l, const gchar *name, const gchar *uuid, const gchar *id)
{
  vnm_prom_label (l, "vm_name", name);
  vnm_prom_label (l, "vm_uuid", uuid);
  vnm_prom_label (l, "vm_id", id);
}

/* A running VM and its labels, for the families of VMs. */
typedef struct {
  const VnmDomain *d;
  GString *labels;             /* vm_name, vm_uuid, vm_id */
} Vm;

static void
vm_clear (Vm *vm)
{
  g_string_free (vm->labels, TRUE);
}

static GArray *
list_vms (VnmEngine *engine, GPtrArray *domains)
{
  GArray *vms = g_array_sized_new (FALSE, TRUE, sizeof (Vm), domains->len);

  g_array_set_clear_func (vms, (GDestroyNotify) vm_clear);
  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      g_autofree gchar *id = d->id >= 0 ? g_strdup_printf ("%d", d->id) : g_strdup ("");
      Vm vm = { d, g_string_new (NULL) };

      append_vm_labels (vm.labels, d->name, d->uuid, id);
      g_array_append_val (vms, vm);
    }
  return vms;
}

typedef guint64 (*EntryValue) (const Entry *e);

#define COUNTER(fn, expr) static guint64 fn (const Entry *e) { return (expr); }
COUNTER (rx_bytes, e->c.rx_bytes)
COUNTER (tx_bytes, e->c.tx_bytes)
COUNTER (rx_packets, e->c.rx_packets)
COUNTER (tx_packets, e->c.tx_packets)
COUNTER (rx_errors, e->c.rx_errors)
COUNTER (tx_errors, e->c.tx_errors)
COUNTER (rx_dropped, e->c.rx_dropped)
COUNTER (tx_dropped, e->c.tx_dropped)
COUNTER (conns_opened, e->probe.totals.conns_opened)
COUNTER (conns_closed, e->probe.totals.conns_closed)
COUNTER (resets, e->probe.totals.resets)
COUNTER (conns_open, (guint64) MAX ((gint64) e->probe.totals.conns_opened -
                                    (gint64) e->probe.totals.conns_closed -
                                    (gint64) e->probe.totals.resets, 0))
COUNTER (flows_created, e->probe.totals.flows_created)
COUNTER (flows_active, e->probe.active)
COUNTER (flows_evicted, e->probe.evicted)
COUNTER (untracked, e->probe.totals.untracked)
#undef COUNTER

static void
family_per_entry (GString *out, GArray *entries, gboolean probed_only, const gchar *name,
                  const gchar *type, const gchar *help, EntryValue value)
{
  vnm_prom_family (out, name, type, help);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      if (!probed_only || e->probe.attached)
        vnm_prom_sample_u64 (out, name, e->labels->str, NULL, value (e));
    }
}

static void
interface_metrics (GString *out, GArray *entries)
{
  static const struct {
    const gchar *name, *help;
    EntryValue value;
  } counters[] = {
    { "virtnetmon_interface_receive_bytes_total",
      "Bytes received: into the VM for a VM's interface (guest's view), by the host otherwise.",
      rx_bytes },
    { "virtnetmon_interface_transmit_bytes_total",
      "Bytes transmitted: sent by the VM for a VM's interface (guest's view), by the host otherwise.",
      tx_bytes },
    { "virtnetmon_interface_receive_packets_total", "Packets received (guest's view for a VM's interface).",
      rx_packets },
    { "virtnetmon_interface_transmit_packets_total", "Packets transmitted (guest's view for a VM's interface).",
      tx_packets },
    { "virtnetmon_interface_receive_errors_total", "Receive errors (guest's view for a VM's interface).",
      rx_errors },
    { "virtnetmon_interface_transmit_errors_total", "Transmit errors (guest's view for a VM's interface).",
      tx_errors },
    { "virtnetmon_interface_receive_drops_total", "Received packets dropped (guest's view for a VM's interface).",
      rx_dropped },
    { "virtnetmon_interface_transmit_drops_total",
      "Packets dropped on transmit (guest's view for a VM's interface).", tx_dropped },
  };

  vnm_prom_family (out, "virtnetmon_interface_info", "gauge",
                   "Always 1: an interface, its kind, state, bridge, which view its counters are in "
                   "and how it was mapped to its VM.");
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      g_autoptr(GString) extra = g_string_new (NULL);

      vnm_prom_label (extra, "kind", e->link->kind);
      vnm_prom_label (extra, "state", e->link->state);
      vnm_prom_label (extra, "view", e->owner.guest_view ? "guest" : "host");
      vnm_prom_label (extra, "mapped_by", e->owner.mapped_by);
      vnm_prom_sample_u64 (out, "virtnetmon_interface_info", e->labels->str, extra->str, 1);
    }
  for (guint k = 0; k < G_N_ELEMENTS (counters); k++)
    family_per_entry (out, entries, FALSE, counters[k].name, "counter", counters[k].help,
                      counters[k].value);
}

static void
rtt_family (GString *out, GArray *entries, const gchar *name, const gchar *help, guint what)
{
  static const gchar *legs[] = { "leg=\"remote\"", "leg=\"vm\"" };

  vnm_prom_family (out, name, "gauge", help);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      for (guint leg = 0; e->rtt && leg < 2; leg++)
        {
          const VnmRttAgg *r = &e->rtt[leg];
          if (!r->count)
            continue;
          switch (what)
            {
            case 0:
              vnm_prom_sample_double (out, name, e->labels->str, legs[leg],
                                      (gdouble) r->sum_us / r->count / 1e6);
              break;
            case 1:
              vnm_prom_sample_double (out, name, e->labels->str, legs[leg],
                                      r->jitter_count ? (gdouble) r->jitter_sum_us / r->jitter_count / 1e6 : 0);
              break;
            case 2:
              vnm_prom_sample_double (out, name, e->labels->str, legs[leg], r->max_us / 1e6);
              break;
            default:
              vnm_prom_sample_u64 (out, name, e->labels->str, legs[leg], r->count);
            }
        }
    }
}

static void
probe_metrics (GString *out, GArray *entries)
{
  family_per_entry (out, entries, TRUE, "virtnetmon_tcp_connections_opened_total", "counter",
                    "TCP connections opened (handshake seen) through the interface.", conns_opened);
  family_per_entry (out, entries, TRUE, "virtnetmon_tcp_connections_closed_total", "counter",
                    "TCP connections closed (FIN both ways).", conns_closed);
  family_per_entry (out, entries, TRUE, "virtnetmon_tcp_resets_total", "counter",
                    "TCP connections reset (RST).", resets);
  family_per_entry (out, entries, TRUE, "virtnetmon_tcp_connections_open", "gauge",
                    "TCP connections open now (opened - closed - reset since the probe attached).",
                    conns_open);

  vnm_prom_family (out, "virtnetmon_tcp_retransmissions_total", "counter",
                   "TCP segments that repeated a sequence range already seen; direction tx: sent by "
                   "the VM, rx: sent to the VM.");
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      if (!e->probe.attached)
        continue;
      vnm_prom_sample_u64 (out, "virtnetmon_tcp_retransmissions_total", e->labels->str,
                           "direction=\"tx\"", e->probe.totals.retrans[VNM_DIR_OUT]);
      vnm_prom_sample_u64 (out, "virtnetmon_tcp_retransmissions_total", e->labels->str,
                           "direction=\"rx\"", e->probe.totals.retrans[VNM_DIR_IN]);
    }

  rtt_family (out, entries, "virtnetmon_tcp_rtt_seconds",
              "Mean passive TCP round-trip time over the flows open now; leg remote: host to the "
              "remote end and back (what the VM's TCP sees, less the host-VM hop), leg vm: host to "
              "the VM and back.", 0);
  rtt_family (out, entries, "virtnetmon_tcp_rtt_jitter_seconds",
              "Mean absolute difference of consecutive RTT samples over the flows open now.", 1);
  rtt_family (out, entries, "virtnetmon_tcp_rtt_max_seconds",
              "Largest RTT sample of the flows open now.", 2);
  rtt_family (out, entries, "virtnetmon_tcp_rtt_samples",
              "RTT samples behind virtnetmon_tcp_rtt_seconds (to weight it when summing).", 3);

  family_per_entry (out, entries, TRUE, "virtnetmon_flows_created_total", "counter",
                    "Flow table entries the probe created.", flows_created);
  family_per_entry (out, entries, TRUE, "virtnetmon_flows_active", "gauge",
                    "Flow table entries of the interface in the kernel now.", flows_active);
  family_per_entry (out, entries, TRUE, "virtnetmon_flow_evictions_total", "counter",
                    "Flow entries the full kernel table evicted (their traffic still counts in the "
                    "interface totals).", flows_evicted);
  family_per_entry (out, entries, TRUE, "virtnetmon_untracked_packets_total", "counter",
                    "Packets that are not IPv4/IPv6 TCP, UDP or ICMP (ARP, ...).", untracked);
}

static void
domain_metrics (GString *out, VnmEngine *engine, GArray *vms)
{
  g_autoptr(GPtrArray) status = vnm_flow_monitor_status (vnm_engine_get_flow_monitor (engine));

  vnm_prom_family (out, "virtnetmon_vm_info", "gauge",
                   "Always 1: a running VM, its state, how virtnetmon found it, its libvirt title and "
                   "its OpenStack Nova instance, project, user and flavor (\"\" when none).");
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      g_autoptr(GString) extra = g_string_new (NULL);

      vnm_prom_label (extra, "state", vm->d->state);
      vnm_prom_label (extra, "mapped_by", vm->d->mapped_by);
      /* Who the VM is beyond its name, for joins (group_left) with every
       * other family by vm_uuid; its description is too long for a label. */
      vnm_prom_label (extra, "vm_title", vm->d->labels->title);
      vnm_prom_label (extra, "nova_instance_name", vm->d->labels->nova_instance_name);
      vnm_prom_label (extra, "nova_project_name", vm->d->labels->nova_project_name);
      vnm_prom_label (extra, "nova_project_uuid", vm->d->labels->nova_project_uuid);
      vnm_prom_label (extra, "nova_user_name", vm->d->labels->nova_user_name);
      vnm_prom_label (extra, "nova_user_uuid", vm->d->labels->nova_user_uuid);
      vnm_prom_label (extra, "nova_flavor", vm->d->labels->nova_flavor);
      vnm_prom_sample_u64 (out, "virtnetmon_vm_info", vm->labels->str, extra->str, 1);
    }

  vnm_prom_family (out, "virtnetmon_probe_attached", "gauge",
                   "1 when the flow probe is attached to the VM interface (program says how), 0 "
                   "when not (virtnetmon status says why).");
  for (guint i = 0; i < status->len; i++)
    {
      const VnmProbeStatus *s = g_ptr_array_index (status, i);
      const VnmDomain *d = vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), s->domain_uuid);
      g_autofree gchar *id = d && d->id >= 0 ? g_strdup_printf ("%d", d->id) : g_strdup ("");
      g_autoptr(GString) l = g_string_new (NULL);

      vnm_prom_label (l, "iface", s->iface);
      append_vm_labels (l, s->domain_name, s->domain_uuid, id);
      vnm_prom_label (l, "program", s->attached ? s->program : "");
      vnm_prom_sample_u64 (out, "virtnetmon_probe_attached", l->str, NULL, s->attached);
    }

  vnm_prom_family (out, "virtnetmon_vms", "gauge", "Running VMs virtnetmon knows.");
  vnm_prom_sample_u64 (out, "virtnetmon_vms", NULL, NULL, vms->len);
}

static const gchar *const dir_names[2] = { "tx", "rx" };   /* VNM_LAT_TX, VNM_LAT_RX; VNM_DIR_OUT, VNM_DIR_IN */
static const gchar *const stage_names[VNM_STAGE_COUNT] = {
  "rcv_to_queue", "queue_to_xmit", "xmit_to_guest", "total",
};

/* Latency histograms of the VMs that have them (traced in full, or
 * sampled), the mode that made them, drops by kernel reason, the
 * slow-packet stream's counters. */
static void
latency_metrics (GString *out, VnmEngine *engine, GArray *vms)
{
  static const gchar *const hist = "virtnetmon_latency_seconds";
  VnmLatencyMonitor *m = vnm_engine_get_latency_monitor (engine);
  VnmRegistry *registry = vnm_engine_get_registry (engine);
  g_autofree VnmLatHist *h = g_new (VnmLatHist, 1);
  g_autofree VnmLatencyCoverage *cov = g_new0 (VnmLatencyCoverage, MAX (vms->len, 1));
  g_autoptr(GPtrArray) drops = NULL;
  g_autoptr(GString) l = g_string_new (NULL);
  guint64 cumulative[VNM_LAT_PROM_BOUNDS];
  VnmLatencyCounters c;
  VnmLatencySampling sampling;

  vnm_prom_family (out, "virtnetmon_latency_probe_available", "gauge",
                   "1 when the latency and drop probe is loaded, 0 when the kernel refused it or it "
                   "is switched off (virtnetmon status says why).");
  vnm_prom_sample_u64 (out, "virtnetmon_latency_probe_available", NULL, NULL,
                       vnm_latency_monitor_available (m));
  if (!vnm_latency_monitor_available (m))
    return;

  for (guint i = 0; i < vms->len; i++)
    vnm_latency_monitor_coverage (m, g_array_index (vms, Vm, i).d->uuid, &cov[i]);
  vnm_prom_family (out, "virtnetmon_latency_mode", "gauge",
                   "Always 1: the VM has latency histograms and the mode that makes them, full "
                   "(every packet traced) or sampled (short tracing windows); VMs with neither have "
                   "no latency series.");
  for (guint i = 0; i < vms->len; i++)
    if (cov[i].mode != VNM_LATENCY_MODE_OFF)
      {
        g_autoptr(GString) extra = g_string_new (NULL);
        vnm_prom_label (extra, "mode", vnm_latency_mode_name (cov[i].mode));
        vnm_prom_sample_u64 (out, "virtnetmon_latency_mode", g_array_index (vms, Vm, i).labels->str,
                             extra->str, 1);
      }
  vnm_prom_family (out, "virtnetmon_latency_traced_seconds_total", "counter",
                   "Seconds the VM's histograms saw since they started: all of the time in full mode, "
                   "the windows' share in sampled mode (they start again when the mode changes).");
  for (guint i = 0; i < vms->len; i++)
    if (cov[i].mode != VNM_LATENCY_MODE_OFF)
      vnm_prom_sample_double (out, "virtnetmon_latency_traced_seconds_total",
                              g_array_index (vms, Vm, i).labels->str, NULL, cov[i].traced_s);

  vnm_prom_family (out, hist, "histogram",
                   "Datapath latency of the VM's packets between stages, summed over its interfaces; "
                   "direction tx: sent by the VM, rx: sent to it; stage rcv_to_queue, queue_to_xmit, "
                   "xmit_to_guest (rx only) or total; sampled VMs have total only. A direction and "
                   "stage appear with their first packet.");
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      const VnmLatencySettings *set = NULL;

      if (cov[i].mode == VNM_LATENCY_MODE_OFF)
        continue;
      if (cov[i].mode == VNM_LATENCY_MODE_FULL)
        set = vnm_latency_monitor_get (m, vm->d->uuid, NULL);
      for (guint dir = 0; dir < 2; dir++)
        {
          if (set && !(dir == VNM_LAT_TX ? set->tx : set->rx))
            continue;
          for (guint stage = 0; stage < VNM_STAGE_COUNT; stage++)
            {
              guint64 count;

              if (dir == VNM_LAT_TX && stage == VNM_STAGE_XMIT_GUEST)
                continue;
              /* Sampled VMs (every VM, by default) export the end-to-end
               * time only: a fourth of the series and of the kernel reads;
               * virtnetmon latency has their stages. */
              if (cov[i].mode == VNM_LATENCY_MODE_SAMPLED && stage != VNM_STAGE_TOTAL)
                continue;
              if (!vnm_latency_monitor_hist (m, vm->d, NULL, dir, stage, h) || !h->count)
                continue;
              count = vnm_lat_hist_cumulative (h, cumulative);
              g_string_assign (l, vm->labels->str);
              vnm_prom_label (l, "direction", dir_names[dir]);
              vnm_prom_label (l, "stage", stage_names[stage]);
              vnm_prom_histogram (out, hist, l->str, vnm_lat_prom_le (), cumulative,
                                  VNM_LAT_PROM_BOUNDS, h->sum_ns / 1e9, count);
            }
        }
    }

  drops = vnm_latency_monitor_drops (m, NULL);
  vnm_prom_family (out, "virtnetmon_drops_total", "counter",
                   "Packets of the VM the kernel freed as dropped (skb:kfree_skb), by interface, "
                   "direction (tx: sent by the VM, rx: sent to it) and the kernel's drop reason "
                   "(without SKB_DROP_REASON_; its number when the kernel names none).");
  for (guint i = 0; i < drops->len; i++)
    {
      const VnmLatencyDrop *x = g_ptr_array_index (drops, i);
      const VnmDomain *d = vnm_registry_lookup_uuid (registry, x->vm_uuid);
      g_autofree gchar *id = d && d->id >= 0 ? g_strdup_printf ("%d", d->id) : g_strdup ("");
      g_autofree gchar *code = g_strdup_printf ("%u", x->reason);

      if (!d)
        continue;
      g_string_truncate (l, 0);
      vnm_prom_label (l, "iface", x->iface);
      append_vm_labels (l, d->name, d->uuid, id);
      vnm_prom_label (l, "direction", dir_names[x->dir & 1]);
      vnm_prom_label (l, "reason", x->reason_name ? x->reason_name : code);
      vnm_prom_sample_u64 (out, "virtnetmon_drops_total", l->str, NULL, x->count);
    }

  vnm_latency_monitor_counters (m, &c);
  vnm_prom_family (out, "virtnetmon_latency_events_total", "counter",
                   "Slow-packet events the kernel sent (packets of VMs traced in full at or above "
                   "their threshold, while a client listens).");
  vnm_prom_sample_u64 (out, "virtnetmon_latency_events_total", NULL, NULL, c.sent);
  vnm_prom_family (out, "virtnetmon_latency_events_lost_total", "counter",
                   "Slow-packet events lost: cause ring, the kernel's ring buffer was full; rate, over "
                   "the rate limit (--latency-events-rate).");
  vnm_prom_sample_u64 (out, "virtnetmon_latency_events_lost_total", NULL, "cause=\"ring\"", c.lost_kernel);
  vnm_prom_sample_u64 (out, "virtnetmon_latency_events_lost_total", NULL, "cause=\"rate\"", c.lost_rate);
  vnm_prom_family (out, "virtnetmon_latency_unmeasured_packets_total", "counter",
                   "Traced packets whose path was not measured: cause stale, seen again after 10 s or "
                   "with another data buffer; replaced, their slot in the in-flight table went to "
                   "another packet.");
  vnm_prom_sample_u64 (out, "virtnetmon_latency_unmeasured_packets_total", NULL, "cause=\"stale\"",
                       c.stale_paths);
  vnm_prom_sample_u64 (out, "virtnetmon_latency_unmeasured_packets_total", NULL, "cause=\"replaced\"",
                       c.replaced_paths);
  if (vnm_latency_monitor_sampling (m, &sampling))
    {
      vnm_prom_family (out, "virtnetmon_latency_sampling_windows_total", "counter",
                       "Sampling windows: result opened, the programs attached; refused, the kernel "
                       "refused them.");
      vnm_prom_sample_u64 (out, "virtnetmon_latency_sampling_windows_total", NULL, "result=\"opened\"",
                           sampling.windows - MIN (sampling.failed_windows, sampling.windows));
      vnm_prom_sample_u64 (out, "virtnetmon_latency_sampling_windows_total", NULL, "result=\"refused\"",
                           sampling.failed_windows);
    }
}

/* Each VM's flows by protocol class: bytes and packets by direction, flows
 * by who opened them. A class appears with its first flow. */
static void
vm_flow_metrics (GString *out, VnmEngine *engine, GArray *vms)
{
  static const gchar *const initiators[3] = { "unknown", "vm", "remote" };  /* VNM_OPENER_* */
  static const struct {
    const gchar *name, *type, *help;
  } fam[] = {
    { "virtnetmon_vm_flow_bytes_total", "counter",
      "L4 payload bytes of the VM's flows by protocol (tcp, udp, icmp, other) and direction (tx: sent by "
      "the VM, rx: sent to it); TCP counts new bytes only. Ended and evicted flows keep counting." },
    { "virtnetmon_vm_flow_packets_total", "counter",
      "Packets of the VM's flows by protocol and direction (tx: sent by the VM)." },
    { "virtnetmon_vm_flows_active", "gauge",
      "The VM's flows going on now (in the kernel table; for TCP, neither closed nor reset), by "
      "protocol and initiator (vm, remote, unknown: running before the probe attached)." },
    { "virtnetmon_vm_flows_created_total", "counter",
      "Flows of the VM virtnetmond saw start, by protocol and initiator (a flow that starts and is "
      "evicted between two reads counts only in virtnetmon_flows_created_total)." },
    { "virtnetmon_vm_flows_evicted_total", "counter",
      "Flows of the VM ended by the full kernel table or the VM's flow table size, by protocol and "
      "initiator (their counts stay in the totals)." },
  };
  g_autoptr(GHashTable) totals = vnm_flow_monitor_class_totals (vnm_engine_get_flow_monitor (engine));
  g_autoptr(GString) extra = g_string_new (NULL);

  for (guint f = 0; f < G_N_ELEMENTS (fam); f++)
    {
      vnm_prom_family (out, fam[f].name, fam[f].type, fam[f].help);
      for (guint i = 0; i < vms->len; i++)
        {
          const Vm *vm = &g_array_index (vms, Vm, i);
          const VnmFlowClassTotals *t = g_hash_table_lookup (totals, vm->d->uuid);

          for (guint c = 0; t && c < VNM_FLOW_CLASSES; c++)
            {
              guint64 seen = t->started[c][0] + t->started[c][1] + t->started[c][2];

              for (guint k = 0; seen && k < (f < 2 ? 2 : 3); k++)
                {
                  guint64 v;

                  if (f >= 2 && !t->started[c][k])
                    continue;
                  g_string_truncate (extra, 0);
                  vnm_prom_label (extra, "proto", vnm_flow_class_name (c));
                  vnm_prom_label (extra, f < 2 ? "direction" : "initiator",
                                  f < 2 ? dir_names[k] : initiators[k]);
                  v = f == 0 ? t->bytes[c][k] : f == 1 ? t->packets[c][k] : f == 2 ? t->active[c][k]
                      : f == 3 ? t->started[c][k] : t->evicted[c][k];
                  vnm_prom_sample_u64 (out, fam[f].name, vm->labels->str, extra->str, v);
                }
            }
        }
    }
}

/* At most this many series of virtnetmon_vm_address_info a VM: its most
 * recently seen addresses. */
#define ADDRESS_INFO_MAX_PER_VM 32

static gint
by_last_seen_desc (gconstpointer pa, gconstpointer pb)
{
  const VnmAddress *a = *(VnmAddress *const *) pa, *b = *(VnmAddress *const *) pb;
  return a->last_seen_us < b->last_seen_us ? 1 : a->last_seen_us > b->last_seen_us ? -1 : 0;
}

static void
address_metrics (GString *out, VnmEngine *engine, GArray *vms)
{
  VnmAddressBook *book = vnm_engine_get_address_book (engine);
  g_autoptr(GString) extra = g_string_new (NULL);
  /* Every address once, by VM: not the whole book once a VM. */
  g_autoptr(GPtrArray) all = vnm_address_book_list (book, NULL);
  g_autoptr(GHashTable) by_vm = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                       (GDestroyNotify) g_ptr_array_unref);

  for (guint j = 0; j < all->len; j++)
    {
      const VnmAddress *a = g_ptr_array_index (all, j);
      GPtrArray *list = g_hash_table_lookup (by_vm, a->vm_uuid);

      if (!list)
        g_hash_table_insert (by_vm, a->vm_uuid, list = g_ptr_array_new ());
      g_ptr_array_add (list, (gpointer) a);
    }
  vnm_prom_family (out, "virtnetmon_vm_address_info", "gauge",
                   "An address of a VM's interface (iface: the host netdev), by family (ipv4, ipv6) "
                   "and source (learned: seen by the flow probe; lease: a DHCP lease of a libvirt "
                   "network; arp: the host's ARP table; agent: the guest agent); always 1. At most "
                   "32 a VM, the most recently seen.");
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      GPtrArray *list = g_hash_table_lookup (by_vm, vm->d->uuid);

      if (!list)
        continue;
      g_ptr_array_sort (list, by_last_seen_desc);
      for (guint j = 0; j < list->len && j < ADDRESS_INFO_MAX_PER_VM; j++)
        {
          const VnmAddress *a = g_ptr_array_index (list, j);
          gchar text[48];

          vnm_addr_to_string (a->family, a->addr, text, sizeof text);
          g_string_truncate (extra, 0);
          vnm_prom_label (extra, "iface", a->iface);
          vnm_prom_label (extra, "address", text);
          vnm_prom_label (extra, "family", a->family == 4 ? "ipv4" : "ipv6");
          vnm_prom_label (extra, "source", vnm_addr_source_name (a->source));
          vnm_prom_sample_u64 (out, "virtnetmon_vm_address_info", vm->labels->str, extra->str, 1);
        }
    }
  vnm_prom_family (out, "virtnetmon_address_book_addresses", "gauge",
                   "Addresses of VMs virtnetmond keeps now (all sources).");
  vnm_prom_sample_u64 (out, "virtnetmon_address_book_addresses", NULL, NULL, vnm_address_book_size (book));
  vnm_prom_family (out, "virtnetmon_address_book_overflow_total", "counter",
                   "Addresses of VMs refused for want of room in the address book.");
  vnm_prom_sample_u64 (out, "virtnetmon_address_book_overflow_total", NULL, NULL,
                       vnm_address_book_overflow (book));
  {
    VnmDnsNames *dns = vnm_engine_dns_names (engine);
    guint64 answers, refused, unasked, lost;

    vnm_engine_dns_counts (engine, &answers, &refused, &unasked, &lost);
    vnm_prom_family (out, "virtnetmon_dns_names", "gauge",
                     "Names the VMs looked up (DNS answers sent to them) that virtnetmond keeps "
                     "now, to name the remotes of their flows.");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_names", NULL, NULL, vnm_dns_names_count (dns));
    vnm_prom_family (out, "virtnetmon_dns_names_overflow_total", "counter",
                     "Names VMs looked up not kept for want of room.");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_names_overflow_total", NULL, NULL,
                         vnm_dns_names_overflow (dns));
    vnm_prom_family (out, "virtnetmon_dns_answers_total", "counter",
                     "DNS answers sent to VMs that named addresses.");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_answers_total", NULL, NULL, answers);
    vnm_prom_family (out, "virtnetmon_dns_refused_total", "counter",
                     "Messages to VMs from UDP port 53 that were no usable DNS answer.");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_refused_total", NULL, NULL, refused);
    vnm_prom_family (out, "virtnetmon_dns_unasked_total", "counter",
                     "Messages to VMs from UDP port 53 on a flow the VM had sent nothing on "
                     "(no answer to its query): ignored.");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_unasked_total", NULL, NULL, unasked);
    vnm_prom_family (out, "virtnetmon_dns_lost_total", "counter",
                     "DNS messages to VMs the flow probe could not pass on (ring buffer full).");
    vnm_prom_sample_u64 (out, "virtnetmon_dns_lost_total", NULL, NULL, lost);
  }
}

typedef struct {
  VnmPeerNames *names;
  GHashTable *by_vm;       /* uuid -> GPtrArray of const VnmFlowRecord* (unicast) */
} PeerGather;

static void
gather_unicast (const VnmFlowRecord *rec, const gchar *domain_uuid, const gchar *domain_name,
                gpointer user_data)
{
  PeerGather *g = user_data;
  GPtrArray *list;

  if (!domain_uuid || !*domain_uuid || !vnm_peer_names_is_unicast_flow (g->names, &rec->key))
    return;
  if (!(list = g_hash_table_lookup (g->by_vm, domain_uuid)))
    g_hash_table_insert (g->by_vm, g_strdup (domain_uuid), list = g_ptr_array_new ());
  g_ptr_array_add (list, (gpointer) rec);
}

/* Each VM's remote peers with the most bytes, at most @max: the edges of
 * a fleet's topology (docs/fleet.md joins remote_ip with the other
 * hosts' virtnetmon_vm_address_info). Only unicast peers; the flows
 * virtnetmond holds now (active and ended ones kept as summaries). */
static void
peer_metrics (GString *out, VnmEngine *engine, GArray *vms, guint max)
{
  g_autoptr(VnmPeerNames) names = vnm_engine_peer_names (engine);
  g_autoptr(GHashTable) by_vm = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) g_ptr_array_unref);
  g_autoptr(GString) extra = g_string_new (NULL);
  g_autoptr(GArray) counts = g_array_sized_new (FALSE, TRUE, sizeof (guint), vms->len);
  PeerGather g = { names, by_vm };
  const VnmFlowQuery q = { .by = VNM_FLOW_BY_REMOTE, .direction = -1, .proto = -1,
                           .sort = VNM_FLOW_SORT_BYTES, .top = 0 };

  vnm_flow_monitor_foreach_record (vnm_engine_get_flow_monitor (engine), gather_unicast, &g);
  vnm_prom_family (out, "virtnetmon_vm_peer_bytes_total", "counter",
                   "L4 payload bytes between a VM and one remote peer (remote_ip) by direction "
                   "(tx: sent by the VM); remote_kind vm (another VM of this host, named by remote_name), "
                   "host or remote. Only the VM's peers with most bytes (--metrics-peers), over the "
                   "flows virtnetmond holds: a peer's count starts again once all its flows aged out.");
  g_array_set_size (counts, vms->len);
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      GPtrArray *recs = g_hash_table_lookup (by_vm, vm->d->uuid);
      g_autoptr(GArray) rows = NULL;

      if (!recs)
        continue;
      rows = vnm_flow_aggregate (recs, &q);
      g_array_index (counts, guint, i) = rows->len;
      for (guint j = 0; j < rows->len && j < max; j++)
        {
          const VnmFlowRow *row = &g_array_index (rows, VnmFlowRow, j);
          VnmPeer peer, *p = NULL;
          guint8 family, addr[16];

          /* What the row's remote is: its address back in key form. */
          if (vnm_addr_parse (row->remote_ip, &family, addr))
            {
              vnm_peer_names_classify (names, family, addr, &peer);
              p = &peer;
            }

          for (guint dir = 0; dir < 2; dir++)
            {
              g_string_truncate (extra, 0);
              vnm_prom_label (extra, "direction", dir == 0 ? "tx" : "rx");
              vnm_prom_label (extra, "remote_ip", row->remote_ip);
              vnm_prom_label (extra, "remote_kind", p ? vnm_peer_kind_name (p->kind) : "remote");
              vnm_prom_label (extra, "remote_name", p && p->name ? p->name : "");
              vnm_prom_sample_u64 (out, "virtnetmon_vm_peer_bytes_total", vm->labels->str, extra->str,
                                   dir == 0 ? row->tx_bytes : row->rx_bytes);
            }
        }
    }
  vnm_prom_family (out, "virtnetmon_vm_peers", "gauge",
                   "Unicast remote peers of the VM's flows virtnetmond holds now, all of them "
                   "(virtnetmon_vm_peer_bytes_total has the first --metrics-peers).");
  for (guint i = 0; i < vms->len; i++)
    if (g_hash_table_contains (by_vm, g_array_index (vms, Vm, i).d->uuid))
      vnm_prom_sample_u64 (out, "virtnetmon_vm_peers", g_array_index (vms, Vm, i).labels->str, NULL,
                           g_array_index (counts, guint, i));
}

#define VNM_METRICS_SERVICES 32

static void
count_states (const VnmFlowRecord *rec, const gchar *uuid, const gchar *name, gpointer user_data)
{
  GHashTable *per_vm = user_data;
  VnmConnStates *c;

  /* Only a TCP flow has a state (vnm_conn_state_of): the rest are skipped
   * before the lookup. */
  if (!*uuid || rec->ended || vnm_conn_state_of (rec) < 0)
    return;
  if (!(c = g_hash_table_lookup (per_vm, uuid)))
    g_hash_table_insert (per_vm, g_strdup (uuid), (c = g_new0 (VnmConnStates, 1)));
  vnm_conn_states_add (c, rec);
}

/* Each VM's TCP connections by state, handshake failures, and the
 * services it exposes (bounded: see VNM_METRICS_SERVICES). */
static void
vm_conn_metrics (GString *out, VnmEngine *engine, GArray *vms, GArray *entries)
{
  static const gchar *const initiators[3] = { "unknown", "vm", "remote" };  /* VNM_OPENER_* */
  g_autoptr(GHashTable) states = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) failures = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  VnmServiceTable *services = vnm_engine_get_services (engine);
  g_autoptr(GString) extra = g_string_new (NULL);

  vnm_flow_monitor_foreach_record (vnm_engine_get_flow_monitor (engine), count_states, states);
  for (guint i = 0; i < entries->len; i++)
    {
      const Entry *e = &g_array_index (entries, Entry, i);
      guint64 *f;

      if (!e->probe.attached || !e->owner.domain)
        continue;
      if (!(f = g_hash_table_lookup (failures, e->owner.vm_uuid)))
        g_hash_table_insert (failures, (gpointer) e->owner.vm_uuid, (f = g_new0 (guint64, 4)));
      for (guint d = 0; d < 2; d++)
        {
          f[d] += e->probe.totals.handshake_refused[d];
          f[2 + d] += e->probe.totals.handshake_timeouts[d];
        }
    }

  vnm_prom_family (out, "virtnetmon_vm_tcp_connections", "gauge",
                   "The VM's TCP connections in the kernel flow table now, by state as their packets "
                   "passed the host (syn_sent, syn_received: half-open; established; closing: FIN one "
                   "way; closed; reset) and initiator (vm, remote, unknown: running before the probe).");
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      const VnmConnStates *c = g_hash_table_lookup (states, vm->d->uuid);
      VnmConnStates zero = { 0 };

      if (!c && !g_hash_table_contains (failures, vm->d->uuid))
        continue;   /* not probed */
      for (guint o = 0; o < 3; o++)
        for (guint st = 0; st < VNM_CONN_STATES; st++)
          {
            /* unknown only while such connections exist */
            if (o == VNM_OPENER_UNKNOWN &&
                !(c && (c->count[o][0] | c->count[o][1] | c->count[o][2] | c->count[o][3] |
                        c->count[o][4] | c->count[o][5])))
              break;
            g_string_truncate (extra, 0);
            vnm_prom_label (extra, "state", vnm_conn_state_name (st));
            vnm_prom_label (extra, "initiator", initiators[o]);
            vnm_prom_sample_u64 (out, "virtnetmon_vm_tcp_connections", vm->labels->str, extra->str,
                                 (c ? c : &zero)->count[o][st]);
          }
    }

  vnm_prom_family (out, "virtnetmon_vm_tcp_handshake_failures_total", "counter",
                   "The VM's failed TCP handshakes since the probe attached to its devices, by reason "
                   "(refused: a RST answered the SYN; timed_out: the SYN was sent again with no "
                   "answer) and initiator (vm: the VM's SYN; remote: a SYN to the VM).");
  for (guint i = 0; i < vms->len; i++)
    {
      const Vm *vm = &g_array_index (vms, Vm, i);
      const guint64 *f = g_hash_table_lookup (failures, vm->d->uuid);

      for (guint k = 0; f && k < 4; k++)
        {
          g_string_truncate (extra, 0);
          vnm_prom_label (extra, "reason", k < 2 ? "refused" : "timed_out");
          vnm_prom_label (extra, "initiator", (k & 1) == VNM_DIR_OUT ? "vm" : "remote");
          vnm_prom_sample_u64 (out, "virtnetmon_vm_tcp_handshake_failures_total", vm->labels->str,
                               extra->str, f[k]);
        }
    }

  /* Samples of a family follow its header: one pass a family. */
  for (guint f = 0; f < 4; f++)
    {
      static const struct {
        const gchar *name, *type, *help;
      } fam[] = {
        { "virtnetmon_vm_services", "gauge",
          "Services the VM exposes (TCP ports on which it accepted a connection, UDP ports on which it "
          "answered), by protocol." },
        { "virtnetmon_vm_service_connections_total", "counter",
          "Connections to a service of the VM (TCP accepted, UDP flows answered), for its first 32 "
          "services by protocol and port; the others are in virtnetmon_vm_services_unlisted." },
        { "virtnetmon_vm_services_unlisted", "gauge",
          "Services of the VM without a virtnetmon_vm_service_connections_total series." },
        { "virtnetmon_vm_service_flows_untracked_total", "counter",
          "Flows to ports of the VM beyond the services kept per VM (GetServices' services_max)." },
      };

      vnm_prom_family (out, fam[f].name, fam[f].type, fam[f].help);
      for (guint i = 0; i < vms->len; i++)
        {
          const Vm *vm = &g_array_index (vms, Vm, i);
          g_autoptr(GPtrArray) list = vnm_service_table_list (services, vm->d->uuid);
          guint per_proto[2] = { 0, 0 };

          if (!list->len)
            continue;
          for (guint k = 0; k < list->len; k++)
            {
              const VnmService *sv = g_ptr_array_index (list, k);
              g_autofree gchar *port = g_strdup_printf ("%u", sv->port);

              per_proto[g_str_equal (vnm_service_proto_name (sv), "udp")]++;
              if (f != 1 || k >= VNM_METRICS_SERVICES)
                continue;
              g_string_truncate (extra, 0);
              vnm_prom_label (extra, "proto", vnm_service_proto_name (sv));
              vnm_prom_label (extra, "port", port);
              vnm_prom_sample_u64 (out, fam[f].name, vm->labels->str, extra->str, sv->connections);
            }
          for (guint p = 0; f == 0 && p < 2; p++)
            {
              g_string_truncate (extra, 0);
              vnm_prom_label (extra, "proto", p ? "udp" : "tcp");
              vnm_prom_sample_u64 (out, fam[f].name, vm->labels->str, extra->str, per_proto[p]);
            }
          if (f == 2)
            vnm_prom_sample_u64 (out, fam[f].name, vm->labels->str, NULL,
                                 list->len > VNM_METRICS_SERVICES ? list->len - VNM_METRICS_SERVICES : 0);
          if (f == 3)
            vnm_prom_sample_u64 (out, fam[f].name, vm->labels->str, NULL,
                                 vnm_service_table_untracked (services, vm->d->uuid));
        }
    }
}

static void
usage_metrics (GString *out, VnmEngine *engine)
{
  VnmUsageStore *store = vnm_engine_get_usage_store (engine);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  GHashTable *totals = vnm_usage_store_month_totals (store, now);
  g_autoptr(GList) rows = g_hash_table_get_values (totals);
  g_autoptr(GPtrArray) domains = vnm_registry_list (vnm_engine_get_registry (engine));
  VnmUsageStatus st;

  vnm_prom_family (out, "virtnetmon_usage_bytes", "gauge",
                   "Bytes a VM received (direction rx, into the VM) and sent (tx) this month (UTC), "
                   "kept across restarts and reboots; it starts again at 0 each month.");
  for (GList *l = rows; l; l = l->next)
    {
      const VnmUsageRow *r = l->data;
      const VnmDomain *d = vnm_registry_lookup_uuid (vnm_engine_get_registry (engine), r->vm_uuid);
      g_autofree gchar *id = d && d->id >= 0 ? g_strdup_printf ("%d", d->id) : g_strdup ("");
      g_autoptr(GString) labels = g_string_new (NULL);

      append_vm_labels (labels, d ? d->name : r->vm_name, r->vm_uuid, id);

      vnm_prom_sample_u64 (out, "virtnetmon_usage_bytes", labels->str,
                           "direction=\"rx\",period=\"month\"", r->usage.rx_bytes);
      vnm_prom_sample_u64 (out, "virtnetmon_usage_bytes", labels->str,
                           "direction=\"tx\",period=\"month\"", r->usage.tx_bytes);
    }
  vnm_prom_family (out, "virtnetmon_usage_quota_bytes", "gauge",
                   "A running VM's monthly quota of bytes received and sent (its usage_quota_bytes "
                   "setting); VMs without a quota have no sample.");
  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      g_autofree gchar *id = d->id >= 0 ? g_strdup_printf ("%d", d->id) : g_strdup ("");
      g_autoptr(GString) labels = g_string_new (NULL);
      VnmDomainSettings eff;

      append_vm_labels (labels, d->name, d->uuid, id);

      vnm_domain_effective_settings (d, vnm_engine_get_defaults (engine), &eff);
      if (eff.usage_quota_bytes > 0)
        vnm_prom_sample_u64 (out, "virtnetmon_usage_quota_bytes", labels->str, NULL,
                             (guint64) eff.usage_quota_bytes);
    }
  vnm_usage_store_status (store, &st);
  vnm_prom_family (out, "virtnetmon_usage_store_up", "gauge",
                   "1 when the last open or write of the usage database succeeded, 0 when it failed "
                   "(virtnetmon status says why; totals wait in memory); 1 when kept in memory only.");
  vnm_prom_sample_u64 (out, "virtnetmon_usage_store_up", NULL, NULL, st.available);
}

static gboolean
read_proc_stat (guint64 *ticks, guint64 *start_ticks, guint64 *vsize, guint64 *rss_pages)
{
  g_autofree gchar *text = NULL;
  g_auto(GStrv) f = NULL;
  const gchar *p;

  if (!g_file_get_contents ("/proc/self/stat", &text, NULL, NULL) || !(p = strrchr (text, ')')))
    return FALSE;
  /* Fields after "(comm)": 3 state ... 14 utime 15 stime ... 22 starttime
   * 23 vsize 24 rss; f[0] is field 3. */
  f = g_strsplit (p + 2, " ", 0);
  if (g_strv_length (f) < 22)
    return FALSE;
  *ticks = g_ascii_strtoull (f[11], NULL, 10) + g_ascii_strtoull (f[12], NULL, 10);
  *start_ticks = g_ascii_strtoull (f[19], NULL, 10);
  *vsize = g_ascii_strtoull (f[20], NULL, 10);
  *rss_pages = g_ascii_strtoull (f[21], NULL, 10);
  return TRUE;
}

static guint64
boot_time_s (void)
{
  g_autofree gchar *text = NULL;
  const gchar *p;

  if (!g_file_get_contents ("/proc/stat", &text, NULL, NULL) || !(p = strstr (text, "\nbtime ")))
    return 0;
  return g_ascii_strtoull (p + 7, NULL, 10);
}

static void
process_metrics (GString *out)
{
  guint64 ticks, start_ticks, vsize, rss_pages;
  gdouble hz = (gdouble) sysconf (_SC_CLK_TCK);
  g_autoptr(GDir) fds = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n_fds = 0;

  if (read_proc_stat (&ticks, &start_ticks, &vsize, &rss_pages))
    {
      vnm_prom_family (out, "process_cpu_seconds_total", "counter",
                       "User and system CPU time virtnetmond spent, in seconds.");
      vnm_prom_sample_double (out, "process_cpu_seconds_total", NULL, NULL, ticks / hz);
      vnm_prom_family (out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
      vnm_prom_sample_u64 (out, "process_resident_memory_bytes", NULL, NULL,
                           rss_pages * (guint64) sysconf (_SC_PAGESIZE));
      vnm_prom_family (out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
      vnm_prom_sample_u64 (out, "process_virtual_memory_bytes", NULL, NULL, vsize);
      vnm_prom_family (out, "process_start_time_seconds", "gauge",
                       "Start time of the process since the Unix epoch, in seconds.");
      vnm_prom_sample_double (out, "process_start_time_seconds", NULL, NULL,
                              boot_time_s () + start_ticks / hz);
    }
  if (fds)
    {
      while (g_dir_read_name (fds))
        n_fds++;
      vnm_prom_family (out, "process_open_fds", "gauge", "Open file descriptors.");
      /* Less the one reading the directory. */
      vnm_prom_sample_u64 (out, "process_open_fds", NULL, NULL, n_fds ? n_fds - 1 : 0);
    }
}

static void
daemon_metrics (GString *out, VnmEngine *engine)
{
  g_autoptr(GString) l = g_string_new (NULL);

  vnm_prom_label (l, "version", PACKAGE_VERSION);
  vnm_prom_family (out, "virtnetmon_build_info", "gauge", "Always 1: the running virtnetmond's version.");
  vnm_prom_sample_u64 (out, "virtnetmon_build_info", l->str, NULL, 1);

  g_string_truncate (l, 0);
  vnm_prom_label (l, "uri", vnm_engine_get_libvirt_uri (engine) ? vnm_engine_get_libvirt_uri (engine) : "");
  vnm_prom_family (out, "virtnetmon_libvirt_connected", "gauge",
                   "1 while virtnetmond is connected to libvirt (uri), 0 while it reconnects.");
  vnm_prom_sample_u64 (out, "virtnetmon_libvirt_connected", l->str, NULL,
                       vnm_engine_get_libvirt_connected (engine));

  vnm_prom_family (out, "virtnetmon_flow_probe_available", "gauge",
                   "1 when the flow probe is loaded and can attach, 0 when the kernel refused it "
                   "or it is switched off.");
  vnm_prom_sample_u64 (out, "virtnetmon_flow_probe_available", NULL, NULL,
                       vnm_flow_monitor_available (vnm_engine_get_flow_monitor (engine)));
  vnm_prom_family (out, "virtnetmon_flow_summaries_dropped_total", "counter",
                   "Summaries of ended flows dropped because too many were kept.");
  vnm_prom_sample_u64 (out, "virtnetmon_flow_summaries_dropped_total", NULL, NULL,
                       vnm_flow_monitor_summaries_dropped (vnm_engine_get_flow_monitor (engine)));
  vnm_prom_family (out, "virtnetmon_history_memory_bytes", "gauge",
                   "Memory the rate history of every interface and VM takes, in bytes.");
  vnm_prom_sample_u64 (out, "virtnetmon_history_memory_bytes", NULL, NULL,
                       vnm_history_memory (vnm_engine_get_history (engine)));
  vnm_prom_family (out, "virtnetmon_sample_interval_seconds", "gauge",
                   "How often virtnetmond reads the interface counters.");
  vnm_prom_sample_double (out, "virtnetmon_sample_interval_seconds", NULL, NULL, vnm_engine_get_interval (engine));
  process_metrics (out);
}

static void
ipfix_metrics (GString *out, VnmIpfixExporter *ipfix)
{
  static const struct {
    const gchar *name, *help;
    gsize offset;
  } counters[] = {
    { "virtnetmon_ipfix_messages_total", "IPFIX messages sent to the collector.",
      G_STRUCT_OFFSET (VnmIpfixStats, messages_sent) },
    { "virtnetmon_ipfix_records_total", "IPFIX flow records (data records) sent to the collector.",
      G_STRUCT_OFFSET (VnmIpfixStats, records_sent) },
    { "virtnetmon_ipfix_sent_bytes_total", "Bytes of IPFIX messages sent to the collector.",
      G_STRUCT_OFFSET (VnmIpfixStats, bytes_sent) },
    { "virtnetmon_ipfix_messages_dropped_total",
      "IPFIX messages that could not be sent (no connection, refused, send buffer full).",
      G_STRUCT_OFFSET (VnmIpfixStats, messages_dropped) },
    { "virtnetmon_ipfix_records_dropped_total", "IPFIX flow records in messages that could not be sent.",
      G_STRUCT_OFFSET (VnmIpfixStats, records_dropped) },
    { "virtnetmon_ipfix_template_sends_total", "IPFIX messages that carried the templates.",
      G_STRUCT_OFFSET (VnmIpfixStats, template_sends) },
    { "virtnetmon_ipfix_connections_total", "Sessions opened with the IPFIX collector.",
      G_STRUCT_OFFSET (VnmIpfixStats, connections) },
  };
  g_autoptr(GString) l = g_string_new (NULL);
  VnmIpfixStats s;

  if (!ipfix)
    return;
  vnm_ipfix_exporter_stats (ipfix, &s);
  vnm_prom_label (l, "collector", s.collector);
  vnm_prom_label (l, "transport", s.transport);
  vnm_prom_family (out, "virtnetmon_ipfix_connected", "gauge",
                   "1 while the IPFIX collector takes the messages (TCP: a session is up; UDP: the "
                   "last message went out without an error), 0 otherwise.");
  vnm_prom_sample_u64 (out, "virtnetmon_ipfix_connected", l->str, NULL, s.connected);
  for (guint i = 0; i < G_N_ELEMENTS (counters); i++)
    {
      vnm_prom_family (out, counters[i].name, "counter", counters[i].help);
      vnm_prom_sample_u64 (out, counters[i].name, l->str, NULL,
                           G_STRUCT_MEMBER (guint64, &s, counters[i].offset));
    }
  vnm_prom_family (out, "virtnetmon_ipfix_flows_tracked", "gauge",
                   "Flows whose exported counts the IPFIX exporter remembers.");
  vnm_prom_sample_u64 (out, "virtnetmon_ipfix_flows_tracked", l->str, NULL, s.flows_tracked);
}

GString *
vnm_metrics_render (VnmEngine *engine, VnmIpfixExporter *ipfix, guint peers)
{
  VnmLinkTable *links = vnm_engine_get_link_table (engine);
  g_autoptr(GArray) entries = g_array_sized_new (FALSE, TRUE, sizeof (Entry),
                                                 vnm_link_table_size (links));
  g_autoptr(GHashTable) rtt = vnm_flow_monitor_active_rtt (vnm_engine_get_flow_monitor (engine));
  g_autoptr(GPtrArray) domains = NULL;
  g_autoptr(GArray) vms = NULL;
  GString *out = g_string_sized_new (4096 + vnm_link_table_size (links) * 2048);

  g_array_set_clear_func (entries, (GDestroyNotify) entry_clear);
  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      Entry e = { .link = link };
      VnmLinkView view;

      if (vnm_is_hidden_interface (link->name))
        continue;
      vnm_link_table_owner (links, link, &e.owner);
      vnm_link_table_view (links, link, e.owner.guest_view, &view);
      e.c = view.counters;
      e.labels = g_string_new (NULL);
      vnm_prom_label (e.labels, "iface", link->name);
      append_vm_labels (e.labels, e.owner.vm_name, e.owner.vm_uuid, e.owner.vm_id);
      vnm_flow_monitor_totals (vnm_engine_get_flow_monitor (engine), link->ifindex, &e.probe);
      e.rtt = g_hash_table_lookup (rtt, GINT_TO_POINTER (link->ifindex));
      g_array_append_val (entries, e);
    }

  domains = vnm_registry_list (vnm_engine_get_registry (engine));
  vms = list_vms (engine, domains);
  interface_metrics (out, entries);
  probe_metrics (out, entries);
  domain_metrics (out, engine, vms);
  vm_flow_metrics (out, engine, vms);
  address_metrics (out, engine, vms);
  peer_metrics (out, engine, vms, peers);
  vm_conn_metrics (out, engine, vms, entries);
  latency_metrics (out, engine, vms);
  usage_metrics (out, engine);
  daemon_metrics (out, engine);
  ipfix_metrics (out, ipfix);
  return out;
}
