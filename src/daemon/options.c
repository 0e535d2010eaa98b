/* options.c: virtnetmond's options, config file merge and bounds. */
#include "config.h"

#include <string.h>

#include "config-file.h"
#include "ipfix-encoder.h"
#include "listen-address.h"
#include "options.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"
#include "vnm-names.h"

static gboolean
usage_error (GError **error, const gchar *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
usage_error (GError **error, const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error_literal (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, message);
  return FALSE;
}

/* The checks of each bound, for values from the command line or the file. */
static gboolean
check_values (VnmOptions *o, GError **error)
{
  if (!(o->interval_s >= VNM_INTERVAL_MIN_S && o->interval_s <= VNM_INTERVAL_MAX_S))
    return usage_error (error, _("--interval must be between %g and %g seconds, not %g."),
                        VNM_INTERVAL_MIN_S, VNM_INTERVAL_MAX_S, o->interval_s);
  if (o->flow_table_size < VNM_FLOW_TABLE_MIN || o->flow_table_size > VNM_FLOW_TABLE_MAX)
    return usage_error (error, _("--flow-table-size must be between %d and %d, not %d."),
                        VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX, o->flow_table_size);
  if (o->flow_idle_timeout_s < VNM_FLOW_IDLE_TIMEOUT_MIN_S ||
      o->flow_idle_timeout_s > VNM_FLOW_IDLE_TIMEOUT_MAX_S)
    return usage_error (error, _("--flow-idle-timeout must be between %d and %d seconds, not %d."),
                        VNM_FLOW_IDLE_TIMEOUT_MIN_S, VNM_FLOW_IDLE_TIMEOUT_MAX_S,
                        o->flow_idle_timeout_s);
  if (o->latency_threshold_us < 0 || o->latency_threshold_us > VNM_LATENCY_THRESHOLD_MAX_US)
    return usage_error (error, _("the latency threshold must be between 0 and %d microseconds, not %d."),
                        VNM_LATENCY_THRESHOLD_MAX_US, o->latency_threshold_us);
  if (o->latency_devices < VNM_LATENCY_DEVICES_MIN || o->latency_devices > VNM_LATENCY_DEVICES_MAX)
    return usage_error (error, _("--latency-devices must be between %d and %d, not %d."),
                        VNM_LATENCY_DEVICES_MIN, VNM_LATENCY_DEVICES_MAX, o->latency_devices);
  if (o->latency_events_rate < VNM_LATENCY_EVENTS_RATE_MIN ||
      o->latency_events_rate > VNM_LATENCY_EVENTS_RATE_MAX)
    return usage_error (error, _("--latency-events-rate must be between %d and %d a second, not %d."),
                        VNM_LATENCY_EVENTS_RATE_MIN, VNM_LATENCY_EVENTS_RATE_MAX,
                        o->latency_events_rate);
  if (o->metrics_peers < VNM_METRICS_PEERS_MIN || o->metrics_peers > VNM_METRICS_PEERS_MAX)
    return usage_error (error, _("--metrics-peers must be between %d and %d, not %d."),
                        VNM_METRICS_PEERS_MIN, VNM_METRICS_PEERS_MAX, o->metrics_peers);
  if (o->latency_sample_period_s < VNM_LATENCY_SAMPLE_PERIOD_MIN_S ||
      o->latency_sample_period_s > VNM_LATENCY_SAMPLE_PERIOD_MAX_S)
    return usage_error (error, _("--latency-sample-period must be between %d and %d seconds, not %d."),
                        VNM_LATENCY_SAMPLE_PERIOD_MIN_S, VNM_LATENCY_SAMPLE_PERIOD_MAX_S,
                        o->latency_sample_period_s);
  if (o->latency_sample_window_ms < VNM_LATENCY_SAMPLE_WINDOW_MIN_MS ||
      o->latency_sample_window_ms >= o->latency_sample_period_s * 1000)
    return usage_error (error, _("--latency-sample-window must be at least %d ms and shorter than the "
                                 "period (%d s), not %d ms."),
                        VNM_LATENCY_SAMPLE_WINDOW_MIN_MS, o->latency_sample_period_s,
                        o->latency_sample_window_ms);
  if (o->usage_flush_interval_s < VNM_USAGE_FLUSH_MIN_S || o->usage_flush_interval_s > VNM_USAGE_FLUSH_MAX_S)
    return usage_error (error, _("--usage-flush-interval must be between %d and %d seconds, not %d."),
                        VNM_USAGE_FLUSH_MIN_S, VNM_USAGE_FLUSH_MAX_S, o->usage_flush_interval_s);
  return TRUE;
}

/* What the command line gives as text, checked after parsing. */
typedef struct {
  gchar *latency_sampling;
  gchar *latency_programs;
  gchar *probe_attach;
  gchar *interval;
  gchar *latency_threshold;
  gchar *ipfix_active_timeout;
  gchar *ipfix_observation_domain;
  gchar *usage_flush_interval;
} CommandLineText;

static void
command_line_text_clear (CommandLineText *text)
{
  g_free (text->latency_sampling);
  g_free (text->latency_programs);
  g_free (text->probe_attach);
  g_free (text->interval);
  g_free (text->latency_threshold);
  g_free (text->ipfix_active_timeout);
  g_free (text->ipfix_observation_domain);
  g_free (text->usage_flush_interval);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CommandLineText, command_line_text_clear)

/* Runs GOption over a copy of @argv into @o and @text; @args keeps what it
 * left. */
static gboolean
parse_command_line (VnmOptions *o, CommandLineText *text, gint argc, gchar **argv,
                    const gchar *default_config, GStrv *args_out, GError **error)
{
  g_autoptr(GOptionContext) octx = NULL;
  g_autofree gchar *config_help = NULL;
  g_auto(GStrv) args = NULL;
  gchar **latency_programs = &text->latency_programs;
  gchar **latency_sampling = &text->latency_sampling;
  gchar **probe_attach = &text->probe_attach;
  gchar **interval = &text->interval;
  gchar **latency_threshold = &text->latency_threshold;
  gchar **ipfix_active_timeout = &text->ipfix_active_timeout;
  gchar **ipfix_observation_domain = &text->ipfix_observation_domain;
  gchar **usage_flush_interval = &text->usage_flush_interval;
  GOptionEntry entries[] = {
    { "connect", 'c', 0, G_OPTION_ARG_STRING, &o->uri,
      N_("libvirt connection URI (default: qemu:///system)"), N_("URI") },
    { "interval", 'i', 0, G_OPTION_ARG_STRING, interval,
      N_("Sampling interval in seconds (default: 1)"), N_("SEC") },
    { "system", 0, 0, G_OPTION_ARG_NONE, &o->system_bus,
      N_("Use the system bus (the default; honours DBUS_SYSTEM_BUS_ADDRESS)"), NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &o->session_bus, N_("Use the session bus"), NULL },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &o->bus_address,
      N_("Use the message bus at this D-Bus address"), N_("ADDR") },
    { "metrics-listen", 0, 0, G_OPTION_ARG_STRING, &o->metrics_listen,
      N_("Serve Prometheus metrics at http://HOST:PORT/metrics ([IPV6]:PORT, or :PORT for every address; default: off)"), N_("HOST:PORT") },
    { "metrics-peers", 0, 0, G_OPTION_ARG_INT, &o->metrics_peers,
      N_("Remote peers of each VM on /metrics (virtnetmon_vm_peer_bytes_total), the ones with most bytes; 0 for none (default: 10)"),
      N_("N") },
    { "ipfix-collector", 0, 0, G_OPTION_ARG_STRING, &o->ipfix_collector,
      N_("Export flow records over IPFIX to the collector at HOST:PORT, over UDP (the default) or TCP (default: off)"),
      N_("HOST:PORT[,udp|tcp]") },
    { "ipfix-active-timeout", 0, 0, G_OPTION_ARG_STRING, ipfix_active_timeout,
      N_("Seconds after which a flow that goes on is exported with its counts so far (default: 60)"),
      N_("SEC") },
    { "ipfix-observation-domain", 0, 0, G_OPTION_ARG_STRING, ipfix_observation_domain,
      N_("Observation Domain ID of the IPFIX messages (default: 1)"), N_("ID") },
    { "no-bpf", 0, 0, G_OPTION_ARG_NONE, &o->no_bpf, N_("Do not load or probe any eBPF program"), NULL },
    { "flow-table-size", 0, 0, G_OPTION_ARG_INT, &o->flow_table_size,
      N_("Flows the kernel table holds before it evicts the least recent (default: 32768)"), N_("N") },
    { "flow-idle-timeout", 0, 0, G_OPTION_ARG_INT, &o->flow_idle_timeout_s,
      N_("Seconds after which an idle flow ends and is kept as a summary (default: 60)"), N_("SEC") },
    { "latency-threshold", 0, 0, G_OPTION_ARG_STRING, latency_threshold,
      N_("Default slow-packet threshold of latency tracing, in microseconds (default: 1000)"), N_("USEC") },
    { "latency-devices", 0, 0, G_OPTION_ARG_INT, &o->latency_devices,
      N_("VM netdevs with latency histograms at once, 66 KiB of kernel memory each (default: 128)"), N_("N") },
    { "latency-events-rate", 0, 0, G_OPTION_ARG_INT, &o->latency_events_rate,
      N_("Slow-packet events passed to clients per second at most; the rest are counted as lost (default: 1000)"), N_("N") },
    { "latency-programs", 0, 0, G_OPTION_ARG_STRING, latency_programs,
      N_("Tracepoint programs of the latency probe: tp_btf, raw_tp or auto (default: auto, tp_btf where the kernel allows it)"), N_("KIND") },
    { "latency-sampling", 0, 0, G_OPTION_ARG_STRING, latency_sampling,
      N_("Latency histograms for every VM not traced in full, from short tracing windows: on or off (default: on)"), N_("on|off") },
    { "latency-sample-window", 0, 0, G_OPTION_ARG_INT, &o->latency_sample_window_ms,
      N_("Milliseconds a sampling window traces (default: 100)"), N_("MS") },
    { "latency-sample-period", 0, 0, G_OPTION_ARG_INT, &o->latency_sample_period_s,
      N_("Seconds from one sampling window to the next (default: 2)"), N_("SEC") },
    { "probe-attach", 0, 0, G_OPTION_ARG_STRING, probe_attach,
      N_("How probes hook a device: tcx, tc-clsact or auto (default: auto, tcx where the kernel has it)"),
      N_("MODE") },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->state_dir,
      N_("Where to record the tc hooks virtnetmond attached (default: /run/virtnetmon)"), N_("DIR") },
    { "pin-dir", 0, 0, G_OPTION_ARG_FILENAME, &o->pin_dir,
      N_("Where in bpffs to pin the flow table and totals, so that they continue across restarts; \"\" for nowhere (default: /sys/fs/bpf/virtnetmon)"),
      N_("DIR") },
    { "usage-db", 0, 0, G_OPTION_ARG_FILENAME, &o->usage_db,
      N_("The SQLite database of the usage totals by hour, day and month (UTC); \"\" keeps them in memory only (default: /var/lib/virtnetmon/usage.db)"),
      N_("FILE") },
    { "usage-flush-interval", 0, 0, G_OPTION_ARG_STRING, usage_flush_interval,
      N_("Seconds between writes of the usage totals to their database, in one transaction (default: 60)"),
      N_("SEC") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &o->config_file, NULL, N_("FILE") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &o->verbose, N_("Log debugging messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &o->version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  /* The default file's path is the build's, so its help is made here. */
  config_help = g_strdup_printf (_("Read defaults from FILE (default: %s, when it exists)"),
                                 default_config ? default_config : _("none"));
  for (GOptionEntry *e = entries; e->long_name; e++)
    if (g_str_equal (e->long_name, "config"))
      e->description = config_help;
  octx = g_option_context_new (NULL);
  g_option_context_set_translation_domain (octx, GETTEXT_PACKAGE);
  g_option_context_set_summary (octx,
    _("Per-VM network observability for libvirt/KVM hosts: maps host interfaces to\n"
      "VMs from libvirt's domain XML (or QEMU command lines), samples their counters\n"
      "and serves them on D-Bus as org.virtnetmon.Monitor1.\n"
      "For VM interfaces, rx/tx are the guest's view (rx = into the VM), as\n"
      "`virsh domifstat` prints them."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  /* A copy: GOption removes what it parsed from the vector it is given. */
  args = g_new0 (gchar *, argc + 1);
  for (gint i = 0; i < argc; i++)
    args[i] = g_strdup (argv[i]);
  if (!g_option_context_parse_strv (octx, &args, error))
    return FALSE;
  *args_out = g_steal_pointer (&args);
  return TRUE;
}

/* The values given as text, and what does not go together. */
static gboolean
check_command_line (VnmOptions *o, const CommandLineText *text, GStrv args, GError **error)
{
  const gchar *latency_programs = text->latency_programs;
  const gchar *probe_attach = text->probe_attach;
  const gchar *interval = text->interval;

  if (g_strv_length (args) > 1)
    return usage_error (error, _("unexpected argument '%s'."), args[1]);
  if ((o->system_bus + o->session_bus + (o->bus_address != NULL)) > 1)
    return usage_error (error, _("choose one of --system, --session and --bus-address."));
  if (latency_programs && !g_str_equal (latency_programs, "auto") &&
      !g_str_equal (latency_programs, "tp_btf") && !g_str_equal (latency_programs, "raw_tp"))
    return usage_error (error, _("unknown --latency-programs kind '%s' (use tp_btf, raw_tp or auto)."),
                        latency_programs);
  o->latency_raw_tp = g_strcmp0 (latency_programs, "raw_tp") == 0;
  if (text->latency_sampling && !g_str_equal (text->latency_sampling, "on") &&
      !g_str_equal (text->latency_sampling, "off"))
    return usage_error (error, _("unknown --latency-sampling value '%s' (use on or off)."),
                        text->latency_sampling);
  if (probe_attach && !vnm_probe_attach_from_string (probe_attach, &o->probe_attach))
    return usage_error (error, _("unknown --probe-attach mode '%s' (use tcx, tc-clsact or auto)."),
                        probe_attach);

  if (interval)
    {
      gchar *end = NULL;
      o->interval_s = g_ascii_strtod (interval, &end);
      if (!*interval || *end)
        return usage_error (error, _("--interval: '%s' is not a number of seconds."), interval);
    }
  if (text->latency_threshold)
    {
      gint64 v;

      if (!g_ascii_string_to_signed (text->latency_threshold, 10, 0, VNM_LATENCY_THRESHOLD_MAX_US,
                                     &v, NULL))
        return usage_error (error, _("--latency-threshold must be between 0 and %d microseconds, not %s."),
                            VNM_LATENCY_THRESHOLD_MAX_US, text->latency_threshold);
      o->latency_threshold_us = (gint) v;
    }
  if (text->ipfix_active_timeout)
    {
      gint64 v;

      if (!g_ascii_string_to_signed (text->ipfix_active_timeout, 10, VNM_IPFIX_ACTIVE_TIMEOUT_MIN_S,
                                     VNM_IPFIX_ACTIVE_TIMEOUT_MAX_S, &v, NULL))
        return usage_error (error, _("--ipfix-active-timeout must be between %d and %d seconds, not '%s'."),
                            VNM_IPFIX_ACTIVE_TIMEOUT_MIN_S, VNM_IPFIX_ACTIVE_TIMEOUT_MAX_S,
                            text->ipfix_active_timeout);
      o->ipfix_active_timeout_s = (gint) v;
    }
  if (text->usage_flush_interval)
    {
      gint64 v;

      /* Any number: a negative one is not taken for "not given". */
      if (!g_ascii_string_to_signed (text->usage_flush_interval, 10, VNM_USAGE_FLUSH_MIN_S,
                                     VNM_USAGE_FLUSH_MAX_S, &v, NULL))
        return usage_error (error, _("--usage-flush-interval must be between %d and %d seconds, not '%s'."),
                            VNM_USAGE_FLUSH_MIN_S, VNM_USAGE_FLUSH_MAX_S, text->usage_flush_interval);
      o->usage_flush_interval_s = (gint) v;
    }
  if (text->ipfix_observation_domain)
    {
      gint64 v;

      if (!g_ascii_string_to_signed (text->ipfix_observation_domain, 10, VNM_IPFIX_DOMAIN_MIN,
                                     VNM_IPFIX_DOMAIN_MAX, &v, NULL))
        return usage_error (error, _("--ipfix-observation-domain must be between %lld and %lld, not '%s'."),
                            (long long) VNM_IPFIX_DOMAIN_MIN, (long long) VNM_IPFIX_DOMAIN_MAX,
                            text->ipfix_observation_domain);
      o->ipfix_observation_domain = (guint32) v;
    }
  return TRUE;
}

/* Fills what the command line left out from @config (the file) or the
 * built-in defaults, then checks every value. */
static gboolean
merge_config (VnmOptions *o, VnmConfig *config, const CommandLineText *text,
              const gchar *default_config, GError **error)
{
  const gchar *interval = text->interval, *latency_sampling = text->latency_sampling;
  gboolean latency_threshold_given = text->latency_threshold != NULL;
  gboolean listen_given = o->metrics_listen != NULL;
  gboolean collector_given = o->ipfix_collector != NULL;

  /* Without --config, the installed defaults apply when the file exists. */
  if (!o->config_file && default_config && g_file_test (default_config, G_FILE_TEST_EXISTS))
    o->config_file = g_strdup (default_config);
  if (o->config_file && !vnm_config_load (o->config_file, config, error))
    return FALSE;
  /* The command line wins over the file. */
  if (!o->uri)
    o->uri = g_steal_pointer (&config->uri);
  if (!o->uri)
    o->uri = g_strdup (VNM_DEFAULT_LIBVIRT_URI);
  if (!o->metrics_listen)
    o->metrics_listen = g_steal_pointer (&config->metrics_listen);
  if (!o->ipfix_collector)
    o->ipfix_collector = g_steal_pointer (&config->ipfix_collector);
  if (!text->ipfix_active_timeout)
    o->ipfix_active_timeout_s = config->ipfix_active_timeout >= 0 ? (gint) config->ipfix_active_timeout
                                                                   : VNM_IPFIX_ACTIVE_TIMEOUT_DEFAULT_S;
  if (!text->ipfix_observation_domain)
    o->ipfix_observation_domain = config->ipfix_observation_domain >= 0
                                  ? (guint32) config->ipfix_observation_domain : VNM_IPFIX_DOMAIN_DEFAULT;
  if (!interval)
    o->interval_s = config->has_interval ? config->interval : VNM_INTERVAL_DEFAULT_S;
  if (latency_sampling)
    o->latency_sampling = g_str_equal (latency_sampling, "on");
  else
    o->latency_sampling = config->latency_sampling != 0;
  if (o->usage_flush_interval_s < 0)
    o->usage_flush_interval_s = config->usage_flush_interval_s > 0 ? config->usage_flush_interval_s
                                                                   : VNM_USAGE_FLUSH_DEFAULT_S;
  if (!o->usage_db)
    o->usage_db = config->usage_db ? g_steal_pointer (&config->usage_db)
                                   : g_strdup (VNM_DEFAULT_USAGE_DB);
  /* "" keeps the totals in memory only. */
  if (!*o->usage_db)
    g_clear_pointer (&o->usage_db, g_free);
  if (!latency_threshold_given)
    o->latency_threshold_us = config->domains.latency_threshold_us >= 0
                              ? (gint) config->domains.latency_threshold_us
                              : VNM_LATENCY_THRESHOLD_DEFAULT_US;
  if (!check_values (o, error))
    {
      vnm_config_clear (config);
      return FALSE;
    }
  if (o->metrics_listen)
    {
      g_autofree gchar *host = NULL;
      guint16 port;
      g_autoptr(GError) local = NULL;

      if (!vnm_listen_address_parse (o->metrics_listen, &host, &port, &local))
        {
          vnm_config_clear (config);
          if (listen_given)
            return usage_error (error, "--metrics-listen: %s", local->message);
          return usage_error (error, _("metrics-listen= in %s: %s"), o->config_file, local->message);
        }
    }
  if (o->ipfix_collector)
    {
      g_autofree gchar *host = NULL;
      guint16 port;
      gboolean tcp;
      g_autoptr(GError) local = NULL;

      if (!vnm_ipfix_parse_collector (o->ipfix_collector, &host, &port, &tcp, &local))
        {
          vnm_config_clear (config);
          if (collector_given)
            return usage_error (error, "--ipfix-collector: %s", local->message);
          return usage_error (error, _("ipfix-collector= in %s: %s"), o->config_file, local->message);
        }
    }
  if (!o->state_dir)
    o->state_dir = g_strdup (VNM_DEFAULT_STATE_DIR);
  /* --pin-dir "" pins nowhere. */
  if (!o->pin_dir)
    o->pin_dir = g_strdup (VNM_DEFAULT_PIN_DIR);
  else if (!*o->pin_dir)
    g_clear_pointer (&o->pin_dir, g_free);

  /* Where a domain's <metadata> is silent (see VnmOptions.defaults). */
  o->defaults.monitoring = config->domains.monitoring >= 0 ? config->domains.monitoring : 1;
  o->defaults.latency = config->domains.latency >= 0 ? config->domains.latency : 0;
  o->defaults.latency_threshold_us = o->latency_threshold_us;
  o->defaults.flow_table_size = config->domains.flow_table_size >= 0
                                ? MIN (config->domains.flow_table_size, o->flow_table_size)
                                : o->flow_table_size;
  o->defaults.usage_quota_bytes = MAX (config->domains.usage_quota_bytes, 0);
  vnm_config_clear (config);
  return TRUE;
}

gboolean
vnm_options_parse (VnmOptions *o, gint argc, gchar **argv, const gchar *default_config,
                   GError **error)
{
  g_auto(CommandLineText) text = { 0 };
  g_auto(GStrv) args = NULL;
  VnmConfig config = { 0 };

  memset (o, 0, sizeof *o);
  o->flow_table_size = VNM_FLOW_TABLE_DEFAULT;
  o->flow_idle_timeout_s = VNM_FLOW_IDLE_TIMEOUT_DEFAULT_S;
  o->latency_devices = VNM_LATENCY_DEVICES_DEFAULT;
  o->latency_events_rate = VNM_LATENCY_EVENTS_RATE_DEFAULT;
  o->latency_sample_window_ms = VNM_LATENCY_SAMPLE_WINDOW_DEFAULT_MS;
  o->latency_sample_period_s = VNM_LATENCY_SAMPLE_PERIOD_DEFAULT_S;
  o->metrics_peers = VNM_METRICS_PEERS_DEFAULT;
  o->probe_attach = VNM_PROBE_ATTACH_AUTO;
  o->usage_flush_interval_s = -1;
  vnm_domain_settings_init (&config.domains);
  config.latency_sampling = -1;
  config.ipfix_active_timeout = -1;
  config.ipfix_observation_domain = -1;

  if (!parse_command_line (o, &text, argc, argv, default_config, &args, error))
    return FALSE;
  if (o->version)
    return TRUE;
  if (!check_command_line (o, &text, args, error))
    return FALSE;
  return merge_config (o, &config, &text, default_config, error);
}

void
vnm_options_clear (VnmOptions *o)
{
  g_clear_pointer (&o->uri, g_free);
  g_clear_pointer (&o->bus_address, g_free);
  g_clear_pointer (&o->metrics_listen, g_free);
  g_clear_pointer (&o->ipfix_collector, g_free);
  g_clear_pointer (&o->state_dir, g_free);
  g_clear_pointer (&o->pin_dir, g_free);
  g_clear_pointer (&o->config_file, g_free);
  g_clear_pointer (&o->usage_db, g_free);
}
