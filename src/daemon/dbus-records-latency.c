/* dbus-records-latency.c: latency histograms, drops and slow packets as D-Bus
 * records. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "flow-aggregate.h"
#include "latency-hist.h"
#include "latency-monitor.h"
#include "dbus-records.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define ADD(b, k, v) g_variant_builder_add ((b), "{sv}", (k), (v))

static const gchar *const stage_names[VNM_STAGE_COUNT] = {
  "rcv_to_queue", "queue_to_xmit", "xmit_to_guest", "total",
};
static const gchar *const dir_names[2] = { "tx", "rx" };

/* As flows name them, except that the latency filter's "icmp" takes
 * ICMPv6 too, and 0 is "any" (""). */
static const gchar *
proto_name (guint8 proto)
{
  if (!proto)
    return "";
  return vnm_flow_proto_name (proto == IPPROTO_ICMPV6 ? IPPROTO_ICMP : proto);
}

static gboolean
bad_option (GError **error, const gchar *key, const gchar *why)
{
  g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT, _("Option '%.32s': %s"), key, why);
  return FALSE;
}

/* An address as the probe stores it: IPv4 as ::ffff:a.b.c.d. */
static gboolean
parse_ip (const gchar *text, guint8 out[16], guint8 *family)
{
  struct in_addr a4;

  if (inet_pton (AF_INET, text, &a4) == 1)
    {
      memset (out, 0, 10);
      out[10] = out[11] = 0xff;
      memcpy (out + 12, &a4, 4);
      *family = 4;
      return TRUE;
    }
  if (inet_pton (AF_INET6, text, out) == 1)
    {
      *family = 6;
      return TRUE;
    }
  return FALSE;
}

gboolean
vnm_record_latency_settings (GVariant *options, guint64 default_threshold_ns,
                            VnmLatencySettings *out, GError **error)
{
  GVariantIter it;
  const gchar *key;
  GVariant *value;
  guint8 family = 0;

  memset (out, 0, sizeof *out);
  out->tx = out->rx = TRUE;
  out->threshold_ns = default_threshold_ns;
  g_variant_iter_init (&it, options);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;
      const gchar *s = g_variant_is_of_type (v, G_VARIANT_TYPE_STRING)
                       ? g_variant_get_string (v, NULL) : NULL;
      guint64 n;

      if (g_str_equal (key, "direction"))
        {
          if (!s || !(g_str_equal (s, "tx") || g_str_equal (s, "rx") || g_str_equal (s, "both")))
            return bad_option (error, key, _("use \"tx\", \"rx\" or \"both\" (a string)."));
          out->tx = !g_str_equal (s, "rx");
          out->rx = !g_str_equal (s, "tx");
        }
      else if (g_str_equal (key, "proto"))
        {
          if (!s || !(g_str_equal (s, "tcp") || g_str_equal (s, "udp") || g_str_equal (s, "icmp") ||
                      g_str_equal (s, "all") || !*s))
            return bad_option (error, key, _("use \"tcp\", \"udp\" or \"icmp\" (a string)."));
          out->filter.proto = g_str_equal (s, "tcp") ? IPPROTO_TCP
                              : g_str_equal (s, "udp") ? IPPROTO_UDP
                              : g_str_equal (s, "icmp") ? IPPROTO_ICMP : 0;
        }
      else if (g_str_equal (key, "src_ip") || g_str_equal (key, "dst_ip"))
        {
          guint8 *addr = key[0] == 's' ? out->filter.src_ip : out->filter.dst_ip;
          guint8 f = 0;
          if (!s)
            return bad_option (error, key, _("give an IPv4 or IPv6 address as a string."));
          if (!*s)
            continue;
          if (!parse_ip (s, addr, &f))
            {
              g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                           _("Option '%s': '%.64s' is not an IPv4 or IPv6 address."), key, s);
              return FALSE;
            }
          if (family && family != f)
            return bad_option (error, key, _("the source and destination addresses are of different families."));
          family = f;
        }
      else if (g_str_equal (key, "src_port") || g_str_equal (key, "dst_port"))
        {
          if (!vnm_record_number (v, 65535, &n))
            return bad_option (error, key, _("give a port number from 0 to 65535."));
          *(key[0] == 's' ? &out->filter.src_port : &out->filter.dst_port) = (guint16) n;
        }
      else if (g_str_equal (key, "threshold_us"))
        {
          if (!vnm_record_number (v, 60 * G_USEC_PER_SEC, &n))
            return bad_option (error, key, _("give microseconds from 0 to 60000000."));
          out->threshold_ns = n * 1000;
        }
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown option '%.32s': use direction, proto, src_ip, dst_ip, src_port, "
                         "dst_port or threshold_us."), key);
          return FALSE;
        }
    }
  out->filter.family = family;
  return TRUE;
}

static void
addr_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len)
{
  static const guint8 zero[16];

  if (!family || memcmp (addr, zero, 16) == 0)
    buf[0] = '\0';
  else
    vnm_flow_addr_to_string (family, addr, buf, len);
}

static void
add_settings (GVariantBuilder *b, const VnmLatencySettings *s)
{
  gchar src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];

  addr_string (s->filter.family, s->filter.src_ip, src, sizeof src);
  addr_string (s->filter.family, s->filter.dst_ip, dst, sizeof dst);
  ADD (b, "direction", g_variant_new_string (s->tx && s->rx ? "both" : s->tx ? "tx" : "rx"));
  ADD (b, "proto", g_variant_new_string (proto_name (s->filter.proto)));
  ADD (b, "src_ip", g_variant_new_string (src));
  ADD (b, "dst_ip", g_variant_new_string (dst));
  ADD (b, "src_port", g_variant_new_uint16 (s->filter.src_port));
  ADD (b, "dst_port", g_variant_new_uint16 (s->filter.dst_port));
  ADD (b, "threshold_us", g_variant_new_double (s->threshold_ns / 1e3));
}

/* GetLatency's options: direction (tx, rx, both), interface, buckets. */
static gboolean
parse_latency_query (GVariant *options, const VnmDomain *d, const gchar **direction,
                     const gchar **iface, gboolean *buckets, GError **error)
{
  GVariantIter it;
  const gchar *key;
  GVariant *value;

  g_variant_iter_init (&it, options);
  while (g_variant_iter_next (&it, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) v = value;
      if (g_str_equal (key, "direction") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        *direction = g_variant_get_string (v, NULL);
      else if (g_str_equal (key, "interface") && g_variant_is_of_type (v, G_VARIANT_TYPE_STRING))
        *iface = *g_variant_get_string (v, NULL) ? g_variant_get_string (v, NULL) : NULL;
      else if (g_str_equal (key, "buckets") && g_variant_is_of_type (v, G_VARIANT_TYPE_BOOLEAN))
        *buckets = g_variant_get_boolean (v);
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown option '%.32s' of type '%s': use direction (s), interface (s) "
                         "or buckets (b)."), key, g_variant_get_type_string (v));
          return FALSE;
        }
    }
  if (!g_str_equal (*direction, "tx") && !g_str_equal (*direction, "rx") &&
      !g_str_equal (*direction, "both"))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                   _("Unknown direction '%.32s': use tx, rx or both."), *direction);
      return FALSE;
    }
  if (*iface)
    {
      gboolean found = FALSE;
      for (guint j = 0; j < d->interfaces->len && !found; j++)
        found = g_str_equal (((VnmDomainInterface *) g_ptr_array_index (d->interfaces, j))->target_dev, *iface);
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_UNKNOWN_INTERFACE,
                       _("The domain '%s' has no interface '%.64s'."), d->name, *iface);
          return FALSE;
        }
    }
  return TRUE;
}

/* The traced state of @d: traced, scope, program, its settings, and the
 * interfaces that found no histogram block (no_histograms). */
static GVariant *
latency_state (VnmLatencyMonitor *m, const VnmDomain *d)
{
  g_autoptr(GHashTable) missing = vnm_latency_monitor_missing_hists (m, d);
  const VnmLatencySettings *s;
  GVariantBuilder state, mb;
  GHashTableIter mi;
  gpointer mk, mv;
  VnmLatencyCoverage cov;

  s = vnm_latency_monitor_get (m, d->uuid, NULL);
  vnm_latency_monitor_coverage (m, d->uuid, &cov);
  g_variant_builder_init (&state, G_VARIANT_TYPE_VARDICT);
  ADD (&state, "traced", g_variant_new_boolean (s != NULL));
  ADD (&state, "scope", g_variant_new_string (!s ? "" : vnm_latency_monitor_all (m) ? "all" : "domain"));
  ADD (&state, "program", g_variant_new_string (vnm_latency_monitor_program (m)));
  /* Which mode made the histograms, and how much time they saw. */
  ADD (&state, "mode", g_variant_new_string (vnm_latency_mode_name (cov.mode)));
  if (s)
    add_settings (&state, s);
  if (cov.mode != VNM_LATENCY_MODE_OFF)
    {
      ADD (&state, "since", g_variant_new_double (cov.since_s));
      ADD (&state, "traced_seconds", g_variant_new_double (cov.traced_s));
    }
  g_variant_builder_init (&mb, G_VARIANT_TYPE ("a{ss}"));
  g_hash_table_iter_init (&mi, missing);
  while (g_hash_table_iter_next (&mi, &mk, &mv))
    g_variant_builder_add (&mb, "{ss}", (const gchar *) mk, (const gchar *) mv);
  ADD (&state, "no_histograms", g_variant_builder_end (&mb));
  return g_variant_builder_end (&state);
}

/* One histogram row: direction, stage, packets, percentiles, and with
 * @buckets the non-empty buckets as (low, high, packets) in ns. */
static GVariant *
latency_row (guint dir, guint stage, const VnmLatHist *h, gboolean buckets)
{
  GVariantBuilder row;

  g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
  ADD (&row, "direction", g_variant_new_string (dir_names[dir]));
  ADD (&row, "stage", g_variant_new_string (stage_names[stage]));
  ADD (&row, "packets", g_variant_new_uint64 (h->count));
  ADD (&row, "min_us", g_variant_new_double (h->count ? h->min_ns / 1e3 : 0));
  ADD (&row, "max_us", g_variant_new_double (h->max_ns / 1e3));
  ADD (&row, "mean_us", g_variant_new_double (vnm_lat_hist_mean (h) / 1e3));
  ADD (&row, "p50_us", g_variant_new_double (vnm_lat_hist_quantile (h, 0.50) / 1e3));
  ADD (&row, "p90_us", g_variant_new_double (vnm_lat_hist_quantile (h, 0.90) / 1e3));
  ADD (&row, "p99_us", g_variant_new_double (vnm_lat_hist_quantile (h, 0.99) / 1e3));
  ADD (&row, "p999_us", g_variant_new_double (vnm_lat_hist_quantile (h, 0.999) / 1e3));
  if (buckets)
    {
      g_autoptr(GArray) ranges = vnm_lat_hist_ranges (h);
      GVariantBuilder bb;

      g_variant_builder_init (&bb, G_VARIANT_TYPE ("a(ttt)"));
      for (guint i = 0; i < ranges->len; i++)
        {
          const VnmLatRange *r = &g_array_index (ranges, VnmLatRange, i);
          g_variant_builder_add (&bb, "(ttt)", r->low_ns, r->high_ns, r->count);
        }
      ADD (&row, "buckets_ns", g_variant_builder_end (&bb));
    }
  return g_variant_builder_end (&row);
}

GVariant *
vnm_record_latency (VnmEngine *engine, const VnmDomain *d, GVariant *options, GError **error)
{
  VnmLatencyMonitor *m = vnm_engine_get_latency_monitor (engine);
  const gchar *direction = "both", *iface = NULL;
  gboolean buckets = TRUE;
  const VnmLatencySettings *s;
  g_autofree VnmLatHist *h = g_new (VnmLatHist, 1);
  GVariantBuilder rows;
  GVariant *state;

  if (!parse_latency_query (options, d, &direction, &iface, &buckets, error))
    return NULL;
  if (!vnm_latency_monitor_available (m))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED, _("Latency is not traced: %s"),
                   vnm_latency_monitor_unavailable_reason (m));
      return NULL;
    }

  state = latency_state (m, d);
  s = vnm_latency_monitor_get (m, d->uuid, NULL);
  g_variant_builder_init (&rows, G_VARIANT_TYPE ("aa{sv}"));
  for (guint dir = 0; dir < 2; dir++)
    {
      if (!g_str_equal (direction, "both") && !g_str_equal (direction, dir_names[dir]))
        continue;
      if (s && !(dir == VNM_LAT_TX ? s->tx : s->rx))
        continue;
      for (guint stage = 0; stage < VNM_STAGE_COUNT; stage++)
        {
          if (dir == VNM_LAT_TX && stage == VNM_STAGE_XMIT_GUEST)
            continue;
          if (!vnm_latency_monitor_hist (m, d, iface, dir, stage, h))
            continue;
          g_variant_builder_add_value (&rows, latency_row (dir, stage, h, buckets));
        }
    }
  return g_variant_new ("(@a{sv}@aa{sv})", state, g_variant_builder_end (&rows));
}

GVariant *
vnm_record_drops (VnmEngine *engine, const VnmDomain *d, GError **error)
{
  VnmLatencyMonitor *m = vnm_engine_get_latency_monitor (engine);
  g_autoptr(GPtrArray) drops = NULL;
  GVariantBuilder b;

  if (!vnm_latency_monitor_available (m))
    {
      g_set_error (error, VNM_ERROR, VNM_ERROR_NOT_SUPPORTED, _("Drops are not counted: %s"),
                   vnm_latency_monitor_unavailable_reason (m));
      return NULL;
    }
  drops = vnm_latency_monitor_drops (m, d);
  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < drops->len; i++)
    {
      const VnmLatencyDrop *x = g_ptr_array_index (drops, i);
      g_autofree gchar *fallback = g_strdup_printf ("%u", x->reason);
      GVariantBuilder row;

      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "iface", g_variant_new_string (x->iface));
      ADD (&row, "direction", g_variant_new_string (dir_names[x->dir & 1]));
      ADD (&row, "reason", g_variant_new_string (x->reason_name ? x->reason_name : fallback));
      ADD (&row, "reason_code", g_variant_new_uint32 (x->reason));
      ADD (&row, "packets", g_variant_new_uint64 (x->count));
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_latency_events (GPtrArray *events)
{
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < events->len; i++)
    {
      const VnmLatencyEvent *e = g_ptr_array_index (events, i);
      gchar src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
      GVariantBuilder row;

      addr_string (e->ev.family, e->ev.saddr, src, sizeof src);
      addr_string (e->ev.family, e->ev.daddr, dst, sizeof dst);
      g_variant_builder_init (&row, G_VARIANT_TYPE_VARDICT);
      ADD (&row, "time", g_variant_new_double (e->time_s));
      ADD (&row, "vm_name", g_variant_new_string (e->vm_name));
      ADD (&row, "vm_uuid", g_variant_new_string (e->vm_uuid));
      ADD (&row, "iface", g_variant_new_string (e->iface));
      ADD (&row, "direction", g_variant_new_string (dir_names[e->ev.dir & 1]));
      ADD (&row, "proto", g_variant_new_string (proto_name (e->ev.proto)));
      ADD (&row, "src_ip", g_variant_new_string (src));
      ADD (&row, "dst_ip", g_variant_new_string (dst));
      ADD (&row, "src_port", g_variant_new_uint16 (e->ev.sport));
      ADD (&row, "dst_port", g_variant_new_uint16 (e->ev.dport));
      ADD (&row, "len", g_variant_new_uint32 (e->ev.len));
      for (guint s = 0; s < VNM_STAGE_COUNT; s++)
        {
          g_autofree gchar *k = g_strdup_printf ("%s_us", stage_names[s]);
          ADD (&row, k, g_variant_new_double (e->ev.stage_ns[s] / 1e3));
        }
      g_variant_builder_add_value (&b, g_variant_builder_end (&row));
    }
  return g_variant_builder_end (&b);
}

GVariant *
vnm_record_latency_status (VnmEngine *engine, guint subscribers)
{
  VnmLatencyMonitor *m = vnm_engine_get_latency_monitor (engine);
  g_autoptr(GPtrArray) traced = vnm_latency_monitor_traced (m);
  VnmLatencyCounters c;
  VnmLatencySampling sampling;
  gboolean sampled = vnm_latency_monitor_sampling (m, &sampling);
  GVariantBuilder b;

  vnm_latency_monitor_counters (m, &c);
  g_ptr_array_add (traced, NULL);
  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  ADD (&b, "available", g_variant_new_boolean (vnm_latency_monitor_available (m)));
  ADD (&b, "reason", g_variant_new_string (vnm_latency_monitor_unavailable_reason (m)));
  ADD (&b, "program", g_variant_new_string (vnm_latency_monitor_program (m)));
  ADD (&b, "extra_stages", g_variant_new_string (vnm_latency_monitor_extra_stages (m)));
  ADD (&b, "all", g_variant_new_boolean (vnm_latency_monitor_all (m)));
  ADD (&b, "traced", g_variant_new_strv ((const gchar *const *) traced->pdata, -1));
  ADD (&b, "default_threshold_us",
       g_variant_new_double (vnm_latency_monitor_default_threshold (m) / 1e3));
  ADD (&b, "subscribers", g_variant_new_uint32 (subscribers));
  ADD (&b, "events_sent", g_variant_new_uint64 (c.sent));
  ADD (&b, "events_lost_kernel", g_variant_new_uint64 (c.lost_kernel));
  ADD (&b, "events_lost_rate_limit", g_variant_new_uint64 (c.lost_rate));
  ADD (&b, "stale_paths", g_variant_new_uint64 (c.stale_paths));
  ADD (&b, "replaced_paths", g_variant_new_uint64 (c.replaced_paths));
  ADD (&b, "sampling", g_variant_new_boolean (sampled));
  ADD (&b, "programs_mode", g_variant_new_string (vnm_latency_mode_name (sampling.mode)));
  if (sampled)
    {
      ADD (&b, "sampling_window_ms", g_variant_new_uint32 (sampling.window_ms));
      ADD (&b, "sampling_period_seconds", g_variant_new_double (sampling.period_ms / 1e3));
      ADD (&b, "sampled_domains", g_variant_new_uint32 (sampling.sampled_domains));
      ADD (&b, "sampling_windows", g_variant_new_uint64 (sampling.windows));
      ADD (&b, "sampling_windows_failed", g_variant_new_uint64 (sampling.failed_windows));
    }
  return g_variant_builder_end (&b);
}
