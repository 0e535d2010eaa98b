/* config-file.c: the daemon's configuration file. */
#include "config.h"

#include "config-file.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

gboolean
vnm_config_load (const gchar *path, gchar **uri, gdouble *interval, gchar **metrics_listen,
                 GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) keys = NULL;

  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, _("Cannot read the configuration file '%s': "), path);
      return FALSE;
    }
  keys = g_key_file_get_keys (kf, "daemon", NULL, NULL);
  for (gchar **k = keys; k && *k; k++)
    if (!g_str_equal (*k, "connect") && !g_str_equal (*k, "interval") &&
        !g_str_equal (*k, "metrics-listen"))
      {
        g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                     _("Unknown key '%s' in section [daemon] of '%s'."), *k, path);
        return FALSE;
      }
  if (!*uri && g_key_file_has_key (kf, "daemon", "connect", NULL))
    *uri = g_key_file_get_string (kf, "daemon", "connect", NULL);
  if (!*metrics_listen && g_key_file_has_key (kf, "daemon", "metrics-listen", NULL))
    *metrics_listen = g_key_file_get_string (kf, "daemon", "metrics-listen", NULL);
  if (g_key_file_has_key (kf, "daemon", "interval", NULL))
    {
      gdouble v = g_key_file_get_double (kf, "daemon", "interval", &local);
      if (local)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("The interval in '%s' is not a number: %s"), path, local->message);
          return FALSE;
        }
      /* The command line wins: only replace the built-in default. */
      if (*interval == 1.0)
        *interval = v;
    }
  return TRUE;
}
