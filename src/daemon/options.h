/* options.h: virtnetmond's command line, merged with virtnetmond.conf (the
 * command line wins) and checked against the bounds of vnm-limits.h. Pure:
 * GOption and GKeyFile only. */
#pragma once

#include <glib.h>

#include "domain-xml.h"
#include "probe-attach.h"

typedef struct {
  gchar *uri;               /* libvirt URI; never NULL after parsing */
  gdouble interval_s;
  gboolean system_bus, session_bus;
  gchar *bus_address;       /* NULL: the system or session bus */
  gchar *metrics_listen;    /* HOST:PORT, NULL: off */
  gint metrics_peers;       /* top peers a VM on /metrics; 0: none */
  gchar *ipfix_collector;   /* HOST:PORT[,udp|tcp], NULL: no IPFIX export */
  gint ipfix_active_timeout_s;      /* a long-lived flow's counts go out this often */
  guint32 ipfix_observation_domain; /* Observation Domain ID of the messages */
  gboolean no_bpf;
  gboolean verbose;
  gboolean version;         /* print the version and exit */
  gint flow_table_size;
  gint flow_idle_timeout_s;
  gint latency_threshold_us;
  gint latency_devices;
  gint latency_events_rate;
  gboolean latency_raw_tp;  /* --latency-programs raw_tp */
  gboolean latency_sampling;       /* sampled latency of every VM not traced in full */
  gint latency_sample_window_ms;
  gint latency_sample_period_s;
  VnmProbeAttach probe_attach;
  gchar *state_dir;         /* never NULL after parsing */
  gchar *pin_dir;           /* NULL: pin nowhere (--pin-dir "") */
  gchar *config_file;       /* the file read, or NULL */
  gchar *usage_db;          /* the usage database; NULL: in memory only (--usage-db "") */
  gint usage_flush_interval_s; /* seconds between writes of the usage totals */
  /* What applies to a domain whose <metadata> leaves a setting out, every
   * field set: monitoring and latency from the file's [domains] (built in:
   * on, off); the latency threshold from --latency-threshold, else the
   * file's [domains], else built in; the flow table size from the file's
   * [domains] capped at the daemon's table (--flow-table-size), else that. */
  VnmDomainSettings defaults;
} VnmOptions;

/* Parses @argv, reads the config file (--config, else @default_config when
 * it exists) and checks every value. Fails with a message that names the
 * option as typed (or the file and key) and the value; the caller exits
 * with status 2 then. @default_config may be NULL. */
gboolean vnm_options_parse (VnmOptions *options, gint argc, gchar **argv,
                            const gchar *default_config, GError **error);
void vnm_options_clear (VnmOptions *options);
