/* bench-history.c: what 48 hours of rate history cost, in memory and CPU,
 * for a host with N VM interfaces (and so N interface series plus N VM
 * series, as virtnetmond keeps them).
 *
 * The daemon's own history module is fed 48 h of 1-second samples on a
 * simulated clock (every series every second, the worst case: nothing idle);
 * memory is read from the module and from the process (RSS), and compared
 * with keeping every 1-second sample for the same 48 h (the baseline).
 *
 *   bench-history [--interfaces N] [--hours H]
 * Prints a Markdown table. */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "history.h"

static gsize
rss_bytes (void)
{
  g_autofree gchar *text = NULL;
  gulong size = 0, resident = 0;

  if (g_file_get_contents ("/proc/self/statm", &text, NULL, NULL))
    sscanf (text, "%lu %lu", &size, &resident);
  return resident * (gsize) sysconf (_SC_PAGESIZE);
}

int
main (int argc, char **argv)
{
  gint interfaces = 200, hours = 48;
  const GOptionEntry entries[] = {
    { "interfaces", 0, 0, G_OPTION_ARG_INT, &interfaces, "VM interfaces (default 200)", "N" },
    { "hours", 0, 0, G_OPTION_ARG_INT, &hours, "Hours of history to feed (default 48)", "H" },
    { NULL }
  };
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmHistory) h = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  gdouble values[VNM_N_METRICS];
  gsize rss_before, rss_after, module;
  gint64 t0, t1, seconds, start = 1700000000;
  guint series, resolution = 0;
  gdouble record_ns, query_ms;

  g_option_context_add_main_entries (octx, entries, NULL);
  if (!g_option_context_parse (octx, &argc, &argv, &error))
    {
      g_printerr ("bench-history: %s\n", error->message);
      return 2;
    }
  for (gint i = 0; i < interfaces; i++)
    {
      g_ptr_array_add (names, g_strdup_printf ("iface:tap%di0", 100 + i));
      g_ptr_array_add (names, g_strdup_printf ("vm:00000000-0000-4000-8000-%012d", i));
    }
  series = names->len;
  seconds = (gint64) hours * 3600;

  rss_before = rss_bytes ();
  h = vnm_history_new ();
  t0 = g_get_monotonic_time ();
  for (gint64 s = 1; s <= seconds; s++)
    {
      for (guint i = 0; i < series; i++)
        {
          for (guint m = 0; m < VNM_N_METRICS; m++)
            values[m] = (gdouble) ((s * 7 + i * 13 + m) % 1000);
          vnm_history_record (h, g_ptr_array_index (names, i), start + s, 1.0, values);
        }
      if (s % 3600 == 0)
        vnm_history_expire (h, start + s);
    }
  t1 = g_get_monotonic_time ();
  rss_after = rss_bytes ();
  module = vnm_history_memory (h);
  record_ns = (gdouble) (t1 - t0) * 1000.0 / ((gdouble) seconds * series);

  {
    const gint reps = 200;
    gint64 q0 = g_get_monotonic_time ();
    for (gint r = 0; r < reps; r++)
      {
        g_autoptr(GArray) pts = vnm_history_query (h, g_ptr_array_index (names, r % series),
                                                   VNM_METRIC_TX_BYTES_PS, seconds,
                                                   start + seconds, &resolution);
        g_assert (pts && pts->len > 0);
      }
    query_ms = (gdouble) (g_get_monotonic_time () - q0) / 1000.0 / reps;
  }

  {
    /* Baseline: every 1-second value of every metric for the whole span,
     * 8 bytes each (a plain array, no timestamps). */
    gdouble baseline = (gdouble) series * seconds * VNM_N_METRICS * sizeof (gdouble);

    printf ("%d VM interfaces: %u series (one per interface, one per VM), %d h fed at 1-second "
            "steps on a simulated clock (%" G_GINT64_FORMAT " seconds x %u series = %.1f M "
            "records), every metric changing every second.\n\n",
            interfaces, series, hours, seconds, series, seconds * series / 1e6);
    printf ("| storage | memory | per series |\n|---|---:|---:|\n");
    printf ("| virtnetmon history: 15 min of 1 s + %d h of 1 min min/avg/max (module's count) | "
            "%.1f MiB | %.1f KiB |\n", MIN (hours, 48), module / 1048576.0, module / 1024.0 / series);
    printf ("| virtnetmon history: process RSS growth | %.1f MiB | %.1f KiB |\n",
            (rss_after - rss_before) / 1048576.0, (rss_after - rss_before) / 1024.0 / series);
    printf ("| baseline: every 1 s value for %d h (8 metrics x 8 bytes) | %.1f MiB | %.1f KiB |\n\n",
            hours, baseline / 1048576.0, baseline / 1024.0 / series);
    printf ("Recording costs %.0f ns per series per sample: %.2f ms of CPU a second for all %u "
            "series at `--interval 1` (%.2f %% of one core). A %d-hour query of one series "
            "(%u-second points) takes %.3f ms.\n",
            record_ns, record_ns * series / 1e6, series, record_ns * series / 1e7, hours,
            resolution, query_ms);
  }
  return 0;
}
