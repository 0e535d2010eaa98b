/* client.c: D-Bus connection and error reporting for the CLI. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-bus.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-json.h"
#include "vnm-names.h"

static void
print_not_running (void)
{
  g_printerr (_("virtnetmon: the virtnetmond daemon is not running (no owner of %s on the bus); start it as root with 'systemctl start virtnetmond' or 'virtnetmond &' (or ./run.sh from a source tree).\n"),
              VNM_DBUS_NAME);
}

/* Asks the bus to start virtnetmond when it has an activation file for it
 * (an installed package). FALSE with @error unset: the bus knows no way to
 * start it. */
static gboolean
activate_daemon (GDBusConnection *bus, GError **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(GVariant) reply =
    g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                 "org.freedesktop.DBus", "StartServiceByName",
                                 g_variant_new ("(su)", VNM_DBUS_NAME, 0), G_VARIANT_TYPE ("(u)"),
                                 G_DBUS_CALL_FLAGS_NONE, 30000, NULL, &local);

  if (reply)
    return TRUE;
  if (g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN))
    return FALSE;
  g_dbus_error_strip_remote_error (local);
  g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_SPAWN_FAILED,
               _("the bus could not start virtnetmond: %s"), local->message);
  return FALSE;
}

VnmMonitor1 *
vnm_cli_open (const VnmCliOptions *opts, gboolean *not_running, GError **error)
{
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autofree gchar *owner = NULL;

  (void) vnm_error_quark ();  /* map org.virtnetmon.Error.* to VNM_ERROR */
  *not_running = FALSE;
  bus = vnm_bus_open (opts->bus_address, opts->session, error);
  if (!bus)
    {
      *not_running = TRUE;
      return NULL;
    }
  proxy = vnm_monitor1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                       VNM_DBUS_NAME, VNM_DBUS_PATH, NULL, error);
  if (!proxy)
    {
      g_prefix_error (error, _("cannot reach %s: "), VNM_DBUS_NAME);
      return NULL;
    }
  owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
  if (!owner)
    {
      /* Installed with its activation file: the bus starts the daemon. */
      if (activate_daemon (bus, error))
        {
          g_clear_object (&proxy);
          proxy = vnm_monitor1_proxy_new_sync (bus, G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START,
                                               VNM_DBUS_NAME, VNM_DBUS_PATH, NULL, error);
          if (!proxy)
            return NULL;
          owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));
        }
      else if (error && *error)
        {
          *not_running = TRUE;
          return NULL;
        }
    }
  if (!owner)
    {
      g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER,
                   _("the virtnetmond daemon is not running (no owner of %s on the bus)"),
                   VNM_DBUS_NAME);
      *not_running = TRUE;
      return NULL;
    }
  g_dbus_proxy_set_default_timeout (G_DBUS_PROXY (proxy), 10000);
  return g_steal_pointer (&proxy);
}

VnmMonitor1 *
vnm_cli_connect (const VnmCliOptions *opts)
{
  g_autoptr(GError) error = NULL;
  gboolean not_running;
  VnmMonitor1 *proxy = vnm_cli_open (opts, &not_running, &error);

  if (proxy)
    return proxy;
  if (!g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    g_printerr ("virtnetmon: %s\n", error->message);
  if (not_running)
    print_not_running ();
  return NULL;
}

gboolean
vnm_cli_error_is_not_running (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_SERVICE_UNKNOWN) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER) ||
         g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY);
}

int
vnm_cli_report_error (const gchar *what, GError *error)
{
  if (vnm_cli_error_is_not_running (error))
    {
      print_not_running ();
      return VNM_EXIT_FAILURE;
    }
  if (g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
    {
      /* The bus policy refused the call before the daemon saw it. */
      g_printerr (_("virtnetmon: %s: permission denied: the system bus policy does not let this user make the call (org.virtnetmon.Monitor1.conf; reading may be limited to one group).\n"),
                  what);
      return VNM_EXIT_FAILURE;
    }
  g_dbus_error_strip_remote_error (error);
  if (g_error_matches (error, VNM_ERROR, VNM_ERROR_PERMISSION_DENIED))
    {
      /* The daemon refused: not root, and polkit did not authorize. */
      g_printerr (_("virtnetmon: %s: permission denied: %s\n"), what, error->message);
      return VNM_EXIT_FAILURE;
    }
  g_printerr ("virtnetmon: %s: %s\n", what, error->message);
  return VNM_EXIT_FAILURE;
}

void
vnm_cli_print_json (GVariant *value)
{
  g_autofree gchar *text = vnm_json_from_variant (value);

  fputs (text, stdout);
}

const gchar *
vnm_rec_str (GVariant *rec, const gchar *key)
{
  const gchar *s = NULL;

  if (!g_variant_lookup (rec, key, "&s", &s) && !g_variant_lookup (rec, key, "&o", &s))
    return "";
  return s;
}

gdouble
vnm_rec_double (GVariant *rec, const gchar *key)
{
  gdouble d = 0;

  g_variant_lookup (rec, key, "d", &d);
  return d;
}

guint64
vnm_rec_u64 (GVariant *rec, const gchar *key)
{
  guint64 v = 0;

  if (!g_variant_lookup (rec, key, "t", &v))
    return (guint64) MAX (vnm_rec_int (rec, key), 0);
  return v;
}

gint64
vnm_rec_int (GVariant *rec, const gchar *key)
{
  g_autoptr(GVariant) v = g_variant_lookup_value (rec, key, NULL);

  if (!v)
    return 0;
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT16))
    return g_variant_get_uint16 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT32))
    return g_variant_get_int32 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_INT64))
    return g_variant_get_int64 (v);
  if (g_variant_is_of_type (v, G_VARIANT_TYPE_UINT64))
    return (gint64) g_variant_get_uint64 (v);
  return 0;
}

gboolean
vnm_rec_bool (GVariant *rec, const gchar *key)
{
  gboolean b = FALSE;

  g_variant_lookup (rec, key, "b", &b);
  return b;
}

gboolean
vnm_cli_parse (GOptionContext *octx, int *argc, char ***argv, int *status)
{
  g_autoptr(GError) error = NULL;

  g_option_context_set_translation_domain (octx, GETTEXT_PACKAGE);
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      g_printerr ("virtnetmon: %s\n", error->message);
      g_printerr (_("Run 'virtnetmon %s --help' for its options.\n"), (*argv)[0]);
      *status = VNM_EXIT_USAGE;
      return FALSE;
    }
  return TRUE;
}
