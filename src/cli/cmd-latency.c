/* cmd-latency.c: `virtnetmon latency`: switch datapath latency tracing of
 * a VM on or off, show its stage histograms and percentiles, or stream its
 * slow packets. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <glib-unix.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"
#include "vnm-limits.h"
#include "vnm-json.h"

#define BAR_WIDTH 40

typedef struct {
  gchar *direction, *proto, *src_ip, *dst_ip;
  gint src_port, dst_port;
  gint64 threshold;          /* -1: not given */
} Filters;

static const gchar *
stage_label (const gchar *stage)
{
  if (g_str_equal (stage, "rcv_to_queue"))
    return _("receive -> queue");
  if (g_str_equal (stage, "queue_to_xmit"))
    return _("queue -> driver");
  if (g_str_equal (stage, "xmit_to_guest"))
    return _("driver -> guest");
  if (g_str_equal (stage, "total"))
    return _("end to end");
  return stage;
}

static gchar *
format_us (gdouble us)
{
  if (us >= 1e6)
    return g_strdup_printf ("%.2fs", us / 1e6);
  if (us >= 1000)
    return g_strdup_printf ("%.2fms", us / 1000);
  return g_strdup_printf ("%.1fus", us);
}

/* The fine buckets grouped by powers of two of microseconds, drawn as the
 * reference tool draws them. */
static void
print_hist (GVariant *row)
{
  g_autoptr(GVariant) buckets = g_variant_lookup_value (row, "buckets_ns", G_VARIANT_TYPE ("a(ttt)"));
  guint64 groups[64] = { 0 }, max = 0;
  gint first = -1, last = -1;
  GVariantIter it;
  guint64 low, high, count;

  if (!buckets)
    return;
  g_variant_iter_init (&it, buckets);
  while (g_variant_iter_next (&it, "(ttt)", &low, &high, &count))
    {
      guint64 us = low / 1000;
      gint g = us ? 64 - __builtin_clzll (us) : 0;   /* 0: below 1 us; g: [2^(g-1), 2^g) us */
      g = MIN (g, 63);
      groups[g] += count;
      first = first < 0 ? g : MIN (first, g);
      last = MAX (last, g);
    }
  if (first < 0)
    return;
  for (gint g = first; g <= last; g++)
    max = MAX (max, groups[g]);
  g_print ("  %22s : %-10s %s\n", _("usecs"), _("count"), _("distribution"));
  for (gint g = first; g <= last; g++)
    {
      guint64 lo = g ? (1ull << (g - 1)) : 0, hi = g ? (1ull << g) - 1 : 0;
      guint n = max ? (guint) ((groups[g] * BAR_WIDTH + max - 1) / max) : 0;
      g_autofree gchar *bar = g_strnfill (n, '*');
      g_autofree gchar *range = g ? g_strdup_printf ("%" G_GUINT64_FORMAT " -> %" G_GUINT64_FORMAT, lo, hi)
                                  : g_strdup ("0 -> 0");
      g_print ("  %22s : %-10" G_GUINT64_FORMAT " |%-*s|\n", range, groups[g], BAR_WIDTH, bar);
    }
}

static void
describe_state (const gchar *domain, GVariant *state)
{
  GString *f = g_string_new (NULL);
  const gchar *v;
  g_autoptr(GDateTime) since = g_date_time_new_from_unix_local ((gint64) vnm_rec_double (state, "since"));
  g_autofree gchar *since_s = since ? g_date_time_format (since, "%F %T") : g_strdup ("?");
  g_autofree gchar *filters = NULL;

  if (*(v = vnm_rec_str (state, "proto")))
    g_string_append_printf (f, " proto %s", v);
  if (*(v = vnm_rec_str (state, "src_ip")))
    g_string_append_printf (f, " src %s", v);
  if (*(v = vnm_rec_str (state, "dst_ip")))
    g_string_append_printf (f, " dst %s", v);
  if (vnm_rec_int (state, "src_port"))
    g_string_append_printf (f, " sport %" G_GINT64_FORMAT, vnm_rec_int (state, "src_port"));
  if (vnm_rec_int (state, "dst_port"))
    g_string_append_printf (f, " dport %" G_GINT64_FORMAT, vnm_rec_int (state, "dst_port"));
  filters = g_string_free (f, FALSE);
  g_print (_("Latency of %s: direction %s, filter:%s, slow-packet threshold %.0f us, %s programs, since %s.\n"),
           domain, vnm_rec_str (state, "direction"), *filters ? filters : _(" none"),
           vnm_rec_double (state, "threshold_us"), vnm_rec_str (state, "program"), since_s);
}

/* Sampled histograms: when they started and how much of the time since
 * was traced. */
static void
describe_sampled (const gchar *domain, GVariant *state)
{
  gdouble since_s = vnm_rec_double (state, "since");
  gdouble traced = vnm_rec_double (state, "traced_seconds");
  gdouble elapsed = g_get_real_time () / 1e6 - since_s;
  g_autoptr(GDateTime) since = g_date_time_new_from_unix_local ((gint64) since_s);
  g_autofree gchar *since_text = since ? g_date_time_format (since, "%F %T") : g_strdup ("?");

  g_print (_("Latency of %s: sampled (short tracing windows, no slow-packet events), %s programs, "
             "since %s: %.1f s traced of %.0f s (%.1f %%).\n"
             "For every packet and slow-packet events: virtnetmon latency %s --on\n"),
           domain, vnm_rec_str (state, "program"), since_text, traced, MAX (elapsed, 0),
           elapsed > 0 ? 100.0 * MIN (traced / elapsed, 1.0) : 0.0, domain);
}

/* Traced interfaces that got no histograms (the daemon's blocks are all in
 * use), one line each; returns how many. */
static guint
print_missing_hists (GVariant *state, gboolean to_stderr)
{
  g_autoptr(GVariantIter) it = NULL;
  const gchar *iface, *why;
  guint n = 0;

  if (!g_variant_lookup (state, "no_histograms", "a{ss}", &it))
    return 0;
  while (g_variant_iter_next (it, "{&s&s}", &iface, &why))
    {
      g_autofree gchar *line = g_strdup_printf (_("Interface %s has no histograms: %s.\n"), iface, why);
      if (to_stderr)
        g_printerr ("virtnetmon: latency: %s", line);
      else
        g_print ("%s", line);
      n++;
    }
  return n;
}

static int
show (VnmMonitor1 *proxy, const gchar *domain, const Filters *f, const gchar *iface,
      gboolean hist, gboolean json)
{
  g_autoptr(GVariant) state = NULL, stages = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  GVariantBuilder options;
  GVariantIter it;
  GVariant *row;
  const gchar *headers[] = { "DIR", "STAGE", "PACKETS", "MIN", "MEAN", "P50", "P90", "P99",
                             "P99.9", "MAX" };

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "direction",
                         g_variant_new_string (f->direction ? f->direction : "both"));
  if (iface)
    g_variant_builder_add (&options, "{sv}", "interface", g_variant_new_string (iface));
  g_variant_builder_add (&options, "{sv}", "buckets", g_variant_new_boolean (hist || json));
  if (!vnm_monitor1_call_get_latency_sync (proxy, domain, g_variant_builder_end (&options),
                                           &state, &stages, NULL, &error))
    return vnm_cli_report_error ("latency", error);
  if (json)
    {
      GVariantBuilder doc;
      g_variant_builder_init (&doc, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&doc, "{sv}", "state", state);
      g_variant_builder_add (&doc, "{sv}", "stages", stages);
      vnm_cli_print_json (g_variant_builder_end (&doc));
      return 0;
    }
  if (g_str_equal (vnm_rec_str (state, "mode"), "sampled"))
    describe_sampled (domain, state);
  else if (!vnm_rec_bool (state, "traced"))
    {
      g_print (_("Latency tracing is off for %s. Switch it on with: virtnetmon latency %s --on\n"),
               domain, domain);
      return 0;
    }
  else
    describe_state (domain, state);
  print_missing_hists (state, FALSE);
  if (g_variant_n_children (stages) == 0)
    {
      g_print (_("No packets measured yet.\n"));
      return 0;
    }
  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  for (guint c = 2; c < G_N_ELEMENTS (headers); c++)
    vnm_table_set_numeric (table, c);
  g_variant_iter_init (&it, stages);
  while ((row = g_variant_iter_next_value (&it)))
    {
      guint64 n = vnm_rec_u64 (row, "packets");
      g_autofree gchar *count = g_strdup_printf ("%" G_GUINT64_FORMAT, n);
      g_autofree gchar *min = n ? format_us (vnm_rec_double (row, "min_us")) : NULL;
      g_autofree gchar *mean = n ? format_us (vnm_rec_double (row, "mean_us")) : NULL;
      g_autofree gchar *p50 = n ? format_us (vnm_rec_double (row, "p50_us")) : NULL;
      g_autofree gchar *p90 = n ? format_us (vnm_rec_double (row, "p90_us")) : NULL;
      g_autofree gchar *p99 = n ? format_us (vnm_rec_double (row, "p99_us")) : NULL;
      g_autofree gchar *p999 = n ? format_us (vnm_rec_double (row, "p999_us")) : NULL;
      g_autofree gchar *max = n ? format_us (vnm_rec_double (row, "max_us")) : NULL;
      const gchar *cells[] = { vnm_rec_str (row, "direction"), stage_label (vnm_rec_str (row, "stage")),
                               count, min, mean, p50, p90, p99, p999, max };
      vnm_table_add_row (table, cells);
      g_variant_unref (row);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  g_variant_iter_init (&it, stages);
  while ((row = g_variant_iter_next_value (&it)))
    {
      g_autofree gchar *p50 = format_us (vnm_rec_double (row, "p50_us"));
      g_autofree gchar *p90 = format_us (vnm_rec_double (row, "p90_us"));
      g_autofree gchar *p99 = format_us (vnm_rec_double (row, "p99_us"));
      if (hist)
        g_print (_("\n%s %s (%llu packets)\n"), vnm_rec_str (row, "direction"),
                 stage_label (vnm_rec_str (row, "stage")), (unsigned long long) vnm_rec_u64 (row, "packets"));
      else if (vnm_rec_u64 (row, "packets"))
        g_print ("%s %-16s P50=%s P90=%s P99=%s\n", vnm_rec_str (row, "direction"),
                 vnm_rec_str (row, "stage"), p50, p90, p99);
      if (hist)
        {
          print_hist (row);
          g_print ("  P50=%s P90=%s P99=%s\n", p50, p90, p99);
        }
      g_variant_unref (row);
    }
  return 0;
}

typedef struct {
  GMainLoop *loop;
  const Filters *f;
  gchar *uuid;
  gboolean json;
  gint64 remaining;          /* -1: no limit */
  guint64 lost_shown;
  int status;
} Stream;

static gboolean
event_matches (const Stream *s, GVariant *ev)
{
  const Filters *f = s->f;
  const gchar *proto = vnm_rec_str (ev, "proto");

  if (!g_str_equal (vnm_rec_str (ev, "vm_uuid"), s->uuid))
    return FALSE;
  if (f->direction && !g_str_equal (f->direction, "both") &&
      !g_str_equal (f->direction, vnm_rec_str (ev, "direction")))
    return FALSE;
  if (f->proto && !g_str_equal (f->proto, proto))
    return FALSE;
  if (f->src_ip && !g_str_equal (f->src_ip, vnm_rec_str (ev, "src_ip")))
    return FALSE;
  if (f->dst_ip && !g_str_equal (f->dst_ip, vnm_rec_str (ev, "dst_ip")))
    return FALSE;
  if (f->src_port && vnm_rec_int (ev, "src_port") != f->src_port)
    return FALSE;
  if (f->dst_port && vnm_rec_int (ev, "dst_port") != f->dst_port)
    return FALSE;
  if (f->threshold >= 0)
    {
      gdouble worst = MAX (MAX (vnm_rec_double (ev, "total_us"), vnm_rec_double (ev, "rcv_to_queue_us")),
                           MAX (vnm_rec_double (ev, "queue_to_xmit_us"), vnm_rec_double (ev, "xmit_to_guest_us")));
      if (worst < f->threshold)
        return FALSE;
    }
  return TRUE;
}

static void
print_event (GVariant *ev)
{
  gdouble time_s = vnm_rec_double (ev, "time");
  g_autoptr(GDateTime) t = g_date_time_new_from_unix_local ((gint64) time_s);
  g_autofree gchar *hms = t ? g_date_time_format (t, "%T") : g_strdup ("?");
  g_autofree gchar *when = g_strdup_printf ("%s.%06d", hms, (gint) ((time_s - (gint64) time_s) * 1e6));
  g_autofree gchar *src = NULL, *dst = NULL;
  const gchar *keys[] = { "rcv_to_queue_us", "queue_to_xmit_us", "xmit_to_guest_us", "total_us" };
  GString *stages = g_string_new (NULL);

  if (vnm_rec_int (ev, "src_port") || vnm_rec_int (ev, "dst_port"))
    {
      src = g_strdup_printf ("%s:%" G_GINT64_FORMAT, vnm_rec_str (ev, "src_ip"), vnm_rec_int (ev, "src_port"));
      dst = g_strdup_printf ("%s:%" G_GINT64_FORMAT, vnm_rec_str (ev, "dst_ip"), vnm_rec_int (ev, "dst_port"));
    }
  else
    {
      src = g_strdup (vnm_rec_str (ev, "src_ip"));
      dst = g_strdup (vnm_rec_str (ev, "dst_ip"));
    }
  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    {
      gdouble us = vnm_rec_double (ev, keys[i]);
      g_autofree gchar *v = us > 0 ? format_us (us) : g_strdup ("-");
      g_string_append_printf (stages, " %s=%s", i == 0 ? "rcv>queue" : i == 1 ? "queue>drv"
                                                  : i == 2 ? "drv>guest" : "total", v);
    }
  g_print ("%s %s %s %s %s %s -> %s len=%" G_GINT64_FORMAT "%s\n", when,
           vnm_rec_str (ev, "vm_name"), vnm_rec_str (ev, "iface"), vnm_rec_str (ev, "direction"),
           *vnm_rec_str (ev, "proto") ? vnm_rec_str (ev, "proto") : "-", *src ? src : "-",
           *dst ? dst : "-", vnm_rec_int (ev, "len"), stages->str);
  g_string_free (stages, TRUE);
  fflush (stdout);
}

static void
on_events (VnmMonitor1 *proxy, GVariant *events, guint64 lost, gpointer user_data)
{
  Stream *s = user_data;
  GVariantIter it;
  GVariant *ev;

  g_variant_iter_init (&it, events);
  while (s->remaining != 0 && (ev = g_variant_iter_next_value (&it)))
    {
      if (event_matches (s, ev))
        {
          if (s->json)
            {
              GVariantBuilder b;
              g_autoptr(GVariant) rec = NULL;
              g_autofree gchar *text = NULL;
              GVariantIter fields;
              const gchar *k;
              GVariant *v;

              g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
              g_variant_iter_init (&fields, ev);
              while (g_variant_iter_next (&fields, "{&sv}", &k, &v))
                {
                  g_variant_builder_add (&b, "{sv}", k, v);
                  g_variant_unref (v);
                }
              g_variant_builder_add (&b, "{sv}", "lost_total", g_variant_new_uint64 (lost));
              rec = g_variant_ref_sink (g_variant_builder_end (&b));
              text = vnm_json_from_variant (rec);
              g_strdelimit (text, "\n", ' ');
              g_print ("%s\n", g_strstrip (text));
              fflush (stdout);
            }
          else
            print_event (ev);
          if (s->remaining > 0)
            s->remaining--;
        }
      g_variant_unref (ev);
    }
  if (!s->json && lost > s->lost_shown)
    {
      g_print (_("-- %llu events lost so far (ring buffer full or over the rate limit) --\n"),
               (unsigned long long) lost);
      s->lost_shown = lost;
    }
  if (s->remaining == 0)
    g_main_loop_quit (s->loop);
}

static gboolean
on_interrupt (gpointer user_data)
{
  Stream *s = user_data;

  g_main_loop_quit (s->loop);
  return G_SOURCE_REMOVE;
}

static void
on_owner_changed (GObject *proxy, GParamSpec *pspec, gpointer user_data)
{
  Stream *s = user_data;
  g_autofree gchar *owner = g_dbus_proxy_get_name_owner (G_DBUS_PROXY (proxy));

  if (!owner)
    {
      g_printerr (_("virtnetmon: latency: the daemon went away.\n"));
      s->status = VNM_EXIT_FAILURE;
      g_main_loop_quit (s->loop);
    }
}

static int
stream (VnmMonitor1 *proxy, const gchar *domain, const Filters *f, gint64 count, gboolean json)
{
  g_autoptr(GVariant) state = NULL, stages = NULL, domains = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  GVariantBuilder options;
  Stream s = { loop, f, NULL, json, count > 0 ? count : -1, 0, 0 };
  GVariantIter it;
  GVariant *rec;
  guint sig;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "buckets", g_variant_new_boolean (FALSE));
  if (!vnm_monitor1_call_get_latency_sync (proxy, domain, g_variant_builder_end (&options),
                                           &state, &stages, NULL, &error))
    return vnm_cli_report_error ("latency", error);
  if (!vnm_rec_bool (state, "traced"))
    {
      g_printerr (_("virtnetmon: latency: tracing is off for %s; switch it on with "
                    "'virtnetmon latency %s --on'.\n"), domain, domain);
      return VNM_EXIT_FAILURE;
    }
  /* Events name the domain by uuid. */
  if (!vnm_monitor1_call_list_domains_sync (proxy, &domains, NULL, &error))
    return vnm_cli_report_error ("latency", error);
  g_variant_iter_init (&it, domains);
  while (!s.uuid && (rec = g_variant_iter_next_value (&it)))
    {
      g_autofree gchar *id = g_strdup_printf ("%" G_GINT64_FORMAT, vnm_rec_int (rec, "vm_id"));
      if (g_str_equal (vnm_rec_str (rec, "vm_name"), domain) || g_str_equal (vnm_rec_str (rec, "vm_uuid"), domain) ||
          (vnm_rec_int (rec, "vm_id") >= 0 && g_str_equal (id, domain)))
        s.uuid = g_strdup (vnm_rec_str (rec, "vm_uuid"));
      g_variant_unref (rec);
    }
  if (!s.uuid)
    s.uuid = g_strdup (domain);

  sig = g_signal_connect (proxy, "latency-events", G_CALLBACK (on_events), &s);
  g_signal_connect (proxy, "notify::g-name-owner", G_CALLBACK (on_owner_changed), &s);
  if (!vnm_monitor1_call_subscribe_latency_events_sync (proxy, NULL, &error))
    {
      g_free (s.uuid);
      return vnm_cli_report_error ("latency", error);
    }
  if (!json)
    g_print (_("Slow packets of %s (threshold %.0f us); Ctrl-C stops.\n"), domain,
             f->threshold >= 0 ? (gdouble) f->threshold : vnm_rec_double (state, "threshold_us"));
  g_unix_signal_add (SIGINT, on_interrupt, &s);
  g_unix_signal_add (SIGTERM, on_interrupt, &s);
  g_main_loop_run (loop);
  g_signal_handler_disconnect (proxy, sig);
  vnm_monitor1_call_unsubscribe_latency_events_sync (proxy, NULL, NULL);
  g_free (s.uuid);
  return s.status;
}

/* The domain's tracing state now (GetLatency without histograms). */
static GVariant *
tracing_state (VnmMonitor1 *proxy, const gchar *domain, GError **error)
{
  g_autoptr(GVariant) state = NULL, stages = NULL;
  GVariantBuilder query;

  g_variant_builder_init (&query, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&query, "{sv}", "buckets", g_variant_new_boolean (FALSE));
  if (!vnm_monitor1_call_get_latency_sync (proxy, domain, g_variant_builder_end (&query),
                                           &state, &stages, NULL, error))
    return NULL;
  return g_steal_pointer (&state);
}

/* --json after --on/--off: the domain's tracing state as GetLatency gives
 * it ({"state": ...}), or with --all the Latency property ({"latency": ...}). */
static int
print_switched_json (VnmMonitor1 *proxy, const gchar *domain, GVariant *state)
{
  g_autoptr(GError) error = NULL;
  GVariantBuilder doc;

  g_variant_builder_init (&doc, G_VARIANT_TYPE_VARDICT);
  if (domain)
    g_variant_builder_add (&doc, "{sv}", "state", state);
  else
    {
      /* Asked anew: the proxy's cached copy may predate the switch. */
      GDBusProxy *dbus_proxy = G_DBUS_PROXY (proxy);
      g_autoptr(GVariant) reply = NULL, latency = NULL;

      reply = g_dbus_proxy_call_sync (dbus_proxy, "org.freedesktop.DBus.Properties.Get",
                                      g_variant_new ("(ss)", g_dbus_proxy_get_interface_name (dbus_proxy),
                                                     "Latency"),
                                      G_DBUS_CALL_FLAGS_NONE, -1, NULL, &error);
      if (!reply)
        return vnm_cli_report_error ("latency", error);
      g_variant_get (reply, "(v)", &latency);
      g_variant_builder_add (&doc, "{sv}", "latency", latency);
    }
  vnm_cli_print_json (g_variant_builder_end (&doc));
  return 0;
}

static int
switch_tracing (VnmMonitor1 *proxy, const gchar *domain, gboolean on, const Filters *f,
                gboolean json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) state = NULL;
  GVariantBuilder options;
  int status = 0;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (on)
    {
      if (f->direction)
        g_variant_builder_add (&options, "{sv}", "direction", g_variant_new_string (f->direction));
      if (f->proto)
        g_variant_builder_add (&options, "{sv}", "proto", g_variant_new_string (f->proto));
      if (f->src_ip)
        g_variant_builder_add (&options, "{sv}", "src_ip", g_variant_new_string (f->src_ip));
      if (f->dst_ip)
        g_variant_builder_add (&options, "{sv}", "dst_ip", g_variant_new_string (f->dst_ip));
      if (f->src_port)
        g_variant_builder_add (&options, "{sv}", "src_port", g_variant_new_uint16 ((guint16) f->src_port));
      if (f->dst_port)
        g_variant_builder_add (&options, "{sv}", "dst_port", g_variant_new_uint16 ((guint16) f->dst_port));
      if (f->threshold >= 0)
        g_variant_builder_add (&options, "{sv}", "threshold_us", g_variant_new_uint64 ((guint64) f->threshold));
    }
  if (!vnm_monitor1_call_set_latency_tracing_sync (proxy, domain ? domain : "", on,
                                                   g_variant_builder_end (&options), NULL, &error))
    return vnm_cli_report_error ("latency", error);
  /* The state after the switch: printed with --json, else only looked at
   * for interfaces without histograms (a failure there is not fatal). */
  if (domain && (json || on))
    state = tracing_state (proxy, domain, json ? &error : NULL);
  if (domain && json && !state)
    return vnm_cli_report_error ("latency", error);
  if (json)
    status = print_switched_json (proxy, domain, state);
  else if (domain)
    g_print (on ? _("Latency tracing is on for %s.\n") : _("Latency tracing is off for %s.\n"), domain);
  else
    g_print (on ? _("Latency tracing is on for every domain.\n")
                : _("Latency tracing is off for every domain.\n"));
  /* Say so when an interface found no room for its histograms. */
  if (state && on)
    print_missing_hists (state, TRUE);
  return status;
}

/* Each value on its own: FALSE after a usage error. The addresses in @f
 * are replaced by their canonical form. */
static gboolean
check_values (const gchar *domain, const gchar *iface, Filters *f, const gchar *src_port,
              const gchar *dst_port, const gchar *threshold_text, const gchar *count_text,
              guint64 *count)
{
  static const gchar *const directions[] = { "tx", "rx", "both", NULL };
  static const gchar *const protos[] = { "tcp", "udp", "icmp", NULL };
  gint src_family = 0, dst_family = 0;
  guint64 n;

  if ((domain && !vnm_cli_check_length ("DOMAIN", domain, VNM_CLI_ARG_MAX_LEN)) ||
      !vnm_cli_check_choice ("direction", f->direction, directions) ||
      !vnm_cli_check_choice ("proto", f->proto, protos) ||
      (iface && !vnm_cli_check_length (vnm_cli_option ("interface"), iface, VNM_CLI_ARG_MAX_LEN)))
    return FALSE;
  if (f->src_ip)
    {
      g_autofree gchar *typed = g_steal_pointer (&f->src_ip);
      if (!vnm_cli_parse_address ("src-ip", typed, &src_family, &f->src_ip))
        return FALSE;
    }
  if (f->dst_ip)
    {
      g_autofree gchar *typed = g_steal_pointer (&f->dst_ip);
      if (!vnm_cli_parse_address ("dst-ip", typed, &dst_family, &f->dst_ip))
        return FALSE;
    }
  if (src_family && dst_family && src_family != dst_family)
    {
      vnm_cli_usage_error (_("%s '%s' and %s '%s' are of different address families."),
                           vnm_cli_option ("src-ip"), f->src_ip, vnm_cli_option ("dst-ip"), f->dst_ip);
      return FALSE;
    }
  if (src_port)
    {
      if (!vnm_cli_parse_number ("src-port", src_port, 1, VNM_PORT_MAX, &n))
        return FALSE;
      f->src_port = (gint) n;
    }
  if (dst_port)
    {
      if (!vnm_cli_parse_number ("dst-port", dst_port, 1, VNM_PORT_MAX, &n))
        return FALSE;
      f->dst_port = (gint) n;
    }
  if (threshold_text)
    {
      if (!vnm_cli_parse_number ("threshold", threshold_text, 0, VNM_LATENCY_THRESHOLD_MAX_US, &n))
        return FALSE;
      f->threshold = (gint64) n;
    }
  if (count_text && !vnm_cli_parse_number ("count", count_text, 1, G_MAXINT64, count))
    return FALSE;

  return TRUE;
}

/* What goes together: --on/--off switch, --events streams, else show.
 * FALSE after a usage error. */
static gboolean
check_combination (const gchar *domain, gboolean on, gboolean off, gboolean all, gboolean events,
                   const gchar *count_text)
{
  /* What chooses the packets traced: with --on, or narrowing --events. */
  static const gchar *const filters[] = { "proto", "src-ip", "dst-ip", "src-port", "dst-port",
                                          "threshold", NULL };

  if (vnm_cli_conflict ("on", "off") ||
      vnm_cli_conflict ("on", "events") || vnm_cli_conflict ("on", "hist") ||
      vnm_cli_conflict ("off", "events") || vnm_cli_conflict ("off", "hist") ||
      vnm_cli_conflict ("events", "hist") ||
      vnm_cli_conflict ("interface", "on") || vnm_cli_conflict ("interface", "off") ||
      vnm_cli_conflict ("interface", "events") || vnm_cli_conflict ("direction", "off"))
    return FALSE;
  for (guint i = 0; filters[i]; i++)
    if (vnm_cli_conflict (filters[i], "off"))
      return FALSE;
  if (all && domain)
    {
      vnm_cli_usage_error (_("give a domain ('%s') or %s, not both."), domain, vnm_cli_option ("all"));
      return FALSE;
    }
  if (all && !on && !off)
    {
      vnm_cli_usage_error (_("%s goes with --on or --off."), vnm_cli_option ("all"));
      return FALSE;
    }
  if (!all && !domain)
    {
      g_printerr (_("virtnetmon: latency: which domain? Give a name, id or uuid (or --all with --on/--off).\n"));
      return FALSE;
    }
  if (!on && !events)
    for (guint i = 0; filters[i]; i++)
      if (vnm_cli_given (filters[i]))
        {
          vnm_cli_usage_error (_("%s chooses which packets are traced: give it with --on "
                                 "(or with --events to narrow the stream)."),
                               vnm_cli_option (filters[i]));
          return FALSE;
        }
  if (count_text && !events)
    {
      vnm_cli_usage_error (_("%s goes with %s."), vnm_cli_option ("count"), vnm_cli_option ("events"));
      return FALSE;
    }

  return TRUE;
}

int
vnm_cmd_latency (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autofree gchar *iface = NULL;
  g_autofree gchar *src_port = NULL, *dst_port = NULL, *threshold_text = NULL, *count_text = NULL;
  gboolean on = FALSE, off = FALSE, all = FALSE, hist = FALSE, events = FALSE;
  gboolean json = opts->json;
  guint64 count = 0;
  Filters f = { .threshold = -1 };
  const gchar *domain = NULL;
  int status = 0, result;
  const GOptionEntry entries[] = {
    { "on", 0, 0, G_OPTION_ARG_NONE, &on, N_("Switch tracing on (with the filters and threshold given); histograms start afresh"), NULL },
    { "off", 0, 0, G_OPTION_ARG_NONE, &off, N_("Switch tracing off"), NULL },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("With --on/--off: every domain, now and started later"), NULL },
    { "direction", 'd', 0, G_OPTION_ARG_STRING, &f.direction,
      N_("tx = sent by the VM, rx = sent to it, or both (default)"), N_("tx|rx|both") },
    { "proto", 'p', 0, G_OPTION_ARG_STRING, &f.proto, N_("Only this protocol"), N_("tcp|udp|icmp") },
    { "src-ip", 0, 0, G_OPTION_ARG_STRING, &f.src_ip, N_("Only packets from this address"), N_("ADDR") },
    { "dst-ip", 0, 0, G_OPTION_ARG_STRING, &f.dst_ip, N_("Only packets to this address"), N_("ADDR") },
    { "src-port", 0, 0, G_OPTION_ARG_STRING, &src_port, N_("Only packets from this port"), N_("N") },
    { "dst-port", 0, 0, G_OPTION_ARG_STRING, &dst_port, N_("Only packets to this port"), N_("N") },
    { "threshold", 't', 0, G_OPTION_ARG_STRING, &threshold_text,
      N_("Slow-packet threshold in microseconds (with --on, or to narrow --events)"), N_("USEC") },
    { "interface", 'i', 0, G_OPTION_ARG_STRING, &iface, N_("Only this host netdev of the domain"), N_("IFACE") },
    { "hist", 0, 0, G_OPTION_ARG_NONE, &hist, N_("Draw each histogram"), NULL },
    { "events", 'e', 0, G_OPTION_ARG_NONE, &events,
      N_("Stream slow packets until Ctrl-C (with --json: one JSON object per line)"), NULL },
    { "count", 'n', 0, G_OPTION_ARG_STRING, &count_text, N_("With --events: stop after N packets"), N_("N") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print JSON"), NULL },
    { NULL }
  };

  g_option_context_set_summary (octx,
    _("Datapath latency of a domain's packets, from kernel tracepoints, per direction\n"
      "and stage. tx = sent by the VM: received from its netdev -> queued on the next\n"
      "device -> handed to that device's driver. rx = sent to the VM: received on a\n"
      "port of its bridge -> queued on its netdev -> handed to the tap -> taken by\n"
      "the guest. A macvtap (type direct): tx = queued on the macvtap -> queued on\n"
      "its lower device -> handed to that device's driver; rx = received on the lower\n"
      "device -> taken by the guest (total only).\n"
      "Tracing is off until switched on (root, or whom polkit allows):\n"
      "  virtnetmon latency DOMAIN --on [--direction D] [--proto P] [--src-ip A]\n"
      "      [--dst-ip A] [--src-port N] [--dst-port N] [--threshold USEC]\n"
      "  virtnetmon latency --all --on|--off\n"
      "The filters choose which packets are measured. Without --on or --off the\n"
      "command shows percentiles (--hist: histograms), or streams the packets at or\n"
      "above the threshold (--events), where the filters narrow the stream.\n"
      "--on, --off, --events and --hist exclude each other; --interface is for\n"
      "showing, --count for --events."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    {
      result = status;
      goto out;
    }
  result = VNM_EXIT_USAGE;
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: latency: unexpected argument '%s'.\n"), argv[2]);
      goto out;
    }
  domain = argc == 2 ? argv[1] : NULL;

  if (!check_values (domain, iface, &f, src_port, dst_port, threshold_text, count_text, &count) ||
      !check_combination (domain, on, off, all, events, count_text))
    goto out;

  result = VNM_EXIT_FAILURE;
  if (!(proxy = vnm_cli_connect (opts)))
    goto out;
  if (on || off)
    result = switch_tracing (proxy, domain, on, &f, json);
  else if (events)
    result = stream (proxy, domain, &f, (gint64) count, json);
  else
    result = show (proxy, domain, &f, iface, hist, json);
out:
  g_free (f.direction);
  g_free (f.proto);
  g_free (f.src_ip);
  g_free (f.dst_ip);
  return result;
}
