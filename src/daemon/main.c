/* main.c: virtnetmond: options, the main loop, and the wiring between the
 * modules (libvirt watch and QEMU scan -> registry -> D-Bus; link stats ->
 * sampler -> D-Bus). */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "config-file.h"
#include "vnm-bus.h"
#include "daemon.h"
#include "dbus-service.h"
#include "flow-monitor.h"
#include "history-recorder.h"
#include "kernel-caps.h"
#include "latency-monitor.h"
#include "libvirt-watch.h"
#include "linkstats.h"
#include "metrics.h"
#include "metrics-http.h"
#include "qemu-scan.h"
#include "registry.h"
#include "sampler.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

/* How often QEMU processes not run by libvirt are looked for, besides
 * whenever a new interface appears. */
#define QEMU_SCAN_PERIOD_S 30

typedef struct {
  VnmDaemon d;
  GMainLoop *loop;
  gint exit_status;
  guint refresh_source;
  gint64 last_refresh_us;   /* when the sampler last read the counters */
  guint publish_source;
  guint scan_source;
  guint scan_soon_source;
  guint reconcile_source;
  GHashTable *applied;      /* uuid -> VnmDomainSettings last applied */
} Context;

static Context ctx;

const VnmLink *
vnm_daemon_find_link (VnmDaemon *daemon, const gchar *name)
{
  gpointer idx;

  if (!g_hash_table_lookup_extended (daemon->link_by_name, name, NULL, &idx))
    return NULL;
  return &g_array_index (daemon->links, VnmLink, GPOINTER_TO_UINT (idx));
}

static void
reindex_links (VnmDaemon *daemon)
{
  g_hash_table_remove_all (daemon->link_by_name);
  for (guint i = 0; i < daemon->links->len; i++)
    g_hash_table_insert (daemon->link_by_name,
                         g_array_index (daemon->links, VnmLink, i).name, GUINT_TO_POINTER (i));
}

static void
publish (void)
{
  if (ctx.d.dbus)
    vnm_dbus_service_publish (ctx.d.dbus);
}

static gboolean
publish_idle (gpointer user_data)
{
  ctx.publish_source = 0;
  publish ();
  return G_SOURCE_REMOVE;
}

static void
publish_soon (void)
{
  if (!ctx.publish_source)
    ctx.publish_source = g_idle_add (publish_idle, NULL);
}

static void publish_soon (void);

static gboolean
reconcile_idle (gpointer user_data)
{
  ctx.reconcile_source = 0;
  if (ctx.d.flows)
    vnm_flow_monitor_reconcile (ctx.d.flows);
  if (ctx.d.latency)
    vnm_latency_monitor_reconcile (ctx.d.latency);
  /* Clients see where probes are now, not at the next interval. */
  publish_soon ();
  return G_SOURCE_REMOVE;
}

/* Probes follow the registry and the links, once per burst of changes. */
static void
reconcile_soon (void)
{
  if (!ctx.reconcile_source)
    ctx.reconcile_source = g_idle_add (reconcile_idle, NULL);
}

static gboolean
refresh (gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  gint64 now_us;

  if (!vnm_linkstats_dump (ctx.d.linkstats, ctx.d.links, &error))
    {
      /* Keep the previous table: nothing collected is lost. */
      g_warning ("%s", error->message);
      return G_SOURCE_CONTINUE;
    }
  now_us = g_get_monotonic_time ();
  vnm_sampler_update (ctx.d.sampler, ctx.d.links, now_us);
  reindex_links (&ctx.d);
  /* The rates cover the time since the previous refresh. */
  if (ctx.last_refresh_us)
    vnm_history_recorder_feed (ctx.d.history, &ctx.d, g_get_real_time () / 1e6,
                               (now_us - ctx.last_refresh_us) / 1e6);
  ctx.last_refresh_us = now_us;
  if (ctx.d.flows)
    vnm_flow_monitor_poll (ctx.d.flows);
  publish ();
  return G_SOURCE_CONTINUE;
}

/* QEMU processes libvirt does not run -> registry. */
static gboolean
scan_qemu (gpointer user_data)
{
  g_autoptr(GPtrArray) procs = vnm_qemu_scan (ctx.d.proc_root);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < procs->len; i++)
    {
      VnmQemuProcess *proc = g_ptr_array_index (procs, i);
      VnmDomainDef *def;
      const VnmDomain *existing;
      gint64 vmid = -1;

      if (proc->libvirt_managed)
        continue;
      def = vnm_domain_def_new ();
      g_free (def->uuid);
      if (*proc->uuid && strlen (proc->uuid) == 36)
        def->uuid = g_strdup (proc->uuid);
      else
        {
          g_autofree gchar *key = g_strdup_printf ("qemu:%s:%s", proc->vmid,
                                                   *proc->vmid ? "" : proc->name);
          def->uuid = vnm_uuid_for_name (key);
        }
      /* A domain libvirt already reports is libvirt's. */
      existing = vnm_registry_lookup_uuid (ctx.d.registry, def->uuid);
      if (existing && g_str_equal (existing->mapped_by, VNM_MAPPED_BY_LIBVIRT))
        {
          vnm_domain_def_free (def);
          continue;
        }
      g_free (def->name);
      def->name = g_strdup (*proc->name ? proc->name : proc->vmid);
      if (g_ascii_string_to_signed (proc->vmid, 10, 0, G_MAXINT32, &vmid, NULL))
        def->id = (gint) vmid;
      for (guint j = 0; j < proc->ifnames->len; j++)
        g_ptr_array_add (def->interfaces,
                         vnm_domain_interface_new ("ethernet",
                                                   g_ptr_array_index (proc->ifnames, j)));
      g_hash_table_add (seen, g_strdup (def->uuid));
      vnm_registry_update (ctx.d.registry, def, "running", VNM_MAPPED_BY_QEMU_CMDLINE);
    }
  vnm_registry_retain (ctx.d.registry, VNM_MAPPED_BY_QEMU_CMDLINE, seen);
  return G_SOURCE_CONTINUE;
}

static gboolean
scan_soon_cb (gpointer user_data)
{
  ctx.scan_soon_source = 0;
  scan_qemu (NULL);
  return G_SOURCE_REMOVE;
}

/* Adds @link to the table or refreshes its entry (by ifindex); callers
 * reindex. A new link starts its sampling, and a new tap nobody maps yet may
 * belong to a QEMU that just started: scan soon. */
static void
upsert_link (const VnmLink *link, gint64 now)
{
  for (guint i = 0; i < ctx.d.links->len; i++)
    {
      VnmLink *l = &g_array_index (ctx.d.links, VnmLink, i);
      if (l->ifindex == link->ifindex)
        {
          *l = *link;
          return;
        }
    }
  g_array_append_val (ctx.d.links, *link);
  vnm_sampler_observe (ctx.d.sampler, link, now);
  if (!vnm_registry_lookup_ifname (ctx.d.registry, link->name, NULL) && !ctx.scan_soon_source)
    ctx.scan_soon_source = g_timeout_add (200, scan_soon_cb, NULL);
}

static void
link_event (VnmLinkEvent event, const VnmLink *link, gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  switch (event)
    {
    case VNM_LINK_EVENT_RESYNC:
      refresh (NULL);
      return;
    case VNM_LINK_EVENT_NEW:
      {
        upsert_link (link, now);
        break;
      }
    case VNM_LINK_EVENT_DEL:
      for (guint i = 0; i < ctx.d.links->len; i++)
        if (g_array_index (ctx.d.links, VnmLink, i).ifindex == link->ifindex)
          {
            g_array_remove_index (ctx.d.links, i);
            break;
          }
      vnm_sampler_forget (ctx.d.sampler, link->ifindex);
      break;
    }
  reindex_links (&ctx.d);
  reconcile_soon ();
  publish_soon ();
}

/* Links created a moment ago (a tap libvirt just made) may still wait in the
 * link monitor's queue: a dump adds them, then the probes follow at once. */
static void
settle_now (void)
{
  g_autoptr(GArray) now_links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  g_autoptr(GError) error = NULL;
  gint64 now = g_get_monotonic_time ();

  if (vnm_linkstats_dump (ctx.d.linkstats, now_links, &error))
    {
      for (guint i = 0; i < now_links->len; i++)
        upsert_link (&g_array_index (now_links, VnmLink, i), now);
      reindex_links (&ctx.d);
    }
  else
    g_warning ("%s", error->message);
  g_clear_handle_id (&ctx.reconcile_source, g_source_remove);
  reconcile_idle (NULL);
  publish_soon ();
}

/* Tells the libvirt hook where to find this daemon when it does not serve
 * the system bus (see VNM_BUS_ADDRESS_FILE); removes a stale note when it does. */
static void
publish_bus_address (const gchar *path, const gchar *bus_address, gboolean session)
{
  g_autofree gchar *address = NULL;
  g_autoptr(GError) error = NULL;

  if (bus_address)
    address = g_strdup (bus_address);
  else if (session)
    address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SESSION, NULL, NULL);
  if (!address)
    {
      g_unlink (path);
      return;
    }
  {
    g_autofree gchar *dir = g_path_get_dirname (path);
    g_mkdir_with_parents (dir, 0755);
  }
  if (!g_file_set_contents (path, address, -1, &error))
    g_warning (_("Cannot tell the libvirt hook where the bus is: %s"), error->message);
}

/* Latency tracing follows a domain's settings when it appears with them
 * and whenever they change; SetLatencyTracing still switches it for the
 * time being in between. */
static void
apply_latency_settings (VnmRegistryChange change, const VnmDomain *domain)
{
  VnmDomainSettings eff, *applied;
  gboolean known;
  g_autoptr(GError) error = NULL;

  if (change == VNM_REGISTRY_REMOVED)
    {
      g_hash_table_remove (ctx.applied, domain->uuid);
      return;
    }
  vnm_domain_effective_settings (domain, &ctx.d.defaults, &eff);
  applied = g_hash_table_lookup (ctx.applied, domain->uuid);
  known = applied != NULL;
  if (known && applied->latency == eff.latency &&
      applied->latency_threshold_us == eff.latency_threshold_us)
    return;
  if (!known)
    g_hash_table_insert (ctx.applied, g_strdup (domain->uuid),
                         (applied = g_new0 (VnmDomainSettings, 1)));
  *applied = eff;
  /* A new domain that nobody asked to trace is left as the daemon has it
   * (SetLatencyTracing for all domains may cover it). */
  if (!known && !eff.latency && domain->settings.latency != 0)
    return;
  if (eff.latency)
    {
      VnmLatencySettings ls = {
        .tx = TRUE, .rx = TRUE,
        .threshold_ns = (guint64) eff.latency_threshold_us * 1000,
      };
      if (!vnm_latency_monitor_set (ctx.d.latency, domain->uuid, &ls, &error))
        g_message ("Cannot trace the latency of domain %s as its settings ask: %s", domain->name,
                   error->message);
      else
        g_message ("Latency tracing of domain %s is on (threshold %" G_GINT64_FORMAT " us), as its settings say.",
                   domain->name, eff.latency_threshold_us);
    }
  else if (vnm_latency_monitor_set (ctx.d.latency, domain->uuid, NULL, &error))
    g_message ("Latency tracing of domain %s is off, as its settings say.", domain->name);
}

static void
registry_changed (VnmRegistryChange change, const VnmDomain *domain, gpointer user_data)
{
  if (domain->settings_error && change != VNM_REGISTRY_REMOVED)
    g_message ("Ignoring the virtnetmon settings in the <metadata> of domain %s: %s",
               domain->name, domain->settings_error);
  if (ctx.d.latency)
    apply_latency_settings (change, domain);
  if (ctx.d.dbus)
    vnm_dbus_service_domain_changed (ctx.d.dbus, change, domain);
  reconcile_soon ();
}

static void
libvirt_state (gboolean connected, gpointer user_data)
{
  if (ctx.d.dbus)
    vnm_dbus_service_set_libvirt_connected (ctx.d.dbus, connected);
}

static void
name_lost (gpointer user_data)
{
  g_printerr (_("virtnetmond: cannot own the D-Bus name %s: another virtnetmond runs, or the bus policy (org.virtnetmon.Monitor1.conf) does not allow this user to own it.\n"),
              VNM_DBUS_NAME);
  ctx.exit_status = EXIT_FAILURE;
  g_main_loop_quit (ctx.loop);
}

static gboolean
on_signal (gpointer user_data)
{
  g_message ("Stopping on signal %d.", GPOINTER_TO_INT (user_data));
  g_main_loop_quit (ctx.loop);
  return G_SOURCE_CONTINUE;
}

static GString *
render_metrics (gpointer daemon)
{
  return vnm_metrics_render (daemon);
}

static void
log_handler (const gchar *domain, GLogLevelFlags level, const gchar *message, gpointer verbose)
{
  /* Messages (connections, lifecycle) and worse always go to the log;
   * debugging only with --verbose. */
  if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && !GPOINTER_TO_INT (verbose))
    return;
  g_printerr ("virtnetmond: %s\n", message);
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GOptionContext) octx = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autofree gchar *uri = NULL;
  g_autofree gchar *bus_address = NULL;
  g_autofree gchar *metrics_listen = NULL;
  g_autoptr(VnmMetricsHttp) metrics_http = NULL;
  g_autofree gchar *config_file = NULL;
  gdouble interval = 1.0;
  gboolean opt_system = FALSE, opt_session = FALSE, no_bpf = FALSE, verbose = FALSE;
  gboolean version = FALSE;
  gint flow_table_size = 32768, flow_idle_timeout = 60;
  gint latency_threshold_us = -1, latency_events_rate = 1000;
  gint latency_devices = VNM_LATENCY_HIST_DEVICES;
  g_autofree gchar *latency_programs = NULL;
  g_autofree gchar *state_dir = NULL;
  g_autofree gchar *pin_dir = NULL;
  const gchar *pin_where;
  g_autofree gchar *bus_file = NULL;
  gboolean listen_given = FALSE;
  g_autofree gchar *probe_attach = NULL;
  VnmProbeAttach attach = VNM_PROBE_ATTACH_AUTO;
  g_autofree gchar *config_help = NULL;
  VnmConfig config = { 0 };
  GOptionEntry entries[] = {
    { "connect", 'c', 0, G_OPTION_ARG_STRING, &uri,
      N_("libvirt connection URI (default: qemu:///system)"), N_("URI") },
    { "interval", 'i', 0, G_OPTION_ARG_DOUBLE, &interval,
      N_("Sampling interval in seconds (default: 1)"), N_("SEC") },
    { "system", 0, 0, G_OPTION_ARG_NONE, &opt_system,
      N_("Use the system bus (the default; honours DBUS_SYSTEM_BUS_ADDRESS)"), NULL },
    { "session", 0, 0, G_OPTION_ARG_NONE, &opt_session, N_("Use the session bus"), NULL },
    { "bus-address", 0, 0, G_OPTION_ARG_STRING, &bus_address,
      N_("Use the message bus at this D-Bus address"), N_("ADDR") },
    { "metrics-listen", 0, 0, G_OPTION_ARG_STRING, &metrics_listen,
      N_("Serve Prometheus metrics at http://HOST:PORT/metrics ([IPV6]:PORT, or :PORT for every address; default: off)"), N_("HOST:PORT") },
    { "no-bpf", 0, 0, G_OPTION_ARG_NONE, &no_bpf, N_("Do not load or probe any eBPF program"), NULL },
    { "flow-table-size", 0, 0, G_OPTION_ARG_INT, &flow_table_size,
      N_("Flows the kernel table holds before it evicts the least recent (default: 32768)"), N_("N") },
    { "flow-idle-timeout", 0, 0, G_OPTION_ARG_INT, &flow_idle_timeout,
      N_("Seconds after which an idle flow ends and is kept as a summary (default: 60)"), N_("SEC") },
    { "latency-threshold", 0, 0, G_OPTION_ARG_INT, &latency_threshold_us,
      N_("Default slow-packet threshold of latency tracing, in microseconds (default: 1000)"), N_("USEC") },
    { "latency-devices", 0, 0, G_OPTION_ARG_INT, &latency_devices,
      N_("VM netdevs with latency histograms at once, 66 KiB of kernel memory each (default: 128)"), N_("N") },
    { "latency-events-rate", 0, 0, G_OPTION_ARG_INT, &latency_events_rate,
      N_("Slow-packet events passed to clients per second at most; the rest are counted as lost (default: 1000)"), N_("N") },
    { "latency-programs", 0, 0, G_OPTION_ARG_STRING, &latency_programs,
      N_("Tracepoint programs of the latency probe: tp_btf, raw_tp or auto (default: auto, tp_btf where the kernel allows it)"), N_("KIND") },
    { "probe-attach", 0, 0, G_OPTION_ARG_STRING, &probe_attach,
      N_("How probes hook a device: tcx, tc-clsact or auto (default: auto, tcx where the kernel has it)"),
      N_("MODE") },
    { "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir,
      N_("Where to record the tc hooks virtnetmond attached (default: /run/virtnetmon)"), N_("DIR") },
    { "pin-dir", 0, 0, G_OPTION_ARG_FILENAME, &pin_dir,
      N_("Where in bpffs to pin the flow table and totals, so that they continue across restarts; \"\" for nowhere (default: /sys/fs/bpf/virtnetmon)"),
      N_("DIR") },
    { "config", 0, 0, G_OPTION_ARG_FILENAME, &config_file, NULL, N_("FILE") },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, N_("Log debugging messages"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };

  vnm_i18n_init ();
  vnm_domain_settings_init (&config.domains);
  /* The default file's path is the build's, so its help is made here. */
  config_help = g_strdup_printf (_("Read defaults from FILE (default: %s, when it exists)"),
                                 VNM_DEFAULT_CONFIG_FILE);
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
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("virtnetmond: %s\n%s\n", error->message,
                  _("Run 'virtnetmond --help' for the options."));
      return 2;
    }
  if (version)
    {
      g_print ("virtnetmond %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (argc > 1)
    {
      g_printerr (_("virtnetmond: unexpected argument '%s'.\n"), argv[1]);
      return 2;
    }
  listen_given = metrics_listen != NULL;
  /* Without --config, the installed defaults apply when the file exists. */
  if (!config_file && g_file_test (VNM_DEFAULT_CONFIG_FILE, G_FILE_TEST_EXISTS))
    config_file = g_strdup (VNM_DEFAULT_CONFIG_FILE);
  if (config_file)
    {
      if (!vnm_config_load (config_file, &config, &error))
        {
          g_printerr ("virtnetmond: %s\n", error->message);
          return 2;
        }
      /* The command line wins over the file. */
      if (!uri)
        uri = g_steal_pointer (&config.uri);
      if (!metrics_listen)
        metrics_listen = g_steal_pointer (&config.metrics_listen);
      if (interval == 1.0 && config.interval != 0)
        interval = config.interval;
    }
  if (!(interval >= 0.1 && interval <= 3600))
    {
      g_printerr (_("virtnetmond: the interval must be between 0.1 and 3600 seconds, not %g.\n"),
                  interval);
      return 2;
    }
  if (flow_table_size < 16 || flow_table_size > 4 * 1024 * 1024)
    {
      g_printerr (_("virtnetmond: the flow table size must be between 16 and 4194304, not %d.\n"),
                  flow_table_size);
      return 2;
    }
  if (flow_idle_timeout < 1 || flow_idle_timeout > 86400)
    {
      g_printerr (_("virtnetmond: the flow idle timeout must be between 1 and 86400 seconds, not %d.\n"),
                  flow_idle_timeout);
      return 2;
    }
  if (latency_threshold_us == -1)
    latency_threshold_us = config.domains.latency_threshold_us >= 0
                           ? (gint) config.domains.latency_threshold_us : 1000;
  if (latency_threshold_us < 0 || latency_threshold_us > 60000000)
    {
      g_printerr (_("virtnetmond: the latency threshold must be between 0 and 60000000 microseconds, not %d.\n"),
                  latency_threshold_us);
      return 2;
    }
  if (latency_devices < 1 || latency_devices > 65536)
    {
      g_printerr (_("virtnetmond: --latency-devices must be between 1 and 65536, not %d.\n"),
                  latency_devices);
      return 2;
    }
  if (latency_events_rate < 1 || latency_events_rate > 1000000)
    {
      g_printerr (_("virtnetmond: the latency events rate must be between 1 and 1000000 a second, not %d.\n"),
                  latency_events_rate);
      return 2;
    }
  if (latency_programs && !g_str_equal (latency_programs, "auto") &&
      !g_str_equal (latency_programs, "tp_btf") && !g_str_equal (latency_programs, "raw_tp"))
    {
      g_printerr (_("virtnetmond: unknown --latency-programs kind '%s' (use tp_btf, raw_tp or auto).\n"),
                  latency_programs);
      return 2;
    }
  if (probe_attach && !vnm_probe_attach_from_string (probe_attach, &attach))
    {
      g_printerr (_("virtnetmond: unknown --probe-attach mode '%s' (use tcx, tc-clsact or auto).\n"),
                  probe_attach);
      return 2;
    }
  if ((opt_system + opt_session + (bus_address != NULL)) > 1)
    {
      g_printerr (_("virtnetmond: choose one of --system, --session and --bus-address.\n"));
      return 2;
    }
  if (metrics_listen)
    {
      g_autofree gchar *host = NULL;
      guint16 port;
      if (!vnm_metrics_parse_listen (metrics_listen, &host, &port, &error))
        {
          if (listen_given)
            g_printerr ("virtnetmond: --metrics-listen: %s\n", error->message);
          else
            g_printerr (_("virtnetmond: metrics-listen= in %s: %s\n"), config_file, error->message);
          return 2;
        }
    }

  g_log_set_default_handler (log_handler, GINT_TO_POINTER (verbose));
  if (!uri)
    uri = g_strdup (VNM_DEFAULT_LIBVIRT_URI);

  ctx.loop = g_main_loop_new (NULL, FALSE);
  ctx.d.interval_s = interval;
  ctx.d.proc_root = g_getenv ("VIRTNETMON_PROC_ROOT") ? g_getenv ("VIRTNETMON_PROC_ROOT") : "/proc";
  ctx.d.registry = vnm_registry_new ();
  ctx.applied = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  ctx.d.sampler = vnm_sampler_new ();
  ctx.d.history = vnm_history_new ();
  ctx.d.links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  ctx.d.link_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  ctx.d.caps = no_bpf ? NULL : vnm_kernel_caps_detect ();
  /* Where a domain's <metadata> is silent: the file's [domains], else the
   * command line's. */
  ctx.d.defaults.monitoring = config.domains.monitoring >= 0 ? config.domains.monitoring : 1;
  ctx.d.defaults.latency = config.domains.latency >= 0 ? config.domains.latency : 0;
  ctx.d.defaults.latency_threshold_us = latency_threshold_us;
  ctx.d.defaults.flow_table_size = config.domains.flow_table_size >= 0
                                   ? MIN (config.domains.flow_table_size, flow_table_size)
                                   : flow_table_size;
  vnm_config_clear (&config);
  vnm_registry_set_observer (ctx.d.registry, registry_changed, NULL);
  ctx.d.settle = settle_now;

  ctx.d.linkstats = vnm_linkstats_new (&error);
  if (!ctx.d.linkstats || !vnm_linkstats_monitor (ctx.d.linkstats, link_event, NULL, &error))
    {
      g_printerr ("virtnetmond: %s\n", error->message);
      return 1;
    }
  refresh (NULL);
  /* --pin-dir "" pins nowhere. */
  pin_where = !pin_dir ? VNM_DEFAULT_PIN_DIR : *pin_dir ? pin_dir : NULL;
  {
    VnmFlowMonitorConfig fc = {
      .table_size = flow_table_size,
      .idle_timeout_s = flow_idle_timeout,
      .retention_s = 15 * 60,
      .max_ended = 100000,
      .state_dir = state_dir ? state_dir : VNM_DEFAULT_STATE_DIR,
      .pin_dir = pin_where,
      .attach = attach,
    };
    ctx.d.flows = vnm_flow_monitor_new (&ctx.d, &fc, no_bpf);
  }
  {
    VnmLatencyConfig lc = {
      .paths = 16384,
      .hist_devices = (guint) latency_devices,
      .threshold_ns = (guint64) latency_threshold_us * 1000,
      .max_events_per_s = latency_events_rate,
      .raw_tp = g_strcmp0 (latency_programs, "raw_tp") == 0,
      .state_dir = state_dir ? state_dir : VNM_DEFAULT_STATE_DIR,
    };
    /* The drop counters go where the flow maps went (the flow probe holds
     * the pin directory's lock). */
    if (*vnm_flow_monitor_pinned (ctx.d.flows))
      lc.pin_dir = pin_where;
    ctx.d.latency = vnm_latency_monitor_new (&ctx.d, &lc, no_bpf);
  }

  if (metrics_listen)
    {
      g_autofree gchar *where = NULL;
      metrics_http = vnm_metrics_http_new (metrics_listen, render_metrics, &ctx.d, &error);
      if (!metrics_http)
        {
          g_printerr ("virtnetmond: %s\n", error->message);
          return 1;
        }
      where = vnm_metrics_http_describe (metrics_http);
      g_message ("Serving Prometheus metrics at %s.", where);
    }

  bus = vnm_bus_open (bus_address, opt_session, &error);
  if (!bus)
    {
      g_printerr ("virtnetmond: %s\n", error->message);
      return 1;
    }
  ctx.d.dbus = vnm_dbus_service_new (&ctx.d, bus, uri, G_CALLBACK (name_lost), NULL, &error);
  if (!ctx.d.dbus)
    {
      g_printerr ("virtnetmond: %s\n", error->message);
      return 1;
    }

  bus_file = g_build_filename (state_dir ? state_dir : VNM_DEFAULT_STATE_DIR, VNM_BUS_ADDRESS_FILE, NULL);
  publish_bus_address (bus_file, bus_address, opt_session);

  ctx.d.libvirt = vnm_libvirt_watch_new (uri, ctx.d.registry, libvirt_state, NULL);
  vnm_libvirt_watch_start (ctx.d.libvirt);
  scan_qemu (NULL);
  publish ();

  ctx.refresh_source = g_timeout_add ((guint) (interval * 1000), refresh, NULL);
  ctx.scan_source = g_timeout_add_seconds (QEMU_SCAN_PERIOD_S, scan_qemu, NULL);
  g_unix_signal_add (SIGINT, on_signal, GINT_TO_POINTER (SIGINT));
  g_unix_signal_add (SIGTERM, on_signal, GINT_TO_POINTER (SIGTERM));

  g_message ("Serving %s (interval %.1f s, libvirt %s).", VNM_DBUS_NAME, interval, uri);
  g_main_loop_run (ctx.loop);

  if (bus_address || opt_session)
    g_unlink (bus_file);
  g_source_remove (ctx.refresh_source);
  g_source_remove (ctx.scan_source);
  if (ctx.reconcile_source)
    g_source_remove (ctx.reconcile_source);
  vnm_registry_set_observer (ctx.d.registry, NULL, NULL);
  vnm_flow_monitor_stop (ctx.d.flows);
  g_clear_pointer (&ctx.d.libvirt, vnm_libvirt_watch_free);
  g_clear_pointer (&metrics_http, vnm_metrics_http_free);
  g_clear_pointer (&ctx.d.dbus, vnm_dbus_service_free);
  g_clear_pointer (&ctx.d.flows, vnm_flow_monitor_free);
  g_clear_pointer (&ctx.d.latency, vnm_latency_monitor_free);
  g_clear_pointer (&ctx.d.linkstats, vnm_linkstats_free);
  g_clear_pointer (&ctx.d.registry, vnm_registry_free);
  g_clear_pointer (&ctx.d.sampler, vnm_sampler_free);
  g_clear_pointer (&ctx.d.caps, vnm_kernel_caps_free);
  g_hash_table_unref (ctx.d.link_by_name);
  g_hash_table_unref (ctx.applied);
  g_array_unref (ctx.d.links);
  g_main_loop_unref (ctx.loop);
  return ctx.exit_status;
}
