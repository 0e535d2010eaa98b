/* test-history.c: the two rings — exact seconds, minute min/avg/max, gaps
 * filled with the later rate, sub-second samples averaged, bounded
 * memory over 50 hours, a clock that goes back, expiry. */
#include "config.h"

#include "history.h"
#include "history-codec.h"

#define T0 1789999200  /* a whole minute, in 2026 */

/* The documented precision: within 1/2000 of the largest value of that
 * metric in the block (a minute of seconds, or COARSE_BLOCK minutes). */
#define assert_within_block(got, want, block_max) \
  g_assert_cmpfloat_with_epsilon ((got), (want), \
                                  (block_max) / (2.0 * VNM_HISTORY_CODEC_LEVELS) + 1e-9 * (block_max))

static void
values_of (gdouble v, gdouble out[VNM_N_METRICS])
{
  for (guint i = 0; i < VNM_N_METRICS; i++)
    out[i] = v * (i + 1);
}

/* A sample at @t of the mean rate @v over the @dt seconds before. */
static void
record (VnmHistory *h, const gchar *series, gdouble t, gdouble dt, gdouble v)
{
  gdouble vals[VNM_N_METRICS];

  values_of (v, vals);
  vnm_history_record (h, series, t, dt, vals);
}

static void
test_seconds (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) pts = NULL;
  guint res = 0;

  /* 20 minutes, one sample a second; second T0 + t gets the value t. */
  for (gint64 t = 0; t < 1200; t++)
    record (h, "tap0", T0 + t + 1, 1, t);
  pts = vnm_history_query (h, "tap0", VNM_METRIC_TX_PPS, 900, T0 + 1199, &res);
  g_assert_cmpuint (res, ==, 1);
  g_assert_cmpuint (pts->len, ==, 900);
  for (guint i = 0; i < pts->len; i++)
    {
      VnmHistoryPoint *p = &g_array_index (pts, VnmHistoryPoint, i);
      g_assert_cmpint (p->time_s, ==, T0 + 300 + i);
      /* TX_PPS is metric 3: value * 4; the minute's largest is at its
       * second 59. */
      assert_within_block (p->avg, (300.0 + i) * 4, ((300 + i) / 60 * 60 + 59) * 4.0);
      g_assert_cmpfloat (p->min, ==, p->avg);
    }
  g_assert_null (vnm_history_query (h, "nope", VNM_METRIC_RX_PPS, 60, T0 + 1199, &res));
}

static void
test_subsecond_and_gaps (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) pts = NULL;
  guint res;

  /* Four samples in one second: the second's mean rate. */
  record (h, "a", T0 + 0.25, 0.25, 1);
  record (h, "a", T0 + 0.5, 0.25, 2);
  record (h, "a", T0 + 0.75, 0.25, 3);
  record (h, "a", T0 + 1.0, 0.25, 6);
  /* A 5-second interval: each second it covers gets its rate. */
  record (h, "a", T0 + 6, 5, 10);
  pts = vnm_history_query (h, "a", VNM_METRIC_RX_BYTES_PS, 10, T0 + 6, &res);
  g_assert_cmpuint (pts->len, ==, 6);
  g_assert_cmpfloat_with_epsilon (g_array_index (pts, VnmHistoryPoint, 0).avg, 3.0, 1e-9);
  for (guint i = 1; i < 6; i++)
    g_assert_cmpfloat_with_epsilon (g_array_index (pts, VnmHistoryPoint, i).avg, 10.0, 1e-9);
  g_clear_pointer (&pts, g_array_unref);

  /* A short interval across a second boundary is split by time: second
   * T0 + 6 gets 0.5 s at 40, then 0.5 s at 20 -> mean 30; amounts add up. */
  record (h, "a", T0 + 6.5, 0.5, 40);
  record (h, "a", T0 + 7.2, 0.7, 20);
  pts = vnm_history_query (h, "a", VNM_METRIC_RX_BYTES_PS, 2, T0 + 7, &res);
  g_assert_cmpfloat_with_epsilon (g_array_index (pts, VnmHistoryPoint, 0).avg, 30.0, 1e-9);
  g_clear_pointer (&pts, g_array_unref);

  /* Time already covered (a clock that went back) is ignored. */
  record (h, "a", T0 + 3, 1, 1000);
  pts = vnm_history_query (h, "a", VNM_METRIC_RX_BYTES_PS, 10, T0 + 6, &res);
  g_assert_cmpfloat_with_epsilon (g_array_index (pts, VnmHistoryPoint, 2).avg, 10.0, 1e-9);
}

static void
test_minutes (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) pts = NULL;
  guint res;

  /* Three hours; within each minute the value runs 0..59. */
  for (gint64 t = 0; t < 3 * 3600; t++)
    record (h, "vm", T0 + t + 1, 1, t % 60);
  pts = vnm_history_query (h, "vm", VNM_METRIC_RX_BYTES_PS, 2 * 3600, T0 + 3 * 3600, &res);
  g_assert_cmpuint (res, ==, 60);
  /* The minutes inside the 2 hours: 120, the last one still filling. */
  g_assert_cmpuint (pts->len, ==, 120);
  g_assert_cmpint (g_array_index (pts, VnmHistoryPoint, 0).time_s, ==, T0 + 3600);
  g_assert_cmpint (g_array_index (pts, VnmHistoryPoint, 119).time_s, ==, T0 + 3 * 3600 - 60);
  for (guint i = 0; i + 1 < pts->len; i++)
    {
      VnmHistoryPoint *p = &g_array_index (pts, VnmHistoryPoint, i);
      g_assert_cmpfloat (p->min, ==, 0.0);
      g_assert_cmpfloat (p->max, ==, 59.0);
      g_assert_cmpfloat_with_epsilon (p->avg, 29.5, 1e-4);
    }
}

static void
test_bounded (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) pts = NULL;
  gsize after_48h = 0;
  guint res;

  /* 50 hours at one sample every 10 seconds (the gaps fill seconds). */
  for (gint64 t = 10; t <= 50 * 3600; t += 10)
    {
      record (h, "if", T0 + t, 10, 1);
      if (t == 48 * 3600)
        after_48h = vnm_history_memory (h);
    }
  /* Full after 48 hours: what 2 more add is a block filling up (constant
   * values compress to a few bytes a block). */
  g_assert_cmpuint (vnm_history_memory (h), <=, after_48h + after_48h / 20);
  g_assert_cmpuint (vnm_history_memory (h), <, 40 * 1024);
  pts = vnm_history_query (h, "if", VNM_METRIC_RX_PPS, 48 * 3600, T0 + 50 * 3600, &res);
  g_assert_cmpuint (pts->len, <=, VNM_HISTORY_COARSE_MINUTES + 1);
  g_assert_cmpuint (pts->len, >=, VNM_HISTORY_COARSE_MINUTES);
  g_assert_cmpint (g_array_index (pts, VnmHistoryPoint, 0).time_s, >=, T0 + 2 * 3600 - 60);

  vnm_history_expire (h, T0 + 50 * 3600 + 47 * 3600);
  g_assert_cmpuint (vnm_history_n_series (h), ==, 1);
  vnm_history_expire (h, T0 + 50 * 3600 + 49 * 3600);
  g_assert_cmpuint (vnm_history_n_series (h), ==, 0);
}

/* A series that went quiet (its interface is gone) gives its seconds ring
 * back after 15 minutes and keeps its minutes, so that short-lived taps
 * cost little for the 48 hours they stay queryable. */
static void
test_quiet_series_shrinks (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) minutes = NULL;
  gsize live, quiet;
  guint res;

  for (gint64 t = 1; t <= 180; t++)
    record (h, "tap", T0 + t, 1, 5);
  live = vnm_history_memory (h);
  vnm_history_expire (h, T0 + 180 + VNM_HISTORY_FINE_SECONDS);
  g_assert_cmpuint (vnm_history_memory (h), ==, live);
  vnm_history_expire (h, T0 + 180 + VNM_HISTORY_FINE_SECONDS + 1);
  quiet = vnm_history_memory (h);
  /* The seconds go (at least the open minute's floats), the minutes stay. */
  g_assert_cmpuint (quiet + 60 * VNM_N_METRICS * sizeof (gfloat), <=, live);
  g_assert_cmpuint (quiet, <, live / 4);
  g_assert_cmpuint (vnm_history_n_series (h), ==, 1);
  minutes = vnm_history_query (h, "tap", VNM_METRIC_RX_PPS, 3600, T0 + 1200, &res);
  g_assert_cmpuint (res, ==, 60);
  g_assert_cmpuint (minutes->len, >=, 3);
  g_assert_cmpfloat (g_array_index (minutes, VnmHistoryPoint, 0).avg, ==, 5 * 3);
  /* It comes back to life with a new seconds ring. */
  record (h, "tap", T0 + 2000, 1, 7);
  g_assert_cmpuint (vnm_history_memory (h), >, quiet);
}

static void
test_metric_names (void)
{
  VnmMetric m;
  gdouble scale;

  g_assert_true (vnm_metric_from_name ("tx_mbps", &m, &scale));
  g_assert_cmpint (m, ==, VNM_METRIC_TX_BYTES_PS);
  g_assert_cmpfloat (scale, ==, 8e-6);
  g_assert_true (vnm_metric_from_name ("rx_drops_ps", &m, &scale));
  g_assert_cmpint (m, ==, VNM_METRIC_RX_DROPS_PS);
  g_assert_false (vnm_metric_from_name ("rx_bogus", &m, &scale));
  g_assert_cmpuint (g_strv_length ((gchar **) vnm_metric_names ()), ==, VNM_N_METRICS);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/history/seconds", test_seconds);
  g_test_add_func ("/history/subsecond-and-gaps", test_subsecond_and_gaps);
  g_test_add_func ("/history/minutes", test_minutes);
  g_test_add_func ("/history/bounded", test_bounded);
  g_test_add_func ("/history/quiet-series-shrinks", test_quiet_series_shrinks);
  g_test_add_func ("/history/metric-names", test_metric_names);
  return g_test_run ();
}
