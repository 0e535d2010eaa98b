/* latency-monitor.h: which VMs' datapath latency is traced and how
 * (per-domain settings, or one setting for all), the probe's device table
 * kept in step with the registry and the links, histograms and drops per
 * VM, and the slow-packet stream with its rate limit. Glue between the
 * registry, the links and the latency probe; no outside library of its own. */
#pragma once

#include <glib.h>

#include "kernel-caps.h"
#include "latency-hist.h"
#include "latency-sampler.h"
#include "link-table.h"
#include "registry.h"

typedef struct _VnmLatencyMonitor VnmLatencyMonitor;

typedef struct {
  gboolean tx, rx;             /* directions traced */
  guint64 threshold_ns;        /* slow-packet events at or above */
  struct vnm_lat_filter filter;
} VnmLatencySettings;

/* One slow packet, ready for clients. */
typedef struct {
  struct vnm_lat_event ev;
  gdouble time_s;              /* seconds since the epoch */
  gchar *iface, *vm_name, *vm_uuid;
} VnmLatencyEvent;

/* Called with a batch (GPtrArray of VnmLatencyEvent*) at most every 100 ms
 * while listening, and the events lost so far (kernel ring full plus over
 * the rate limit). */
typedef void (*VnmLatencyEventsFunc) (GPtrArray *events, guint64 lost, gpointer user_data);

/* VM netdevs with latency histograms at once, by default (virtnetmond
 * --latency-devices): 66 KiB of kernel memory each, 8.4 MiB in all (see
 * vnm_latency_probe_new). */
#define VNM_LATENCY_HIST_DEVICES 128

typedef struct {
  guint paths;                 /* in-flight packet table entries */
  guint hist_devices;          /* VM netdevs traced at once (histogram blocks) */
  guint64 threshold_ns;        /* default threshold */
  guint max_events_per_s;      /* events passed on to clients, per second */
  gboolean raw_tp;             /* raw_tp programs even where tp_btf works */
  /* Sampled tracing of every monitored VM that is not traced in full:
   * the path programs attached for @sample_window_ms every
   * @sample_period_ms (virtnetmond --latency-sampling). */
  gboolean sampled;
  guint sample_window_ms, sample_period_ms;
  /* With both: the drop counters are pinned in @pin_dir and continue
   * across daemon restarts; @state_dir lists whose they are. */
  const gchar *pin_dir;
  const gchar *state_dir;
} VnmLatencyConfig;

/* Never fails: when the probe cannot run, says why and serves nothing. */
VnmLatencyMonitor *vnm_latency_monitor_new (VnmLinkTable *links, VnmRegistry *registry,
                                            const VnmKernelCaps *caps,
                                            const VnmLatencyConfig *config, gboolean disabled);
void vnm_latency_monitor_free (VnmLatencyMonitor *m);

gboolean vnm_latency_monitor_available (VnmLatencyMonitor *m);
/* The traced interfaces of @domain that have no histograms (every block in
 * use), each with why: a new table, iface -> message. */
GHashTable *vnm_latency_monitor_missing_hists (VnmLatencyMonitor *m, const VnmDomain *domain);
const gchar *vnm_latency_monitor_unavailable_reason (VnmLatencyMonitor *m);
/* "tp_btf" or "raw_tp"; "" when unavailable. */
const gchar *vnm_latency_monitor_program (VnmLatencyMonitor *m);
/* What the kernel says of the optional kprobe/fentry stages (tun, OVS). */
const gchar *vnm_latency_monitor_extra_stages (VnmLatencyMonitor *m);
guint64 vnm_latency_monitor_default_threshold (VnmLatencyMonitor *m);

/* How @domain_uuid's histograms were made: the mode (full while traced,
 * sampled while sampling covers it, else off), when they started (seconds
 * since the epoch; 0 when off) and for how many seconds since then the
 * path programs were attached. */
typedef struct {
  VnmLatencyMode mode;
  gdouble since_s;
  gdouble traced_s;
} VnmLatencyCoverage;

void vnm_latency_monitor_coverage (VnmLatencyMonitor *m, const gchar *domain_uuid,
                                   VnmLatencyCoverage *out);

/* The sampling that applies to VMs not traced in full: FALSE when off;
 * else its window and period, the mode the programs are in now, windows
 * opened and refused. */
typedef struct {
  guint window_ms, period_ms;
  VnmLatencyMode mode;
  guint64 windows, failed_windows;
  guint sampled_domains;
} VnmLatencySampling;

gboolean vnm_latency_monitor_sampling (VnmLatencyMonitor *m, VnmLatencySampling *out);

/* Switches tracing of @domain_uuid (NULL: every domain, now and later) on
 * with @settings, or off (@settings NULL). Switching on starts the
 * histograms afresh. */
gboolean vnm_latency_monitor_set (VnmLatencyMonitor *m, const gchar *domain_uuid,
                                  const VnmLatencySettings *settings, GError **error);
/* The settings that apply to @domain_uuid, or NULL when not traced;
 * *since_s: when its histograms started (seconds since the epoch). */
const VnmLatencySettings *vnm_latency_monitor_get (VnmLatencyMonitor *m, const gchar *domain_uuid,
                                                   gdouble *since_s);
gboolean vnm_latency_monitor_all (VnmLatencyMonitor *m);
/* Names of the running domains traced now. */
GPtrArray *vnm_latency_monitor_traced (VnmLatencyMonitor *m);

/* Keep the probe's device table in step (registry or links changed). */
void vnm_latency_monitor_reconcile (VnmLatencyMonitor *m);

/* @domain's histogram for (@dir, @stage), summed over @iface (NULL: all
 * of its interfaces). FALSE when none of them is traced. */
gboolean vnm_latency_monitor_hist (VnmLatencyMonitor *m, const VnmDomain *domain,
                                   const gchar *iface, guint dir, guint stage, VnmLatHist *out);

typedef struct {
  gchar *iface;
  gchar *vm_uuid;              /* the domain whose device it is */
  guint dir;
  guint32 reason;
  const gchar *reason_name;    /* NULL when the kernel does not name it */
  guint64 count;
} VnmLatencyDrop;

void vnm_latency_drop_free (VnmLatencyDrop *d);
/* Drops of @domain's interfaces (NULL: of every domain's), most first
 * (GPtrArray of VnmLatencyDrop*). */
GPtrArray *vnm_latency_monitor_drops (VnmLatencyMonitor *m, const VnmDomain *domain);

/* Slow packets flow to @func while listening is on. */
void vnm_latency_monitor_set_listener (VnmLatencyMonitor *m, VnmLatencyEventsFunc func,
                                       gpointer user_data);
void vnm_latency_monitor_set_listening (VnmLatencyMonitor *m, gboolean listening);

typedef struct {
  guint64 sent, lost_kernel, lost_rate, stale_paths, replaced_paths;
} VnmLatencyCounters;

void vnm_latency_monitor_counters (VnmLatencyMonitor *m, VnmLatencyCounters *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLatencyMonitor, vnm_latency_monitor_free)
