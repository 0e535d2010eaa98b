/* query.h: the records the D-Bus API returns (aa{sv} / a{sv}), built from
 * the registry, the link table and the sampler. No D-Bus here: the same
 * records serve every front end. */
#pragma once

#include <glib.h>

#include "daemon.h"
#include "latency-monitor.h"

/* Whether ifstat hides @ifname unless asked: lo and Proxmox firewall
 * devices (fwbr*, fwpr*, fwln*, ... : fw*). */
gboolean vnm_is_hidden_interface (const gchar *ifname);

/* Who owns a host netdev: the domain whose XML (or QEMU command line) names
 * it, or only a VM id from a Proxmox-style name (tap105i1), or nobody. */
typedef struct {
  const VnmDomain *domain;  /* NULL when no known domain owns it */
  const gchar *mapped_by;   /* VNM_MAPPED_BY_*, "" for nobody */
  const gchar *vm_name;     /* "" when unknown */
  const gchar *vm_uuid;     /* "" when unknown */
  gchar vm_id[16];          /* "" when none */
  gboolean guest_view;      /* a VM's device: rx/tx are swapped into the guest's view */
} VnmLinkOwner;

void vnm_query_link_owner (VnmDaemon *daemon, const VnmLink *link, VnmLinkOwner *out);
/* @link's counters and current rates in the guest's view or the host's. */
void vnm_query_link_counters (VnmDaemon *daemon, const VnmLink *link, gboolean guest_view,
                              VnmCounters *counters, VnmRates *rates);

GVariant *vnm_query_domains (VnmDaemon *daemon);
GVariant *vnm_query_domain_record (VnmDaemon *daemon, const VnmDomain *domain);
GVariant *vnm_query_interfaces (VnmDaemon *daemon, const VnmDomain *domain);
/* Sums of the domain's interface rates and totals, guest's view. */
GVariant *vnm_query_domain_rates (VnmDaemon *daemon, const VnmDomain *domain);
/* @iface: netdev name, MAC or alias; "" for all. */
GVariant *vnm_query_interface_stats (VnmDaemon *daemon, const VnmDomain *domain,
                                     const gchar *iface, GError **error);
GVariant *vnm_query_link_stats (VnmDaemon *daemon, const gchar *sort, gboolean ascending,
                                guint top, gboolean include_hidden, const gchar *filter,
                                GError **error);
GVariant *vnm_query_kernel_caps (const VnmKernelCaps *caps);

/* Flows of @domain aggregated per @options (a{sv}: by, direction, proto,
 * sort as s; top as u). */
GVariant *vnm_query_flows (VnmDaemon *daemon, const VnmDomain *domain, GVariant *options,
                           GError **error);
/* (aa{sv} nodes, aa{sv} edges) */
GVariant *vnm_query_topology (VnmDaemon *daemon);
/* One record per VM interface: which probe is attached, or why not. */
GVariant *vnm_query_probes (VnmDaemon *daemon);
GVariant *vnm_query_flow_table (VnmDaemon *daemon);
/* Adds the probe's exact totals of @ifindex to an interface record. */
void vnm_query_add_probe_totals (VnmDaemon *daemon, GVariantBuilder *row, gint ifindex);

/* A number given as q, u, t, i, x or d (not negative), at most @max. */
gboolean vnm_query_number (GVariant *v, guint64 max, guint64 *out);

/* a{sv}: the Domain1.Settings property of @domain. */
GVariant *vnm_query_domain_settings (VnmDaemon *daemon, const VnmDomain *domain);
/* SetDomainSettings' arguments -> @change: a field is -1 to keep it,
 * VNM_SETTING_UNSET to remove it, else its new value. Fails naming the
 * unknown key, wrong type or value out of range. */
#define VNM_SETTING_UNSET (-2)
gboolean vnm_query_settings_change (GVariant *settings, const gchar *const *unset,
                                    VnmDomainSettings *change, GError **error);
/* @current with @change applied. */
void vnm_domain_settings_apply_change (VnmDomainSettings *current,
                                       const VnmDomainSettings *change);

/* Latency tracing settings from SetLatencyTracing's a{sv} (direction,
 * proto, src_ip, dst_ip as s; src_port, dst_port as q, u or i;
 * threshold_us as u, t or d). */
gboolean vnm_query_latency_settings (GVariant *options, guint64 default_threshold_ns,
                                     VnmLatencySettings *out, GError **error);
/* (a{sv} state, aa{sv} stages) of @domain; @options: direction (s),
 * interface (s), buckets (b). */
GVariant *vnm_query_latency (VnmDaemon *daemon, const VnmDomain *domain, GVariant *options,
                             GError **error);
/* aa{sv}: drops of @domain by interface, direction and reason. */
GVariant *vnm_query_drops (VnmDaemon *daemon, const VnmDomain *domain, GError **error);
/* aa{sv}: slow packets (GPtrArray of VnmLatencyEvent*). */
GVariant *vnm_query_latency_events (GPtrArray *events);
/* a{sv}: the Latency property. */
GVariant *vnm_query_latency_status (VnmDaemon *daemon, guint subscribers);
