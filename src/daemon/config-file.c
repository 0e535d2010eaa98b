/* config-file.c: the daemon's configuration file. */
#include "config.h"

#include <string.h>

#include "config-file.h"
#include "vnm-limits.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

static const gchar *const daemon_keys[] = { "connect", "interval", "metrics-listen",
                                            "latency-sampling", "ipfix-collector",
                                            "ipfix-active-timeout", "ipfix-observation-domain",
                                            "usage-db", "usage-flush-interval", NULL };
static const gchar *const domains_keys[] = { "monitoring", "latency", "latency-threshold-us",
                                             "flow-table-size", "usage-quota-bytes", NULL };

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

/* @group's @key as text (stripped), or NULL in *@out when the file does not
 * set it. A value that is not UTF-8 is an error. */
static gboolean
read_string (GKeyFile *kf, const gchar *path, const gchar *group, const gchar *key, gchar **out,
             GError **error)
{
  *out = NULL;
  if (!g_key_file_has_key (kf, group, key, NULL))
    return TRUE;
  if (!(*out = g_key_file_get_string (kf, group, key, NULL)))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("%s= in [%s] of '%s' is not valid UTF-8 text."), key, group, path);
      return FALSE;
    }
  g_strstrip (*out);
  return TRUE;
}

static gboolean
read_switch (GKeyFile *kf, const gchar *path, const gchar *group, const gchar *key, gint *out,
             GError **error)
{
  g_autofree gchar *v = NULL;

  if (!read_string (kf, path, group, key, &v, error))
    return FALSE;
  if (!v)
    return TRUE;
  if (g_str_equal (v, "yes") || g_str_equal (v, "on") || g_str_equal (v, "true"))
    *out = 1;
  else if (g_str_equal (v, "no") || g_str_equal (v, "off") || g_str_equal (v, "false"))
    *out = 0;
  else
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("%s= in [%s] of '%s' is '%s'; use yes or no."), key, group, path, v);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_number_in (GKeyFile *kf, const gchar *path, const gchar *group, const gchar *key,
                gint64 min, gint64 max, gint64 *out, GError **error)
{
  g_autofree gchar *v = NULL;

  if (!read_string (kf, path, group, key, &v, error))
    return FALSE;
  if (!v)
    return TRUE;
  if (!g_ascii_string_to_signed (v, 10, min, max, out, NULL))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("%s= in [%s] of '%s' is '%s'; use a whole number from %lld to %lld."),
                   key, group, path, v, (long long) min, (long long) max);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_number (GKeyFile *kf, const gchar *path, const gchar *key, gint64 min, gint64 max,
             gint64 *out, GError **error)
{
  return read_number_in (kf, path, "domains", key, min, max, out, error);
}

static gboolean
read_interval (GKeyFile *kf, const gchar *path, VnmConfig *out, GError **error)
{
  g_autofree gchar *v = NULL;
  gchar *end = NULL;

  if (!read_string (kf, path, "daemon", "interval", &v, error))
    return FALSE;
  if (!v)
    return TRUE;
  out->interval = g_ascii_strtod (v, &end);
  if (!*v || *end || !(out->interval >= VNM_INTERVAL_MIN_S && out->interval <= VNM_INTERVAL_MAX_S))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("interval= in [daemon] of '%s' is '%s'; use seconds from %g to %g."),
                   path, v, VNM_INTERVAL_MIN_S, VNM_INTERVAL_MAX_S);
      return FALSE;
    }
  out->has_interval = TRUE;
  return TRUE;
}

static gboolean
read_flush_interval (GKeyFile *kf, const gchar *path, VnmConfig *out, GError **error)
{
  g_autofree gchar *v = NULL;
  gint64 n;

  if (!read_string (kf, path, "daemon", "usage-flush-interval", &v, error))
    return FALSE;
  if (!v)
    return TRUE;
  if (!g_ascii_string_to_signed (v, 10, VNM_USAGE_FLUSH_MIN_S, VNM_USAGE_FLUSH_MAX_S, &n, NULL))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("usage-flush-interval= in [daemon] of '%s' is '%s'; use whole seconds from %d to %d."),
                   path, v, VNM_USAGE_FLUSH_MIN_S, VNM_USAGE_FLUSH_MAX_S);
      return FALSE;
    }
  out->usage_flush_interval_s = (gint) n;
  return TRUE;
}

static gboolean
load_keys (GKeyFile *kf, const gchar *path, VnmConfig *out, GError **error)
{
  return check_keys (kf, path, error) &&
         read_string (kf, path, "daemon", "connect", &out->uri, error) &&
         read_string (kf, path, "daemon", "metrics-listen", &out->metrics_listen, error) &&
         read_interval (kf, path, out, error) &&
         read_switch (kf, path, "daemon", "latency-sampling", &out->latency_sampling, error) &&
         read_string (kf, path, "daemon", "ipfix-collector", &out->ipfix_collector, error) &&
         read_number_in (kf, path, "daemon", "ipfix-active-timeout", VNM_IPFIX_ACTIVE_TIMEOUT_MIN_S,
                         VNM_IPFIX_ACTIVE_TIMEOUT_MAX_S, &out->ipfix_active_timeout, error) &&
         read_number_in (kf, path, "daemon", "ipfix-observation-domain", VNM_IPFIX_DOMAIN_MIN,
                         VNM_IPFIX_DOMAIN_MAX, &out->ipfix_observation_domain, error) &&
         read_switch (kf, path, "domains", "monitoring", &out->domains.monitoring, error) &&
         read_switch (kf, path, "domains", "latency", &out->domains.latency, error) &&
         read_number (kf, path, "latency-threshold-us", 0, VNM_LATENCY_THRESHOLD_MAX_US,
                      &out->domains.latency_threshold_us, error) &&
         read_number (kf, path, "flow-table-size", VNM_FLOW_TABLE_MIN, VNM_FLOW_TABLE_MAX,
                      &out->domains.flow_table_size, error) &&
         read_number (kf, path, "usage-quota-bytes", 0, VNM_USAGE_QUOTA_MAX,
                      &out->domains.usage_quota_bytes, error) &&
         read_string (kf, path, "daemon", "usage-db", &out->usage_db, error) &&
         read_flush_interval (kf, path, out, error);
}

gboolean
vnm_config_load (const gchar *path, VnmConfig *out, GError **error)
{
  g_autoptr(GKeyFile) kf = g_key_file_new ();

  memset (out, 0, sizeof *out);
  out->latency_sampling = -1;
  out->ipfix_active_timeout = -1;
  out->ipfix_observation_domain = -1;
  vnm_domain_settings_init (&out->domains);
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, error))
    {
      g_prefix_error (error, _("Cannot read the configuration file '%s': "), path);
      return FALSE;
    }
  if (!load_keys (kf, path, out, error))
    {
      vnm_config_clear (out);
      return FALSE;
    }
  return TRUE;
}

void
vnm_config_clear (VnmConfig *config)
{
  g_clear_pointer (&config->uri, g_free);
  g_clear_pointer (&config->metrics_listen, g_free);
  g_clear_pointer (&config->ipfix_collector, g_free);
  g_clear_pointer (&config->usage_db, g_free);
}
