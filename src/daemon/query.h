/* query.h: the records the D-Bus API returns (aa{sv} / a{sv}), built from
 * the registry, the link table and the sampler. No D-Bus here: the same
 * records serve every front end. */
#pragma once

#include <glib.h>

#include "daemon.h"

/* Whether ifstat hides @ifname unless asked: lo and Proxmox firewall
 * devices (fwbr*, fwpr*, fwln*, ... : fw*). */
gboolean vnm_is_hidden_interface (const gchar *ifname);

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
