/* test-history.c: the two rings — seconds, minute min/avg/max, gaps
 * filled with the later rate, sub-second samples averaged, bounded
 * memory over 50 hours, a clock that goes back, expiry — and their
 * compressed blocks: the codec's round trip and precision bound on
 * adversarial values, the rings' wrap-around over 48 hours, and a VM's
 * series sharing its only interface's blocks, then getting a second. */
#include "config.h"

#include <math.h>
#include <string.h>

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
  /* Not quiet for long enough yet: its seconds are all there (only the
   * cache of blocks sealed lately lets go of them, so it may shrink). */
  g_assert_cmpuint (vnm_history_memory (h), <=, live);
  {
    g_autoptr(GArray) secs = vnm_history_query (h, "tap", VNM_METRIC_RX_PPS, 900, T0 + 180, &res);
    g_assert_cmpuint (secs->len, ==, 180);
  }
  live = vnm_history_memory (h);
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


/* ---- the codec ---- */

#define SLOTS 30
#define NF 3

/* Encodes @vals (SLOTS x M x NF, for the slots of @present in order),
 * decodes every metric and checks the documented precision. Returns the
 * largest error seen, in units of the bound. */
static gdouble
check_roundtrip (guint64 present, const gfloat *vals)
{
  VnmHistoryBlock *b = vnm_history_block_encode (1234567, present, VNM_N_METRICS, NF, vals);
  guint n = __builtin_popcountll (present);
  gdouble worst = 0;

  g_assert_cmpint (vnm_history_block_start (b), ==, 1234567);
  g_assert_cmpuint (vnm_history_block_present (b), ==, present);
  g_assert_cmpuint (vnm_history_block_n_fields (b), ==, NF);
  for (guint m = 0; m < VNM_N_METRICS; m++)
    {
      gdouble out[SLOTS * NF];
      gdouble top = 0;
      gboolean finite = TRUE;

      g_assert_cmpuint (vnm_history_block_decode (b, m, out), ==, n);
      for (guint k = 0; k < n * NF; k++)
        {
          gfloat v = vals[(k / NF * VNM_N_METRICS + m) * NF + k % NF];
          finite = finite && isfinite (v);
          if (isfinite (v))
            top = MAX (top, fabs (v));
        }
      for (guint k = 0; k < n * NF; k++)
        {
          gfloat v = vals[(k / NF * VNM_N_METRICS + m) * NF + k % NF];
          gdouble bound = top / (2.0 * VNM_HISTORY_CODEC_LEVELS);

          if (!finite)
            {
              /* Stored as given, bit for bit. */
              gfloat got = (gfloat) out[k];
              g_assert_cmpmem (&got, 4, &v, 4);
              continue;
            }
          if (v == 0)
            g_assert_cmpfloat (out[k], ==, 0.0);
          if (fabs (v) == top)
            g_assert_cmpfloat (fabs (out[k]), ==, top);
          g_assert_cmpfloat (fabs (out[k] - v), <=, bound * (1 + 1e-9));
          if (bound > 0)
            worst = MAX (worst, fabs (out[k] - v) / bound);
          /* min <= avg <= max stays so. */
          if (k % NF)
            g_assert_cmpfloat (out[k - 1], <=, out[k]);
        }
    }
  vnm_history_block_unref (b);
  return worst;
}

/* Sorts each slot's three values so that they are a min, an avg, a max. */
static void
as_min_avg_max (gfloat *vals, guint n)
{
  for (guint k = 0; k < n * VNM_N_METRICS; k++)
    {
      gfloat *t = &vals[k * NF];
      for (guint i = 0; i < NF; i++)
        for (guint j = i + 1; j < NF; j++)
          if (t[j] < t[i])
            {
              gfloat x = t[i];
              t[i] = t[j];
              t[j] = x;
            }
    }
}

static void
test_codec_adversarial (void)
{
  gfloat vals[SLOTS * VNM_N_METRICS * NF];
  GRand *rand = g_rand_new_with_seed (24);

  for (guint k = 0; k < SLOTS; k++)
    for (guint f = 0; f < NF; f++)
      {
        gfloat *v = &vals[k * VNM_N_METRICS * NF + f];
        v[0 * NF] = 0;                                       /* all zero */
        v[1 * NF] = FLT_MAX / (1 + k + f);                   /* huge */
        v[2 * NF] = k < SLOTS / 2 ? 0 : 1e9f;                /* a step */
        v[3 * NF] = k == 7 && f == 2 ? 3e12f : 1 + f;        /* a counter's spike */
        v[4 * NF] = k == 3 ? 1e-40f : 0;                     /* a subnormal among zeros */
        v[5 * NF] = k == 11 ? INFINITY : 42;                 /* not finite: stored as is */
        v[6 * NF] = k == 12 ? NAN : 7;
        v[7 * NF] = (gfloat) g_rand_double_range (rand, 0, 1e6);
      }
  as_min_avg_max (vals, SLOTS);
  check_roundtrip (G_GUINT64_CONSTANT (0x3fffffff), vals);
  /* Slots missing in the middle: only the present ones are given. */
  check_roundtrip (G_GUINT64_CONSTANT (0x0f0f0f1), vals);
  /* One slot. */
  check_roundtrip (G_GUINT64_CONSTANT (1) << 29, vals);
  g_rand_free (rand);
}

/* The bound holds, and is not loose, on many kinds of random runs: noise,
 * smooth, sparse bursts, constants, negative values. */
static void
test_codec_precision (void)
{
  GRand *rand = g_rand_new_with_seed (2024);
  gfloat vals[SLOTS * VNM_N_METRICS * NF];
  gdouble worst = 0;

  for (guint round = 0; round < 500; round++)
    {
      gdouble scale = pow (10, g_rand_double_range (rand, -3, 12));
      gdouble walk = g_rand_double (rand);

      for (guint k = 0; k < SLOTS; k++)
        for (guint m = 0; m < VNM_N_METRICS; m++)
          for (guint f = 0; f < NF; f++)
            {
              gdouble v;
              walk += g_rand_double_range (rand, -0.01, 0.01);
              switch ((round + m) % 5)
                {
                case 0: v = g_rand_double (rand); break;
                case 1: v = walk; break;
                case 2: v = g_rand_int_range (rand, 0, 20) == 0 ? g_rand_double (rand) : 0; break;
                case 3: v = 0.5; break;
                default: v = g_rand_double_range (rand, -1, 1); break;
                }
              vals[(k * VNM_N_METRICS + m) * NF + f] = (gfloat) (v * scale);
            }
      as_min_avg_max (vals, SLOTS);
      worst = MAX (worst, check_roundtrip (G_GUINT64_CONSTANT (0x3fffffff), vals));
    }
  /* Rounding to the nearest step uses most of its half step. */
  g_assert_cmpfloat (worst, >, 0.9);
  g_rand_free (rand);
}

static void
test_codec_sharing (void)
{
  gfloat vals[SLOTS * VNM_N_METRICS * NF] = { 0 };
  VnmHistoryBlock *a, *b, *c;

  for (guint i = 0; i < G_N_ELEMENTS (vals); i++)
    vals[i] = (gfloat) (i % 97);
  a = vnm_history_block_encode (5, 0x3fffffff, VNM_N_METRICS, NF, vals);
  b = vnm_history_block_encode (5, 0x3fffffff, VNM_N_METRICS, NF, vals);
  g_assert_true (vnm_history_block_equal (a, b));
  g_assert_cmpuint (vnm_history_block_hash (a), ==, vnm_history_block_hash (b));
  vals[100] += 1;
  c = vnm_history_block_encode (5, 0x3fffffff, VNM_N_METRICS, NF, vals);
  g_assert_false (vnm_history_block_equal (a, c));
  vnm_history_block_unref (c);
  /* The same values at another time are another block. */
  vals[100] -= 1;
  c = vnm_history_block_encode (6, 0x3fffffff, VNM_N_METRICS, NF, vals);
  g_assert_false (vnm_history_block_equal (a, c));
  vnm_history_block_unref (a);
  vnm_history_block_unref (b);
  vnm_history_block_unref (c);
}

/* ---- the rings over 48 hours ---- */

/* Second t's value: a level per minute (cycling through 101) plus a ramp
 * within the minute, so that min, avg and max differ and change. */
static gdouble
level_at (gint64 t)
{
  return (gdouble) ((t / 60) * 37 % 101) + (gdouble) (t % 60) / 60.0;
}

static void
test_wraparound (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(GArray) pts = NULL;
  g_autoptr(GArray) secs = NULL;
  const gint64 span = 50 * 3600, end = T0 + span;
  guint res;

  for (gint64 t = 0; t < span; t++)
    record (h, "if", T0 + t + 1, 1, level_at (t));
  pts = vnm_history_query (h, "if", VNM_METRIC_RX_PPS, 48 * 3600, end, &res);
  g_assert_cmpuint (res, ==, 60);
  /* The 48 hours' minutes, the last one still filling (its last second is
   * the one being filled). */
  g_assert_cmpuint (pts->len, ==, VNM_HISTORY_COARSE_MINUTES);
  for (guint i = 0; i < pts->len; i++)
    {
      const VnmHistoryPoint *p = &g_array_index (pts, VnmHistoryPoint, i);
      gint64 minute = (p->time_s - T0) / 60;
      gint64 block0 = p->time_s / 60 / 30 * 30;   /* its block's first minute */
      gdouble top = 0;

      g_assert_cmpint (p->time_s, ==, end - 48 * 3600 + 60 * (gint64) i);
      for (gint64 mm = block0; mm < block0 + 30; mm++)
        top = MAX (top, 3 * level_at ((mm * 60 - T0) + 59));
      /* RX_PPS is metric 2: value * 3. */
      assert_within_block (p->min, 3 * level_at (minute * 60), top);
      assert_within_block (p->max, 3 * level_at (minute * 60 + 59), top);
      if (i + 1 < pts->len)
        assert_within_block (p->avg, 3 * ((gdouble) (minute * 37 % 101) + 29.5 / 60), top);
    }

  secs = vnm_history_query (h, "if", VNM_METRIC_RX_PPS, VNM_HISTORY_FINE_SECONDS, end, &res);
  g_assert_cmpuint (res, ==, 1);
  /* Up to the second being filled (second @end has no sample yet). */
  g_assert_cmpuint (secs->len, ==, VNM_HISTORY_FINE_SECONDS - 1);
  for (guint i = 0; i < secs->len; i++)
    {
      const VnmHistoryPoint *p = &g_array_index (secs, VnmHistoryPoint, i);
      gint64 t = p->time_s - T0;

      g_assert_cmpint (p->time_s, ==, end - VNM_HISTORY_FINE_SECONDS + 1 + i);
      assert_within_block (p->avg, 3 * level_at (t), 3 * level_at (t / 60 * 60 + 59));
    }
}

/* Memory stays bounded whatever the values: noise at full scale every
 * second (the codec's worst case) and values that are not finite (stored
 * as floats) both stay below the layout before compression (328 KiB). */
static void
test_bounded_worst_case (void)
{
  for (guint kind = 0; kind < 2; kind++)
    {
      g_autoptr(VnmHistory) h = vnm_history_new ();
      GRand *rand = g_rand_new_with_seed (kind);

      for (gint64 t = 1; t <= 49 * 3600; t++)
        {
          gdouble v[VNM_N_METRICS];
          for (guint m = 0; m < VNM_N_METRICS; m++)
            v[m] = kind == 0 ? g_rand_double (rand) * 1e9 : (m == 0 && t % 2 ? NAN : g_rand_double (rand));
          vnm_history_record (h, "if", T0 + t, 1, v);
        }
      g_assert_cmpuint (vnm_history_memory (h), <, 328 * 1024);
      if (kind == 0)
        g_assert_cmpuint (vnm_history_memory (h), <, 140 * 1024);
      g_rand_free (rand);
    }
}

/* ---- a VM's series and its only interface's ---- */

static gboolean
same_points (GArray *a, GArray *b)
{
  return a->len == b->len && memcmp (a->data, b->data, a->len * sizeof (VnmHistoryPoint)) == 0;
}

static void
test_vm_shares_interface (void)
{
  g_autoptr(VnmHistory) h = vnm_history_new ();
  g_autoptr(VnmHistory) alone = vnm_history_new ();
  g_autoptr(GArray) vm_before = NULL;
  gsize one = 0, both;
  guint res;
  gint64 t;

  /* Three hours of one interface; the VM records the same values, as
   * history-recorder.c does for a VM with one interface. */
  for (t = 1; t <= 3 * 3600; t++)
    {
      gdouble v = level_at (t) * 1000;
      record (alone, "iface:tap0", T0 + t, 1, v);
      record (h, "iface:tap0", T0 + t, 1, v);
      if (t == 2 * 3600)
        one = vnm_history_memory (h);
      /* The VM starts in the middle of a minute and of a block. */
      if (t > 5400 + 433)
        record (h, "vm:a", T0 + t, 1, v);
    }
  /* The VM's 1.4 hours cost their open parts and the block it started
   * in, not a second copy of the blocks. */
  both = vnm_history_memory (h);
  g_assert_cmpuint (both - vnm_history_memory (alone), <, 8 * 1024);
  g_assert_cmpuint (both, <, one + (one / 2) + 8 * 1024);
  {
    g_autoptr(GArray) a = vnm_history_query (h, "vm:a", VNM_METRIC_TX_BYTES_PS, 3 * 3600, T0 + t - 1, &res);
    g_autoptr(GArray) b = vnm_history_query (h, "iface:tap0", VNM_METRIC_TX_BYTES_PS, 3 * 3600, T0 + t - 1, &res);
    gsize pt = sizeof (VnmHistoryPoint);

    /* From its first whole minute on, the VM's points are the interface's:
     * within the precision in the block the VM started in (its own, with
     * its own scale), the very same from the next block (minute 120) on,
     * where the two share blocks. */
    g_assert_cmpuint (a->len, ==, 3 * 60 - 90 - 7);
    g_assert_cmpuint (b->len, ==, 3 * 60);
    g_assert_cmpint (g_array_index (a, VnmHistoryPoint, 0).time_s, ==, T0 + 5400 + 420);
    g_assert_cmpfloat (g_array_index (a, VnmHistoryPoint, 0).min, >, g_array_index (b, VnmHistoryPoint, 97).min);
    for (guint i = 1; i < 120 - 97; i++)
      {
        const VnmHistoryPoint *p = &g_array_index (a, VnmHistoryPoint, i);
        const VnmHistoryPoint *q = &g_array_index (b, VnmHistoryPoint, 97 + i);
        g_assert_cmpint (p->time_s, ==, q->time_s);
        /* TX_BYTES_PS is metric 1: 2 * 1000 * level, below 2 * 101000. */
        assert_within_block (p->avg, q->avg, 2 * 2 * 101000.0);
        assert_within_block (p->max, q->max, 2 * 2 * 101000.0);
      }
    g_assert_cmpmem (a->data + (120 - 97) * pt, (a->len - (120 - 97)) * pt,
                     b->data + 120 * pt, (b->len - 120) * pt);
  }
  vm_before = vnm_history_query (h, "vm:a", VNM_METRIC_TX_BYTES_PS, 2 * 3600, T0 + 3 * 3600, &res);

  /* A second interface: the VM records the sum from now on; its past and
   * tap0's series are unchanged. */
  for (; t <= 4 * 3600; t++)
    {
      gdouble v = level_at (t) * 1000;
      record (alone, "iface:tap0", T0 + t, 1, v);
      record (h, "iface:tap0", T0 + t, 1, v);
      record (h, "iface:tap1", T0 + t, 1, 500);
      record (h, "vm:a", T0 + t, 1, v + 500);
    }
  {
    g_autoptr(GArray) a = vnm_history_query (h, "iface:tap0", VNM_METRIC_RX_PPS, 48 * 3600, T0 + t, &res);
    g_autoptr(GArray) b = vnm_history_query (alone, "iface:tap0", VNM_METRIC_RX_PPS, 48 * 3600, T0 + t, &res);
    g_autoptr(GArray) s1 = vnm_history_query (h, "iface:tap0", VNM_METRIC_RX_PPS, 900, T0 + t, &res);
    g_autoptr(GArray) s2 = vnm_history_query (alone, "iface:tap0", VNM_METRIC_RX_PPS, 900, T0 + t, &res);
    g_autoptr(GArray) vm = vnm_history_query (h, "vm:a", VNM_METRIC_TX_BYTES_PS, 2 * 3600, T0 + 3 * 3600, &res);
    g_autoptr(GArray) sum = vnm_history_query (h, "vm:a", VNM_METRIC_TX_BYTES_PS, 1800, T0 + t - 1, &res);

    g_assert_true (same_points (a, b));
    g_assert_true (same_points (s1, s2));
    /* The VM's past is what it was, the very same where its blocks were
     * sealed then; the block still open at 3 h was floats and is now
     * encoded, within the precision. */
    /* (The minutes still filling at 3 h are left out.) */
    g_assert_cmpuint (vm->len, >=, vm_before->len);
    for (guint i = 0; i + 2 < vm_before->len; i++)
      {
        const VnmHistoryPoint *p = &g_array_index (vm, VnmHistoryPoint, i);
        const VnmHistoryPoint *q = &g_array_index (vm_before, VnmHistoryPoint, i);
        g_assert_cmpint (p->time_s, ==, q->time_s);
        if (p->time_s < T0 + 150 * 60)
          g_assert_cmpmem (p, sizeof *p, q, sizeof *q);
        else
          assert_within_block (p->avg, q->avg, 2 * 101000.0);
      }
    g_clear_pointer (&vm_before, g_array_unref);
    vm_before = g_array_ref (vm);
    g_assert_cmpuint (sum->len, ==, 30);
    for (guint i = 0; i + 1 < sum->len; i++)   /* the last minute is still filling */
      {
        const VnmHistoryPoint *p = &g_array_index (sum, VnmHistoryPoint, i);
        gint64 minute = (p->time_s - T0) / 60;
        gdouble mean = 0;

        /* Second T0 + t - 1 got level_at (t). */
        for (gint64 j = 1; j <= 60; j++)
          mean += (level_at (minute * 60 + j) * 1000 + 500) / 60;
        /* TX_BYTES_PS is metric 1: value * 2; the block's top is below 2 * (101000 + 500). */
        assert_within_block (p->avg, 2 * mean,
                             2 * (101000.0 + 500));
      }
  }

  /* tap0 goes away and expires; the VM, still recording, keeps the blocks
   * it shared with it. */
  for (gint64 u = t; u <= t + 3600; u++)
    record (h, "vm:a", T0 + u, 1, 7);
  vnm_history_expire (h, T0 + t + 48 * 3600 + 1);
  g_assert_false (vnm_history_has_series (h, "iface:tap0"));
  g_assert_true (vnm_history_has_series (h, "vm:a"));
  {
    g_autoptr(GArray) vm = vnm_history_query (h, "vm:a", VNM_METRIC_TX_BYTES_PS, 2 * 3600, T0 + 3 * 3600, &res);
    gsize pt = sizeof (VnmHistoryPoint);

    /* (The last point is the minute being filled, which moved on.) */
    g_assert_cmpuint (vm->len, ==, vm_before->len);
    g_assert_cmpmem (vm->data, (vm->len - 1) * pt, vm_before->data, (vm->len - 1) * pt);
  }
  vnm_history_expire (h, T0 + t + 3600 + 48 * 3600 + 1);
  g_assert_cmpuint (vnm_history_n_series (h), ==, 0);
  g_assert_cmpuint (vnm_history_memory (h), ==, 0);
}

/* ---- unfinished parts shared while two series record the same ---- */

/* A history with the series under test, and for each series a history of
 * its own fed the same calls: whatever is shared, every query of a series
 * must answer what its own history answers, to the bit. */
#define N_TWINS 4

typedef struct {
  VnmHistory *h;
  VnmHistory *alone[N_TWINS];
  const gchar *names[N_TWINS];
} Twins;

static void
twins_init (Twins *tw, const gchar *const *names)
{
  tw->h = vnm_history_new ();
  for (guint i = 0; i < N_TWINS; i++)
    {
      tw->alone[i] = vnm_history_new ();
      tw->names[i] = names[i];
    }
}

static void
twins_clear (Twins *tw)
{
  vnm_history_free (tw->h);
  for (guint i = 0; i < N_TWINS; i++)
    vnm_history_free (tw->alone[i]);
}

static void
twins_record (Twins *tw, guint i, gdouble t, gdouble dt, const gdouble *v)
{
  vnm_history_record (tw->h, tw->names[i], t, dt, v);
  vnm_history_record (tw->alone[i], tw->names[i], t, dt, v);
}

static void
twins_expire (Twins *tw, gint64 now)
{
  vnm_history_expire (tw->h, now);
  for (guint i = 0; i < N_TWINS; i++)
    vnm_history_expire (tw->alone[i], now);
}

/* Every metric's seconds and minutes of every series, against its own
 * history's. */
static void
twins_check (Twins *tw, gint64 now)
{
  static const gint64 spans[] = { 60, 900, 3600, 48 * 3600 };

  for (guint i = 0; i < N_TWINS; i++)
    for (guint m = 0; m < VNM_N_METRICS; m++)
      for (guint k = 0; k < G_N_ELEMENTS (spans); k++)
        {
          guint r1 = 0, r2 = 0;
          g_autoptr(GArray) a = vnm_history_query (tw->h, tw->names[i], m, spans[k], now, &r1);
          g_autoptr(GArray) b = vnm_history_query (tw->alone[i], tw->names[i], m, spans[k], now, &r2);

          g_assert_true ((a == NULL) == (b == NULL));
          if (!a)
            continue;
          g_assert_cmpuint (r1, ==, r2);
          if (!same_points (a, b))
            g_error ("%s, metric %u, %" G_GINT64_FORMAT " s at %" G_GINT64_FORMAT
                     ": %u points, %u in its own history", tw->names[i], m, spans[k], now - T0,
                     a->len, b->len);
        }
}

/* What a VM with one interface costs next to that interface: its name, its
 * rings of pointers, not a second copy of the unfinished parts. */
static void
test_vm_follows_interface (void)
{
  static const gchar *const names[N_TWINS] = { "iface:tap0", "vm:a", "iface:tap1", "vm:b" };
  Twins tw;
  gsize one, both;

  twins_init (&tw, names);
  for (gint64 t = 1; t <= 2 * 3600 + 1234; t++)
    {
      gdouble v[VNM_N_METRICS];
      values_of (level_at (t) * 1000, v);
      twins_record (&tw, 0, T0 + t, 1, v);
      twins_record (&tw, 1, T0 + t, 1, v);
    }
  one = vnm_history_memory (tw.alone[0]);
  both = vnm_history_memory (tw.h);
  /* (The series' own struct and its two rings of block pointers: under 1
   * KiB, against about 6 KiB with parts of its own.) */
  g_assert_cmpuint (both - one, <, 1024);
  twins_check (&tw, T0 + 2 * 3600 + 1234);
  twins_clear (&tw);
}

static gssize
vm_extra (Twins *tw)
{
  return (gssize) vnm_history_memory (tw->h) - (gssize) vnm_history_memory (tw->alone[0])
         - (gssize) vnm_history_memory (tw->alone[2]);
}

/* The VM's single interface diverges in the middle of a minute and of a
 * coarse block (the VM gets a second interface: it records the sum), then
 * the second interface goes and the two record the same again: the parts
 * are shared again from the next coarse block on, and every answer is
 * each series' own throughout. */
static void
test_vm_diverges_mid_block (void)
{
  static const gchar *const names[N_TWINS] = { "iface:tap0", "vm:a", "iface:tap1", "vm:b" };
  Twins tw;
  gssize shared = 0, apart = 0, again = 0;
  gint64 t;

  twins_init (&tw, names);
  for (t = 1; t <= 4 * 3600; t++)
    {
      gdouble v[VNM_N_METRICS], w[VNM_N_METRICS], sum[VNM_N_METRICS];
      gboolean second = t > 3600 + 17 * 60 + 23 && t <= 2 * 3600 + 5 * 60 + 41;

      values_of (level_at (t) * 1000, v);
      values_of (3, w);
      for (guint m = 0; m < VNM_N_METRICS; m++)
        sum[m] = v[m] + (second ? w[m] : 0);
      twins_record (&tw, 0, T0 + t, 1, v);
      if (second)
        twins_record (&tw, 2, T0 + t, 1, w);
      twins_record (&tw, 1, T0 + t, 1, sum);
      /* What the VM costs beyond its interfaces: */
      if (t == 3600 + 17 * 60)
        shared = vm_extra (&tw);
      if (t == 3600 + 50 * 60)
        apart = vm_extra (&tw);
      if (t == 3 * 3600)
        again = vm_extra (&tw);
      if (t % 311 == 0 || t == 3600 + 17 * 60 + 24 || t == 2 * 3600 + 5 * 60 + 42)
        twins_check (&tw, T0 + t);
    }
  /* Apart, the VM has parts of its own (about 5 KiB); together again
   * after a coarse block of the same values, it has none, and its extra
   * cost no longer grows (its blocks from the time apart stay its own). */
  g_assert_cmpint (apart, >, shared + 4 * 1024);
  g_assert_cmpint (again + 4 * 1024, <, apart);
  g_assert_cmpint (vm_extra (&tw), <=, again + 64);
  twins_check (&tw, T0 + t);
  twins_clear (&tw);
}

/* The order of the calls does not matter, nor a query between them, nor a
 * call one of them misses (a VM whose interface is read late, a refresh in
 * which the VM is not listed, an interface that goes away). */
static void
test_shared_parts_any_order (void)
{
  static const gchar *const names[N_TWINS] = { "iface:tap0", "vm:a", "iface:tap1", "vm:b" };
  Twins tw;
  GRand *rand = g_rand_new_with_seed (4242);

  twins_init (&tw, names);
  for (gint64 t = 1; t <= 3 * 3600; t++)
    {
      gdouble v[VNM_N_METRICS], u[VNM_N_METRICS];
      guint order[N_TWINS] = { 0, 1, 2, 3 };
      gint64 phase = t / 600;

      values_of (level_at (t) * 100, v);
      values_of (g_rand_int_range (rand, 0, 3), u);
      /* Shuffle who records first. */
      for (guint i = N_TWINS - 1; i > 0; i--)
        {
          guint j = g_rand_int_range (rand, 0, i + 1), x = order[i];
          order[i] = order[j];
          order[j] = x;
        }
      for (guint k = 0; k < N_TWINS; k++)
        {
          guint i = order[k];
          /* tap0 and vm:a record v; tap1 and vm:b idle chatter u (the
           * same for both); now and then one misses a call, records a
           * sample of another span, or a query comes between the calls. */
          const gdouble *vals = i < 2 ? v : u;
          gint r = g_rand_int_range (rand, 0, 1000);

          if (phase == 7 && i == 0)
            continue;                      /* tap0 gone for ten minutes */
          if (r < 3)
            continue;                      /* a missed call */
          if (r < 6)
            {
              twins_record (&tw, i, T0 + t - 0.5, 0.5, vals);
              twins_record (&tw, i, T0 + t, 0.5, vals);
              continue;
            }
          if (r < 9)
            twins_check (&tw, T0 + t);
          twins_record (&tw, i, T0 + t, 1, vals);
        }
      if (t % 3600 == 0)
        twins_expire (&tw, T0 + t);
      if (t % 97 == 0)
        twins_check (&tw, T0 + t);
    }
  twins_check (&tw, T0 + 3 * 3600);
  /* Quiet: everything expires, the shared parts with the series. */
  twins_expire (&tw, T0 + 3 * 3600 + 1000);
  twins_check (&tw, T0 + 3 * 3600 + 1000);
  twins_expire (&tw, T0 + 3 * 3600 + 49 * 3600);
  g_assert_cmpuint (vnm_history_n_series (tw.h), ==, 0);
  g_assert_cmpuint (vnm_history_memory (tw.h), ==, 0);
  twins_clear (&tw);
  g_rand_free (rand);
}

/* A VM whose only interface is first read between two refreshes (the
 * interface's sample spans less than the VM's) does not share that call;
 * and one that gains a second interface in the middle of a block, whose
 * first sample is the sum of both. */
static void
test_vm_second_interface_mid_block (void)
{
  static const gchar *const names[N_TWINS] = { "iface:tap0", "vm:a", "iface:tap1", "vm:b" };
  Twins tw;
  gint64 t;

  twins_init (&tw, names);
  for (t = 1; t <= 2 * 3600; t++)
    {
      gdouble v[VNM_N_METRICS], w[VNM_N_METRICS], sum[VNM_N_METRICS];

      values_of (level_at (t), v);
      values_of (level_at (t + 7) * 2, w);
      for (guint m = 0; m < VNM_N_METRICS; m++)
        sum[m] = v[m] + (t >= 2777 ? w[m] : 0);
      /* tap0 first read 0.4 s before the refresh at 10 s. */
      twins_record (&tw, 0, T0 + t, t == 10 ? 0.4 : 1, v);
      if (t >= 2777)
        twins_record (&tw, 2, T0 + t, t == 2777 ? 0.3 : 1, w);
      twins_record (&tw, 1, T0 + t, 1, sum);
      /* vm:b: a VM with no interface, all zero. */
      {
        gdouble zero[VNM_N_METRICS] = { 0 };
        twins_record (&tw, 3, T0 + t, 1, zero);
      }
      if (t % 450 == 0 || (t >= 2770 && t <= 2790))
        twins_check (&tw, T0 + t);
    }
  twins_check (&tw, T0 + t);
  twins_clear (&tw);
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
  g_test_add_func ("/history/codec/adversarial", test_codec_adversarial);
  g_test_add_func ("/history/codec/precision", test_codec_precision);
  g_test_add_func ("/history/codec/sharing", test_codec_sharing);
  g_test_add_func ("/history/wraparound-48h", test_wraparound);
  g_test_add_func ("/history/bounded-worst-case", test_bounded_worst_case);
  g_test_add_func ("/history/vm-shares-interface", test_vm_shares_interface);
  g_test_add_func ("/history/vm-follows-interface", test_vm_follows_interface);
  g_test_add_func ("/history/vm-diverges-mid-block", test_vm_diverges_mid_block);
  g_test_add_func ("/history/vm-second-interface-mid-block", test_vm_second_interface_mid_block);
  g_test_add_func ("/history/shared-parts-any-order", test_shared_parts_any_order);
  return g_test_run ();
}
