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
