/* client.c: D-Bus connection and error reporting for the CLI. */
#include "config.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

static VnmMonitor1 *
open_proxy (const VnmCliOptions *opts, GDBusProxyFlags flags, gboolean *not_running,
            GError **error)
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
  flags |= G_DBUS_PROXY_FLAGS_DO_NOT_AUTO_START;
  proxy = vnm_monitor1_proxy_new_sync (bus, flags, VNM_DBUS_NAME, VNM_DBUS_PATH, NULL, error);
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
          proxy = vnm_monitor1_proxy_new_sync (bus, flags, VNM_DBUS_NAME, VNM_DBUS_PATH,
                                               NULL, error);
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
vnm_cli_open (const VnmCliOptions *opts, gboolean *not_running, GError **error)
{
  return open_proxy (opts, G_DBUS_PROXY_FLAGS_NONE, not_running, error);
}

static VnmMonitor1 *
connect_proxy (const VnmCliOptions *opts, GDBusProxyFlags flags)
{
  g_autoptr(GError) error = NULL;
  gboolean not_running;
  VnmMonitor1 *proxy = open_proxy (opts, flags, &not_running, &error);

  if (proxy)
    return proxy;
  if (!g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_NAME_HAS_NO_OWNER))
    g_printerr ("virtnetmon: %s\n", error->message);
  if (not_running)
    print_not_running ();
  return NULL;
}

VnmMonitor1 *
vnm_cli_connect (const VnmCliOptions *opts)
{
  return connect_proxy (opts, G_DBUS_PROXY_FLAGS_NONE);
}

VnmMonitor1 *
vnm_cli_connect_for_calls (const VnmCliOptions *opts)
{
  /* No GetAll of the daemon's properties, no match rules for its signals. */
  return connect_proxy (opts, G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES |
                              G_DBUS_PROXY_FLAGS_DO_NOT_CONNECT_SIGNALS);
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

/* How the running subcommand was typed: its name, and for each option
 * given (by long name) how it was typed last. */
static const gchar *typed_command = "";
static GHashTable *typed_options;

static const GOptionEntry *
find_long (const GOptionEntry *entries, const gchar *name, gsize len)
{
  for (const GOptionEntry *e = entries; e->long_name; e++)
    if (strlen (e->long_name) == len && strncmp (e->long_name, name, len) == 0)
      return e;
  return NULL;
}

static const GOptionEntry *
find_short (const GOptionEntry *entries, gchar c)
{
  for (const GOptionEntry *e = entries; e->long_name; e++)
    if (e->short_name && e->short_name == c)
      return e;
  return NULL;
}

/* Walks @args (the command line before parsing) as GOption does and
 * records how each option was typed. FALSE after a usage error GOption
 * lets pass: a value given to an option that takes none ("--asc=no").
 * *separator_kept: a "--" ends the options, and GOption left it in argv
 * (it does so when the next argument starts with '-'). */
static gboolean
record_typed (const GOptionEntry *entries, gchar **args, gboolean *separator_kept)
{
  *separator_kept = FALSE;
  typed_options = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 1; args[i]; i++)
    {
      const gchar *a = args[i];

      if (a[0] != '-' || a[1] == '\0')
        continue;
      if (g_str_equal (a, "--"))
        {
          *separator_kept = args[i + 1] && args[i + 1][0] == '-';
          break;
        }
      if (a[1] == '-')
        {
          const gchar *eq = strchr (a, '=');
          gsize len = eq ? (gsize) (eq - a) : strlen (a);
          const GOptionEntry *e = find_long (entries, a + 2, len - 2);
          g_autofree gchar *name = g_strndup (a, len);

          if (!e)
            continue;
          if (e->arg == G_OPTION_ARG_NONE && eq)
            {
              vnm_cli_usage_error (_("%s takes no value, not '%s'."), name, eq + 1);
              return FALSE;
            }
          if (e->arg != G_OPTION_ARG_NONE && !eq && args[i + 1])
            i++;
          g_hash_table_insert (typed_options, (gpointer) e->long_name,
                               (gpointer) g_intern_string (name));
          continue;
        }
      /* A group of short options: each one that takes a value takes the
       * next argument. */
      {
        guint values = 0;
        for (const gchar *c = a + 1; *c; c++)
          {
            const GOptionEntry *e = find_short (entries, *c);
            gchar name[3] = { '-', *c, '\0' };

            if (!e)
              continue;
            if (e->arg != G_OPTION_ARG_NONE)
              values++;
            g_hash_table_insert (typed_options, (gpointer) e->long_name,
                                 (gpointer) g_intern_string (name));
          }
        for (; values && args[i + 1]; values--)
          i++;
      }
    }
  return TRUE;
}

gboolean
vnm_cli_parse (GOptionContext *octx, const GOptionEntry *entries,
               int *argc, char ***argv, int *status)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) args = g_strdupv (*argv);
  gboolean separator_kept;

  typed_command = g_intern_string ((*argv)[0]);
  g_option_context_set_translation_domain (octx, GETTEXT_PACKAGE);
  g_option_context_set_description (octx,
    _("Exit status: 0 success; 1 failure (the daemon is not running, unknown domain\n"
      "or interface, permission denied); 2 usage error."));
  if (!g_option_context_parse (octx, argc, argv, &error))
    {
      g_printerr (_("virtnetmon: %s: %s (see 'virtnetmon %s --help').\n"),
                  typed_command, error->message, typed_command);
      *status = VNM_EXIT_USAGE;
      return FALSE;
    }
  if (!record_typed (entries, args, &separator_kept))
    {
      *status = VNM_EXIT_USAGE;
      return FALSE;
    }
  /* "virtnetmon domiflist -- -odd-name": the "--" is not an argument. */
  for (int i = 1; separator_kept && i < *argc; i++)
    if (g_str_equal ((*argv)[i], "--"))
      {
        memmove (*argv + i, *argv + i + 1, (*argc - i) * sizeof (char *));
        (*argc)--;
        break;
      }
  return TRUE;
}

const gchar *
vnm_cli_option (const gchar *long_name)
{
  const gchar *typed = typed_options ? g_hash_table_lookup (typed_options, long_name) : NULL;

  if (typed)
    return typed;
  {
    g_autofree gchar *name = g_strconcat ("--", long_name, NULL);
    return g_intern_string (name);
  }
}

gboolean
vnm_cli_given (const gchar *long_name)
{
  return typed_options && g_hash_table_contains (typed_options, long_name);
}

int
vnm_cli_usage_error (const gchar *format, ...)
{
  g_autofree gchar *message = NULL;
  va_list ap;

  va_start (ap, format);
  message = g_strdup_vprintf (format, ap);
  va_end (ap);
  g_printerr ("virtnetmon: %s: %s\n", typed_command, message);
  return VNM_EXIT_USAGE;
}

gboolean
vnm_cli_bad_value (const gchar *long_name, const gchar *value, const gchar *expected)
{
  /* TRANSLATORS: "--sort takes rx|tx, not 'up'." */
  vnm_cli_usage_error (_("%s takes %s, not '%s'."), vnm_cli_option (long_name), expected, value);
  return FALSE;
}

gboolean
vnm_cli_check_choice (const gchar *long_name, const gchar *value, const gchar *const *choices)
{
  g_autofree gchar *expected = NULL;

  if (!value || g_strv_contains (choices, value))
    return TRUE;
  expected = g_strjoinv ("|", (gchar **) choices);
  return vnm_cli_bad_value (long_name, value, expected);
}

gboolean
vnm_cli_parse_number (const gchar *long_name, const gchar *value,
                      guint64 min, guint64 max, guint64 *out)
{
  if (g_ascii_string_to_unsigned (value, 10, min, max, out, NULL))
    return TRUE;
  vnm_cli_usage_error (_("%s takes a whole number from %llu to %llu, not '%s'."),
                       vnm_cli_option (long_name), (unsigned long long) min,
                       (unsigned long long) max, value);
  return FALSE;
}

gboolean
vnm_cli_parse_address (const gchar *long_name, const gchar *value,
                       gint *family, gchar **canonical)
{
  guint8 addr[16];
  gchar text[INET6_ADDRSTRLEN];

  *family = inet_pton (AF_INET, value, addr) == 1 ? AF_INET
            : inet_pton (AF_INET6, value, addr) == 1 ? AF_INET6 : 0;
  if (!*family || !inet_ntop (*family, addr, text, sizeof text))
    return vnm_cli_bad_value (long_name, value, _("an IPv4 or IPv6 address"));
  *canonical = g_strdup (text);
  return TRUE;
}

gboolean
vnm_cli_check_length (const gchar *what, const gchar *value, gsize max)
{
  gsize len = strlen (value);

  if (len <= max)
    return TRUE;
  vnm_cli_usage_error (_("%s '%.32s...' is %zu bytes long; at most %zu are accepted."),
                       what, value, len, max);
  return FALSE;
}

gboolean
vnm_cli_one_domain (const gchar *cmd, int argc, char **argv)
{
  if (argc < 2)
    {
      g_printerr (_("virtnetmon: %s: which domain? Give a name, id or uuid.\n"), cmd);
      return FALSE;
    }
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: %s: unexpected argument '%s'.\n"), cmd, argv[2]);
      return FALSE;
    }
  return vnm_cli_check_length ("DOMAIN", argv[1], VNM_CLI_ARG_MAX_LEN);
}

void
vnm_cli_add_entries (GVariantBuilder *builder, GVariant *dict)
{
  GVariantIter it;
  const gchar *key;
  GVariant *value;

  g_variant_iter_init (&it, dict);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_variant_builder_add (builder, "{sv}", key, value);
      g_variant_unref (value);
    }
}

gboolean
vnm_cli_conflict (const gchar *long_a, const gchar *long_b)
{
  if (!vnm_cli_given (long_a) || !vnm_cli_given (long_b))
    return FALSE;
  vnm_cli_usage_error (_("%s does not go with %s."), vnm_cli_option (long_a),
                       vnm_cli_option (long_b));
  return TRUE;
}
