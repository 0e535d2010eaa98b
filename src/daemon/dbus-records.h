/* dbus-records.h: the records the D-Bus API returns (aa{sv} / a{sv}), built from
 * the engine (its registry, link table and monitors). No D-Bus here: the same
 * records serve every front end. */
#pragma once

#include <glib.h>

#include "engine.h"
#include "ipfix-exporter.h"
#include "latency-monitor.h"

/* Whether ifstat hides @ifname unless asked: lo and Proxmox firewall
 * devices (fwbr*, fwpr*, fwln*, ... : fw*). */
gboolean vnm_is_hidden_interface (const gchar *ifname);

GVariant *vnm_record_domains (VnmEngine *engine);
GVariant *vnm_record_domain_record (VnmEngine *engine, const VnmDomain *domain);
/* A domain's title, description and Nova tenant (vm_title, vm_description,
 * nova_*), every key always present ("" when the XML has none). */
void vnm_record_add_domain_labels (GVariantBuilder *b, const VnmDomainLabels *labels);
GVariant *vnm_record_interfaces (VnmEngine *engine, const VnmDomain *domain);
/* Sums of the domain's interface rates and totals, guest's view. */
GVariant *vnm_record_domain_rates (VnmEngine *engine, const VnmDomain *domain);
/* @iface: netdev name, MAC or alias; "" for all. */
GVariant *vnm_record_interface_stats (VnmEngine *engine, const VnmDomain *domain,
                                     const gchar *iface, GError **error);
/* GetLinkStats: aa{sv}, one record per host link, sorted by @sort ("rx",
 * "tx"; "" is "tx"), at most @top (0: all), lo and fw* only with
 * @include_hidden, those whose name, VM name or VM id holds @filter. */
GVariant *vnm_record_link_stats (VnmEngine *engine, const gchar *sort, gboolean ascending,
                                guint top, gboolean include_hidden, const gchar *filter,
                                GError **error);
/* GetLinkStatsColumns: the same rows as (as columns, av values): the
 * names of @wanted (NULL or empty: every column, in the records' order)
 * and, for each, its values for all rows: numbers as an array of their
 * type, text as an ay of NUL-ended strings; record i of GetLinkStats is
 * { columns[j]: values[j][i] }. Fails naming an unknown or repeated
 * column. */
GVariant *vnm_record_link_columns (VnmEngine *engine, const gchar *sort, gboolean ascending,
                                  guint top, gboolean include_hidden, const gchar *filter,
                                  const gchar *const *wanted, GError **error);
/* The keys of GetLinkStats' records in their order (NULL-terminated,
 * static). */
const gchar *const *vnm_record_link_column_names (void);
GVariant *vnm_record_kernel_caps (const VnmKernelCaps *caps);

/* Flows of @domain aggregated per @options (a{sv}: by, direction, proto,
 * sort as s; top as u). */
GVariant *vnm_record_flows (VnmEngine *engine, const VnmDomain *domain, GVariant *options,
                           GError **error);
/* (aa{sv} nodes, aa{sv} edges) */
GVariant *vnm_record_topology (VnmEngine *engine);
/* One record per VM interface: which probe is attached, or why not. */
GVariant *vnm_record_probes (VnmEngine *engine);
GVariant *vnm_record_flow_table (VnmEngine *engine);
/* a{sv}: the Ipfix property: the exporter's settings and statistics, or
 * enabled false when @ipfix is NULL. */
GVariant *vnm_record_ipfix (VnmIpfixExporter *ipfix);
/* Adds the probe's exact totals of @ifindex to an interface record. */
void vnm_record_add_probe_totals (VnmEngine *engine, GVariantBuilder *row, gint ifindex);

/* A number given as q, u, t, i, x or d (not negative), at most @max. */
gboolean vnm_record_number (GVariant *v, guint64 max, guint64 *out);

/* a{sv}: the Domain1.Settings property of @domain. */
GVariant *vnm_record_domain_settings (VnmEngine *engine, const VnmDomain *domain);
/* SetDomainSettings' arguments -> @change (see
 * vnm_domain_settings_apply_change). Fails naming the unknown key, wrong
 * type or value out of range. */
gboolean vnm_record_settings_change (GVariant *settings, const gchar *const *unset,
                                    VnmDomainSettings *change, GError **error);

/* Latency tracing settings from SetLatencyTracing's a{sv} (direction,
 * proto, src_ip, dst_ip as s; src_port, dst_port as q, u or i;
 * threshold_us as u, t or d). */
gboolean vnm_record_latency_settings (GVariant *options, guint64 default_threshold_ns,
                                     VnmLatencySettings *out, GError **error);
/* (a{sv} state, aa{sv} stages) of @domain; @options: direction (s),
 * interface (s), buckets (b). */
GVariant *vnm_record_latency (VnmEngine *engine, const VnmDomain *domain, GVariant *options,
                             GError **error);
/* (aa{sv} addresses, aa{sv} sources) of @domain (GetAddresses); @options:
 * interface (s), source (s). */
GVariant *vnm_record_addresses (VnmEngine *engine, const VnmDomain *domain, GVariant *options,
                               GError **error);
/* a{sv}: the AddressBook property. */
GVariant *vnm_record_address_book (VnmEngine *engine);
/* (a{sv} summary, aa{sv} states, aa{sv} connections, aa{sv} failures):
 * GetConnections of @domain; @options: state (s). */
GVariant *vnm_record_connections (VnmEngine *engine, const VnmDomain *domain, GVariant *options,
                                  GError **error);
/* (a{sv} summary, aa{sv} services): GetServices of @domain. */
GVariant *vnm_record_services (VnmEngine *engine, const VnmDomain *domain, GError **error);
/* a{sv}: one exposed service. */
GVariant *vnm_record_service (const VnmService *s);
/* The probe totals of @uuid's probed devices, summed (handshake failures,
 * connections, flows created), and the entries their tables evicted. */
void vnm_record_domain_probe_totals (VnmEngine *engine, const gchar *uuid,
                                     struct vnm_iface_totals *sum, guint64 *evicted);
/* aa{sv}: drops of @domain by interface, direction and reason. */
GVariant *vnm_record_drops (VnmEngine *engine, const VnmDomain *domain, GError **error);
/* aa{sv}: slow packets (GPtrArray of VnmLatencyEvent*). */
GVariant *vnm_record_latency_events (GPtrArray *events);
/* aa{sv}: the usage of @vm_uuid (NULL: every VM) in the UTC month
 * starting at @month_start, as GetUsage returns it; @options: daily (b),
 * interfaces (b). */
GVariant *vnm_record_usage (VnmEngine *engine, const gchar *vm_uuid, gint64 month_start,
                           gboolean daily, gboolean interfaces, GError **error);
/* a{sv}: the UsageStore property. */
GVariant *vnm_record_usage_store (VnmEngine *engine);
/* a{sv}: the Latency property. */
GVariant *vnm_record_latency_status (VnmEngine *engine, guint subscribers);
