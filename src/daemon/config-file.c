/* config-file.c: the daemon's configuration file. */
#include "config.h"

#include <string.h>

#include "config-file.h"
#include "vnm-limits.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

static const gchar *const daemon_keys[] = { "connect", "interval", "metrics-listen", NULL };
static const gchar *const domains_keys[] = { "monitoring", "latency", "latency-threshold-us",
                                             "flow-table-size", NULL };

static gboolean
check_keys (GKeyFile *kf, const gchar *path, GError **error)
{
  g_auto(GStrv) groups = g_key_file_get_groups (kf, NULL);

  for (gchar **g = groups; *g; g++)
    {
      const gchar *const *known = g_str_equal (*g, "daemon") ? daemon_keys
                                  : g_str_equal (*g, "domains") ? domains_keys : NULL;
      g_auto(GStrv) keys = NULL;

      if (!known)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown section [%s] in '%s' (known: [daemon], [domains])."), *g, path);
          return FALSE;
        }
      keys = g_key_file_get_keys (kf, *g, NULL, NULL);
      for (gchar **k = keys; k && *k; k++)
        if (!g_strv_contains (known, *k))
          {
            g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                         _("Unknown key '%s' in section [%s] of '%s'."), *k, *g, path);
            return FALSE;
          }
    }
  return TRUE;
}

static gboolean
read_switch (GKeyFile *kf, const gchar *path, const gchar *key, gint *out, GError **error)
{
  g_autofree gchar *v = NULL;

  if (!g_key_file_has_key (kf, "domains", key, NULL))
    return TRUE;
  v = g_strstrip (g_key_file_get_string (kf, "domains", key, NULL));
  if (g_str_equal (v, "yes") || g_str_equal (v, "on") || g_str_equal (v, "true"))
    *out = 1;
  else if (g_str_equal (v, "no") || g_str_equal (v, "off") || g_str_equal (v, "false"))
    *out = 0;
  else
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("%s= in [domains] of '%s' is '%s'; use yes or no."), key, path, v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_number (GKeyFile *kf, const gchar *path, const gchar *key, gint64 min, gint64 max,
             gint64 *out, GError **error)
{
  g_autofree gchar *v = NULL;

  if (!g_key_file_has_key (kf, "domains", key, NULL))
    return TRUE;
  v = g_strstrip (g_key_file_get_string (kf, "domains", key, NULL));
  if (!g_ascii_string_to_signed (v, 10, min, max, out, NULL))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("%s= in [domains] of '%s' is '%s'; use a whole number from %lld to %lld."),
                   key, path, v, (long long) min, (long long) max);
      return FALSE;
    }
  return TRUE;
}

gboolean
vnm_config_load (const gchar *path, VnmConfig *out, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();
  g_autoptr(GError) local = NULL;

  memset (out, 0, sizeof *out);
  vnm_domain_settings_init (&out->domains);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, _("Cannot read the configuration file '%s': "), path);
      return FALSE;
    }
  if (!check_keys (kf, path, error))
    return FALSE;
  if (g_key_file_has_key (kf, "daemon", "connect", NULL))
    out->uri = g_key_file_get_string (kf, "daemon", "connect", NULL);
  if (g_key_file_has_key (kf, "daemon", "metrics-listen", NULL))
    out->metrics_listen = g_key_file_get_string (kf, "daemon", "metrics-listen", NULL);
  if (g_key_file_has_key (kf, "daemon", "interval", NULL))
    {
      out->interval = g_key_file_get_double (kf, "daemon", "interval", &local);
      if (local)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("The interval in '%s' is not a number: %s"), path, local->message);
          return FALSE;
        }
    }
  return read_switch (kf, path, "monitoring", &out->domains.monitoring, error) &&
         read_switch (kf, path, "latency", &out->domains.latency, error) &&
         read_number (kf, path, "latency-threshold-us", 0, VNM_LATENCY_THRESHOLD_MAX_US,
                      &out->domains.latency_threshold_us, error) &&
         read_number (kf, path, "flow-table-size", VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX,
                      &out->domains.flow_table_size, error);
}

void
vnm_config_clear (VnmConfig *config)
{
  g_clear_pointer (&config->uri, g_free);
  g_clear_pointer (&config->metrics_listen, g_free);
}
