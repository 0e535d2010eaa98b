/* dbus-records-settings.c: per-domain settings on D-Bus: the Settings property and
 * SetDomainSettings' arguments. */
#include "config.h"

#include "dbus-records.h"
#include "vnm-limits.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

static const gchar *const setting_names[] = {
  "monitoring", "latency", "latency_threshold_us", "flow_table_size", "usage_quota_bytes", NULL
};

GVariant *
vnm_record_domain_settings (VnmEngine *engine, const VnmDomain *d)
{
  GVariantBuilder b, from;
  VnmDomainSettings eff;
  const gint64 own[] = { d->settings.monitoring, d->settings.latency,
                         d->settings.latency_threshold_us, d->settings.flow_table_size,
                         d->settings.usage_quota_bytes };

  vnm_domain_effective_settings (d, vnm_engine_get_defaults (engine), &eff);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("a{sv}"));
  g_variant_builder_init (&from, G_VARIANT_TYPE ("as"));
  ADD (&b, "monitoring", g_variant_new_boolean (eff.monitoring > 0));
  ADD (&b, "latency", g_variant_new_boolean (eff.latency > 0));
  ADD (&b, "latency_threshold_us", g_variant_new_uint64 ((guint64) MAX (eff.latency_threshold_us, 0)));
  ADD (&b, "flow_table_size", g_variant_new_uint64 ((guint64) MAX (eff.flow_table_size, 0)));
  ADD (&b, "usage_quota_bytes", g_variant_new_uint64 ((guint64) MAX (eff.usage_quota_bytes, 0)));
  for (guint i = 0; setting_names[i]; i++)
    if (own[i] >= 0)
      g_variant_builder_add (&from, "s", setting_names[i]);
  ADD (&b, "from_metadata", g_variant_builder_end (&from));
  /* What the daemon does now, which a command may have changed. */
  ADD (&b, "latency_tracing",
       g_variant_new_boolean (vnm_latency_monitor_get (vnm_engine_get_latency_monitor (engine),
                                                       d->uuid, NULL) != NULL));
  ADD (&b, "latency_source", g_variant_new_string (vnm_engine_latency_source (engine, d)));
  ADD (&b, "error", g_variant_new_string (d->settings_error ? d->settings_error : ""));
  return g_variant_builder_end (&b);
}

static gboolean
bad_setting (GError **error, const gchar *key, const gchar *why)
{
  g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, _("Setting '%.32s': %s"), key, why);
  return FALSE;
}

gboolean
vnm_record_settings_change (GVariant *settings, const gchar *const *unset,
                           VnmDomainSettings *c, GError **error)
{
  GVariantIter it;
  const gchar *key;
  GVariant *value;
  guint64 n;

  vnm_domain_settings_init (c);
  g_variant_iter_init (&it, settings);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;

      if (g_str_equal (key, "monitoring") || g_str_equal (key, "latency"))
        {
          if (!g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
            return bad_setting (error, key, _("give a boolean (b)."));
          *(key[0] == 'm' ? &c->monitoring : &c->latency) = g_variant_get_boolean (v) ? 1 : 0;
        }
      else if (g_str_equal (key, "latency_threshold_us"))
        {
          if (!vnm_record_number (v, VNM_LATENCY_THRESHOLD_MAX_US, &n))
            {
              g_autofree gchar *why =
                g_strdup_printf (_("give microseconds from 0 to %d."), VNM_LATENCY_THRESHOLD_MAX_US);
              return bad_setting (error, key, why);
            }
          c->latency_threshold_us = (gint64) n;
        }
      else if (g_str_equal (key, "flow_table_size"))
        {
          if (!vnm_record_number (v, VNM_FLOW_TABLE_MAX, &n) || n < VNM_FLOW_TABLE_MIN)
            {
              g_autofree gchar *why =
                g_strdup_printf (_("give a number of flows from %d to %d."), VNM_FLOW_TABLE_MIN,
                                 VNM_FLOW_TABLE_MAX);
              return bad_setting (error, key, why);
            }
          c->flow_table_size = (gint64) n;
        }
      else if (g_str_equal (key, "usage_quota_bytes"))
        {
          if (!vnm_record_number (v, (guint64) VNM_USAGE_QUOTA_MAX, &n))
            {
              g_autofree gchar *why =
                g_strdup_printf (_("give bytes a month from 0 (no quota) to %lld."),
                                 (long long) VNM_USAGE_QUOTA_MAX);
              return bad_setting (error, key, why);
            }
          c->usage_quota_bytes = (gint64) n;
        }
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown setting '%.32s': use monitoring, latency, latency_threshold_us, flow_table_size or usage_quota_bytes."),
                       key);
          return FALSE;
        }
    }
  for (const gchar *const *u = unset; u && *u; u++)
    {
      if (g_str_equal (*u, "monitoring"))
        c->monitoring = VNM_SETTING_UNSET;
      else if (g_str_equal (*u, "latency"))
        c->latency = VNM_SETTING_UNSET;
      else if (g_str_equal (*u, "latency_threshold_us"))
        c->latency_threshold_us = VNM_SETTING_UNSET;
      else if (g_str_equal (*u, "flow_table_size"))
        c->flow_table_size = VNM_SETTING_UNSET;
      else if (g_str_equal (*u, "usage_quota_bytes"))
        c->usage_quota_bytes = VNM_SETTING_UNSET;
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Cannot unset '%.32s': use monitoring, latency, latency_threshold_us, flow_table_size or usage_quota_bytes."),
                       *u);
          return FALSE;
        }
    }
  return TRUE;
}
