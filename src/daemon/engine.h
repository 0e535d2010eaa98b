/* engine.h: virtnetmond's one owner of state. The engine holds the registry
 * of domains, the link table (with its rates), the rate history, the flow
 * and latency monitors and the kernel's capabilities; it follows libvirt
 * (libvirt watch), QEMU processes (qemu scan) and the kernel's links
 * (linkstats), keeps the probes on the right devices, and says what changed
 * through signals. Transports (D-Bus, /metrics) subscribe to the signals and
 * read through the accessors; they never change state but through the
 * engine's operations.
 *
 * Signals (all on the main loop):
 *   domain-added, domain-changed, domain-removed (const VnmDomain *):
 *     removed is emitted just before the domain is freed;
 *   link-added, link-changed, link-removed (const VnmLink *, gboolean recreated);
 *   interval (): the counters were read and the rates updated;
 *   probes-changed (): the probes were brought in step with domains and links;
 *   libvirt-connection (gboolean connected);
 *   latency-events (GPtrArray *of VnmLatencyEvent, guint64 lost);
 *   usage-quota-exceeded (const VnmUsageQuotaEvent *): a running domain's
 *     rx + tx this UTC month passed its usage_quota_bytes setting; once a
 *     domain and month (remembered in the usage database), checked at each
 *     refresh. A plain record, so that an event system can take it up;
 *   service-appeared (const gchar *uuid, const gchar *name, const VnmService *):
 *     a VM accepted a TCP connection or answered UDP on a port not seen
 *     before (see service-table.h), noticed at the refresh after. */
#pragma once

#include <glib-object.h>

#include "address-book.h"
#include "flow-monitor.h"
#include "peer-names.h"
#include "history.h"
#include "kernel-caps.h"
#include "latency-monitor.h"
#include "link-table.h"
#include "options.h"
#include "registry.h"
#include "service-table.h"
#include "usage-recorder.h"
#include "usage-store.h"

#define VNM_TYPE_ENGINE (vnm_engine_get_type ())
G_DECLARE_FINAL_TYPE (VnmEngine, vnm_engine, VNM, ENGINE, GObject)

/* Reads the links and loads the probes as @options say (borrowed for the
 * call). Fails when the kernel's links cannot be read. */
VnmEngine *vnm_engine_new (const VnmOptions *options, GError **error);
/* Connects to libvirt (retrying in the background), scans for QEMU and
 * starts sampling. */
void vnm_engine_start (VnmEngine *engine);
/* Stops sampling and detaches every probe (pinned maps stay). */
void vnm_engine_stop (VnmEngine *engine);

VnmRegistry *vnm_engine_get_registry (VnmEngine *engine);
VnmLinkTable *vnm_engine_get_link_table (VnmEngine *engine);
VnmHistory *vnm_engine_get_history (VnmEngine *engine);
VnmFlowMonitor *vnm_engine_get_flow_monitor (VnmEngine *engine);
VnmLatencyMonitor *vnm_engine_get_latency_monitor (VnmEngine *engine);
/* The VMs' addresses: learned by the flow probe each interval, libvirt's
 * (leases, ARP every 10 s, the guest agent every 60 s); 30 minutes unseen
 * and they are dropped. */
VnmAddressBook *vnm_engine_get_address_book (VnmEngine *engine);
/* Why libvirt's @source gave no addresses of @uuid at its last query, or
 * NULL when it answered (or was not asked yet). */
const gchar *vnm_engine_address_error (VnmEngine *engine, const gchar *uuid, VnmAddrSource source);
/* What each address is (another VM, the host, broadcast, ...) now: a new
 * object from the address book and the host's interfaces. */
VnmPeerNames *vnm_engine_peer_names (VnmEngine *engine);
/* The services the VMs expose (never NULL). */
VnmServiceTable *vnm_engine_get_services (VnmEngine *engine);
/* The names VMs looked up (DNS answers sent to them), by address. */
VnmDnsNames *vnm_engine_dns_names (VnmEngine *engine);
/* DNS answers that named addresses, DNS messages to VMs that were no
 * usable answer, messages from port 53 on a flow the VM had sent nothing
 * on, and those the probe could not pass on. */
void vnm_engine_dns_counts (VnmEngine *engine, guint64 *answers, guint64 *refused, guint64 *unasked,
                            guint64 *lost);
/* The usage totals (never NULL; see usage-store.h for its state). */
VnmUsageStore *vnm_engine_get_usage_store (VnmEngine *engine);
gdouble vnm_engine_get_usage_flush_interval (VnmEngine *engine);
/* NULL with --no-bpf. */
const VnmKernelCaps *vnm_engine_get_kernel_caps (VnmEngine *engine);
const VnmDomainSettings *vnm_engine_get_defaults (VnmEngine *engine);
gdouble vnm_engine_get_interval (VnmEngine *engine);
const gchar *vnm_engine_get_libvirt_uri (VnmEngine *engine);
gboolean vnm_engine_get_libvirt_connected (VnmEngine *engine);

/* The libvirt hook: @def (taken) is starting, or has stopped; the registry,
 * the links and the probes are brought up to date before this returns, so
 * that QEMU finds the probes in place. */
void vnm_engine_domain_hook (VnmEngine *engine, gboolean starting, VnmDomainDef *def);
/* Whether @domain keeps settings in libvirt's <metadata>; FALSE with an
 * error that says why not. */
gboolean vnm_engine_can_store_settings (VnmEngine *engine, const VnmDomain *domain,
                                        GError **error);
/* Applies @change (see vnm_domain_settings_apply_change) to what libvirt has
 * in the domain's <metadata> now and writes it back; the domain changes
 * when libvirt's metadata event comes. */
gboolean vnm_engine_change_domain_settings (VnmEngine *engine, const gchar *uuid,
                                            const VnmDomainSettings *change, GError **error);
/* Switches latency tracing of @uuid (NULL: every domain, now and later) on
 * with @settings, or off (@settings NULL), for as long as the domain runs:
 * a command that overrides the domain's latency setting until the setting
 * itself is given a new value. */
gboolean vnm_engine_set_latency_tracing (VnmEngine *engine, const gchar *uuid,
                                         const VnmLatencySettings *settings, GError **error);
/* Where the latency tracing of @domain comes from now: "command"
 * (SetLatencyTracing for it), "all" (SetLatencyTracing for every domain),
 * "settings" (its <metadata>) or "default" (virtnetmond.conf). */
const gchar *vnm_engine_latency_source (VnmEngine *engine, const VnmDomain *domain);
/* Whether slow-packet events are wanted (someone listens). */
void vnm_engine_set_latency_listening (VnmEngine *engine, gboolean listening);

/* The history series of @target: a running domain's (name, id or uuid),
 * else a host interface's that has history; NULL when neither. */
gchar *vnm_engine_history_series (VnmEngine *engine, const gchar *target);
