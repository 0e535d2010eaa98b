/* cmd-history.c: `virtnetmon history DOMAIN|IFACE`: the daemon's rate
 * history as a sparkline per metric, or JSON. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "client.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

#define MAX_SINCE (48 * 3600)

/* "90", "90s", "15m", "2h", "2d" -> seconds; 0 when malformed. */
static guint
parse_span (const gchar *text)
{
  gchar *end = NULL;
  guint64 n = g_ascii_strtoull (text, &end, 10);
  guint64 unit = 1;

  if (!g_ascii_isdigit (text[0]))
    return 0;
  if (g_str_equal (end, "m"))
    unit = 60;
  else if (g_str_equal (end, "h"))
    unit = 3600;
  else if (g_str_equal (end, "d"))
    unit = 86400;
  else if (*end && !g_str_equal (end, "s"))
    return 0;
  return n > G_MAXUINT / unit ? 0 : (guint) (n * unit);
}

static guint
terminal_columns (void)
{
  struct winsize ws;
  const gchar *env = g_getenv ("COLUMNS");

  if (isatty (STDOUT_FILENO) && ioctl (STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  if (env && atoi (env) > 0)
    return atoi (env);
  return 80;
}

/* One line of at most @width cells; each cell is the highest average of
 * the points it covers, scaled from 0 to the series' maximum. */
static gchar *
sparkline (GVariant *points, guint width, guint *per_cell)
{
  static const gchar *const utf8[] = { "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█" };
  static const gchar *const ascii[] = { "_", ".", "-", "~", "=", "+", "*", "#" };
  const gchar *const *glyphs = g_get_charset (NULL) ? utf8 : ascii;
  gsize n = g_variant_n_children (points);
  GString *out = g_string_new (NULL);
  gdouble top = 0;
  guint cells, step;

  if (n == 0 || width == 0)
    {
      *per_cell = 0;
      return g_string_free (out, FALSE);
    }
  step = (n + width - 1) / width;
  cells = (n + step - 1) / step;
  *per_cell = step;
  g_autofree gdouble *cell = g_new0 (gdouble, cells);
  for (gsize i = 0; i < n; i++)
    {
      gdouble t, min, avg, max;
      g_variant_get_child (points, i, "(dddd)", &t, &min, &avg, &max);
      cell[i / step] = MAX (cell[i / step], avg);
      top = MAX (top, avg);
    }
  for (guint c = 0; c < cells; c++)
    {
      guint level = top > 0 ? (guint) (cell[c] / top * 7.0 + 0.5) : 0;
      g_string_append (out, glyphs[MIN (level, 7)]);
    }
  return g_string_free (out, FALSE);
}

static gchar *
clock_time (gdouble t)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local ((gint64) t);
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("?");
}

static void
print_series (const gchar *metric, guint resolution, guint since, GVariant *points)
{
  gsize n = g_variant_n_children (points);
  guint columns = terminal_columns (), per_cell = 0;
  guint width = columns > 20 ? columns - 2 : 18;
  g_autofree gchar *line = sparkline (points, width, &per_cell);
  gdouble lo = G_MAXDOUBLE, hi = 0, sum = 0, last = 0, t0 = 0, t1 = 0;

  for (gsize i = 0; i < n; i++)
    {
      gdouble t, min, avg, max;
      g_variant_get_child (points, i, "(dddd)", &t, &min, &avg, &max);
      lo = MIN (lo, min);
      hi = MAX (hi, max);
      sum += avg;
      last = avg;
      t0 = i == 0 ? t : t0;
      t1 = t;
    }
  printf (_("%s over the last %u s (%u s resolution, %zu points)\n"), metric, since, resolution, n);
  if (n == 0)
    {
      printf (_("  no samples yet\n"));
      return;
    }
  g_autofree gchar *from = clock_time (t0);
  g_autofree gchar *to = clock_time (t1);
  printf ("  %s\n", line);
  printf (_("  %s .. %s, one cell = %u s\n"), from, to, per_cell * resolution);
  printf (_("  min %.3f  avg %.3f  max %.3f  last %.3f\n"), lo, sum / n, hi, last);
}

int
vnm_cmd_history (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN|IFACE"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autofree gchar *metric = NULL, *since_text = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "metric", 'm', 0, G_OPTION_ARG_STRING, &metric,
      N_("rx_mbps, tx_mbps, rx_pps, tx_pps, rx_errors_ps, tx_errors_ps, rx_drops_ps or "
         "tx_drops_ps (default: rx_mbps and tx_mbps)"), N_("METRIC") },
    { "since", 's', 0, G_OPTION_ARG_STRING, &since_text,
      N_("How far back: 90s, 15m, 2h, 48h (default: 15m)"), N_("SPAN") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  static const gchar *const known_metrics[] = { VNM_HISTORY_METRIC_NAMES, NULL };
  const gchar *defaults[] = { "rx_mbps", "tx_mbps", NULL };
  const gchar *one[] = { NULL, NULL };
  const gchar *const *metrics;
  GVariantBuilder doc, series;
  guint since;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show the rate history of a running domain (the sum of its interfaces) or\n"
      "of a host interface, in the guest's view for VM interfaces. The daemon\n"
      "keeps 1-second samples for 15 minutes and 1-minute min/avg/max for 48\n"
      "hours; spans up to 15m come per second, longer ones per minute."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  one[0] = metric;
  metrics = metric ? one : defaults;
  if (argc < 2)
    {
      g_printerr (_("virtnetmon: history: which domain or interface?\n"));
      return VNM_EXIT_USAGE;
    }
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: history: unexpected argument '%s'.\n"), argv[2]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_length ("DOMAIN|IFACE", argv[1], VNM_CLI_ARG_MAX_LEN) ||
      !vnm_cli_check_choice ("metric", metric, known_metrics))
    return VNM_EXIT_USAGE;
  since = since_text ? parse_span (since_text) : 15 * 60;
  if (since == 0 || since > MAX_SINCE)
    {
      vnm_cli_bad_value ("since", since_text, _("a span from 1s to 48h, such as 90s, 15m or 2h"));
      return VNM_EXIT_USAGE;
    }
  proxy = vnm_cli_connect (opts);
  if (!proxy)
    return VNM_EXIT_FAILURE;

  g_variant_builder_init (&doc, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_init (&series, G_VARIANT_TYPE_VARDICT);
  for (guint m = 0; metrics[m]; m++)
    {
      g_autoptr(GVariant) points = NULL;
      g_autoptr(GError) error = NULL;
      guint resolution = 0;

      if (!vnm_monitor1_call_get_history_sync (proxy, argv[1], metrics[m], since, &resolution,
                                               &points, NULL, &error))
        return vnm_cli_report_error ("history", error);
      if (!json)
        {
          print_series (metrics[m], resolution, since, points);
          continue;
        }
      {
        GVariantBuilder list;
        g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
        for (gsize i = 0; i < g_variant_n_children (points); i++)
          {
            gdouble t, min, avg, max;
            GVariantBuilder p;
            g_variant_get_child (points, i, "(dddd)", &t, &min, &avg, &max);
            g_variant_builder_init (&p, G_VARIANT_TYPE_VARDICT);
            g_variant_builder_add (&p, "{sv}", "time", g_variant_new_uint64 ((guint64) t));
            g_variant_builder_add (&p, "{sv}", "min", g_variant_new_double (min));
            g_variant_builder_add (&p, "{sv}", "avg", g_variant_new_double (avg));
            g_variant_builder_add (&p, "{sv}", "max", g_variant_new_double (max));
            g_variant_builder_add_value (&list, g_variant_builder_end (&p));
          }
        GVariantBuilder one_series;
        g_variant_builder_init (&one_series, G_VARIANT_TYPE_VARDICT);
        g_variant_builder_add (&one_series, "{sv}", "resolution_seconds", g_variant_new_uint32 (resolution));
        g_variant_builder_add (&one_series, "{sv}", "points", g_variant_builder_end (&list));
        g_variant_builder_add (&series, "{sv}", metrics[m], g_variant_builder_end (&one_series));
      }
    }
  if (json)
    {
      g_autoptr(GVariant) value = NULL;
      g_variant_builder_add (&doc, "{sv}", "target", g_variant_new_string (argv[1]));
      g_variant_builder_add (&doc, "{sv}", "since_seconds", g_variant_new_uint32 (since));
      g_variant_builder_add (&doc, "{sv}", "series", g_variant_builder_end (&series));
      value = g_variant_ref_sink (g_variant_builder_end (&doc));
      vnm_cli_print_json (value);
    }
  else
    {
      g_variant_builder_clear (&doc);
      g_variant_builder_clear (&series);
    }
  return 0;
}
