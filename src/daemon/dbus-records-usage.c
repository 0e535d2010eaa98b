/* dbus-records-usage.c: usage totals on D-Bus: GetUsage's records and the
 * UsageStore property. */
#include "config.h"

#include "dbus-records.h"
#include "usage-store.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

static gchar *
period_name (VnmUsagePeriod period, gint64 start)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (start);

  return g_date_time_format (dt, period == VNM_USAGE_DAY ? "%Y-%m-%d" : "%Y-%m");
}

GVariant *
vnm_record_usage (VnmEngine *engine, const gchar *vm_uuid, gint64 month_start, gboolean daily,
                  gboolean interfaces, GError **error)
{
  VnmUsagePeriod period = daily ? VNM_USAGE_DAY : VNM_USAGE_MONTH;
  g_autoptr(GPtrArray) rows = NULL;
  GVariantBuilder b;

  rows = vnm_usage_store_query (vnm_engine_get_usage_store (engine), period, month_start,
                                vnm_usage_period_next (VNM_USAGE_MONTH, month_start), vm_uuid,
                                interfaces, error);
  if (!rows)
    return NULL;
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < rows->len; i++)
    {
      const VnmUsageRow *r = g_ptr_array_index (rows, i);
      g_autofree gchar *start = period_name (period, r->start);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "vm_name", g_variant_new_string (r->vm_name));
      ADD (&row, "vm_uuid", g_variant_new_string (r->vm_uuid));
      ADD (&row, "iface", g_variant_new_string (r->iface));
      ADD (&row, "period", g_variant_new_string (daily ? "day" : "month"));
      ADD (&row, "period_start", g_variant_new_string (start));
      ADD (&row, "rx_bytes", g_variant_new_uint64 (r->usage.rx_bytes));
      ADD (&row, "tx_bytes", g_variant_new_uint64 (r->usage.tx_bytes));
      ADD (&row, "rx_packets", g_variant_new_uint64 (r->usage.rx_packets));
      ADD (&row, "tx_packets", g_variant_new_uint64 (r->usage.tx_packets));
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_usage_store (VnmEngine *engine)
{
  VnmUsageStatus st;
  GVariantBuilder b;

  vnm_usage_store_status (vnm_engine_get_usage_store (engine), &st);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "available", g_variant_new_boolean (st.available));
  ADD (&b, "path", g_variant_new_string (st.path));
  ADD (&b, "last_write", g_variant_new_double ((gdouble) st.last_write));
  ADD (&b, "pending_rows", g_variant_new_uint32 (st.pending));
  ADD (&b, "dropped_rows", g_variant_new_uint64 (st.dropped_rows));
  ADD (&b, "last_error", g_variant_new_string (st.last_error));
  ADD (&b, "last_recovery", g_variant_new_string (st.last_recovery));
  ADD (&b, "flush_interval_seconds",
       g_variant_new_double (vnm_engine_get_usage_flush_interval (engine)));
  return g_variant_builder_end (&b);
}
