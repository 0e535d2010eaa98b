/* main.c: virtnetmond: options, the engine, its transports (D-Bus and
 * /metrics) and the main loop. The engine owns the state; this file only
 * wires it to the transports and stops them in order. */
#include "config.h"

#include <stdlib.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib-unix.h>

#include "dbus-service.h"
#include "engine.h"
#include "ipfix-exporter.h"
#include "metrics.h"
#include "metrics-http.h"
#include "options.h"
#include "vnm-bus.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

typedef struct {
  GMainLoop *loop;
  gint exit_status;
  VnmEngine *engine;
  VnmIpfixExporter *ipfix;
  guint metrics_peers;
} Context;

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

static void
name_lost (gpointer user_data)
{
  Context *ctx = user_data;

  g_printerr (_("virtnetmond: cannot own the D-Bus name %s: another virtnetmond runs, or the bus policy (org.virtnetmon.Monitor1.conf) does not allow this user to own it.\n"),
              VNM_DBUS_NAME);
  ctx->exit_status = EXIT_FAILURE;
  g_main_loop_quit (ctx->loop);
}

typedef struct
{
  Context *ctx;
  int signum;
} SignalWatch;

/* glibc's default threshold before it adapts: 128 KiB. */
#define VNM_MMAP_THRESHOLD (128 * 1024)

/* Start-up (libbpf parsing the kernel's BTF, libvirt's first listing, a
 * D-Bus object per domain) leaves the heap with free pages among the ones
 * in use, which glibc gives back to the system only from its top: hand
 * them back once the daemon has settled, then hourly (issue 24: about 1.5
 * MiB of RSS with 200 VMs). */
static gboolean
trim_heap (gpointer user_data)
{
#ifdef __GLIBC__
  malloc_trim (0);
#endif
  return G_SOURCE_CONTINUE;
}

static gboolean
trim_heap_once (gpointer user_data)
{
  guint *id = user_data;

  trim_heap (NULL);
  *id = 0;
  return G_SOURCE_REMOVE;
}

static gboolean
on_signal (gpointer user_data)
{
  SignalWatch *watch = user_data;

  g_message (_("Stopping on signal %d."), watch->signum);
  g_main_loop_quit (watch->ctx->loop);
  return G_SOURCE_CONTINUE;
}

static GString *
render_metrics (gpointer user_data)
{
  Context *ctx = user_data;

  return vnm_metrics_render (ctx->engine, ctx->ipfix, ctx->metrics_peers);
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
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(VnmEngine) engine = NULL;
  g_autoptr(VnmMetricsHttp) metrics_http = NULL;
  g_autoptr(VnmDbusService) dbus = NULL;
  g_autoptr(VnmIpfixExporter) ipfix = NULL;
  g_autofree gchar *bus_file = NULL;
  VnmOptions options;
  Context ctx = { 0 };

#ifdef __GLIBC__
  /* Large blocks (a scrape's text of a few MiB, libbpf's copy of the
   * kernel's BTF, its gzip) in mappings of their own, handed back when
   * freed. Setting the threshold turns off glibc's dynamic one, which
   * after the first such block is freed rises to its size and puts the
   * next ones on the heap, where the free space they leave stays
   * resident among live blocks (issue 24: RSS after a scrape of 200
   * traced VMs, 73 MiB). */
  mallopt (M_MMAP_THRESHOLD, VNM_MMAP_THRESHOLD);
#endif
  vnm_i18n_init ();
  if (!vnm_options_parse (&options, argc, argv, VNM_DEFAULT_CONFIG_FILE, &error))
    {
      g_printerr ("virtnetmond: %s\n%s\n", error->message,
                  _("Run 'virtnetmond --help' for the options."));
      vnm_options_clear (&options);
      return 2;
    }
  if (options.version)
    {
      g_print ("virtnetmond %s\n", PACKAGE_VERSION);
      vnm_options_clear (&options);
      return 0;
    }
  g_log_set_default_handler (log_handler, GINT_TO_POINTER (options.verbose));
  ctx.loop = g_main_loop_new (NULL, FALSE);

  engine = vnm_engine_new (&options, &error);
  if (!engine)
    goto fail;
  ctx.engine = engine;
  ctx.metrics_peers = (guint) options.metrics_peers;
  if (options.ipfix_collector)
    ctx.ipfix = ipfix = vnm_ipfix_exporter_new (engine, &options);
  if (options.metrics_listen)
    {
      g_autofree gchar *where = NULL;

      metrics_http = vnm_metrics_http_new (options.metrics_listen, render_metrics, &ctx, &error);
      if (!metrics_http)
        goto fail;
      where = vnm_metrics_http_describe (metrics_http);
      g_message (_("Serving Prometheus metrics at %s."), where);
    }
  bus = vnm_bus_open (options.bus_address, options.session_bus, &error);
  if (!bus)
    goto fail;
  dbus = vnm_dbus_service_new (engine, bus, G_CALLBACK (name_lost), &ctx, &error);
  if (!dbus)
    goto fail;
  vnm_dbus_service_set_ipfix (dbus, ipfix);
  bus_file = g_build_filename (options.state_dir, VNM_BUS_ADDRESS_FILE, NULL);
  publish_bus_address (bus_file, options.bus_address, options.session_bus);

  vnm_engine_start (engine);
  SignalWatch sigint = { &ctx, SIGINT }, sigterm = { &ctx, SIGTERM };
  guint sigint_id = g_unix_signal_add (SIGINT, on_signal, &sigint);
  guint sigterm_id = g_unix_signal_add (SIGTERM, on_signal, &sigterm);
  guint trim_once_id = 0;
  trim_once_id = g_timeout_add_seconds (30, trim_heap_once, &trim_once_id);
  guint trim_id = g_timeout_add_seconds (3600, trim_heap, NULL);
  g_message (_("Serving %s (interval %.1f s, libvirt %s)."), VNM_DBUS_NAME, options.interval_s,
             options.uri);
  g_main_loop_run (ctx.loop);
  g_source_remove (sigint_id);
  g_source_remove (sigterm_id);
  g_source_remove (trim_id);
  g_clear_handle_id (&trim_once_id, g_source_remove);

  if (options.bus_address || options.session_bus)
    g_unlink (bus_file);
  /* Sampling stops and the probes come off before the transports go. */
  vnm_engine_stop (engine);
  g_clear_pointer (&metrics_http, vnm_metrics_http_free);
  g_clear_pointer (&dbus, vnm_dbus_service_free);
  ctx.ipfix = NULL;
  g_clear_pointer (&ipfix, vnm_ipfix_exporter_free);
  g_clear_object (&engine);
  g_main_loop_unref (ctx.loop);
  vnm_options_clear (&options);
  return ctx.exit_status;

fail:
  g_printerr ("virtnetmond: %s\n", error->message);
  g_main_loop_unref (ctx.loop);
  vnm_options_clear (&options);
  return 1;
}
