/* Unit tests of the latency histograms: the bucket arithmetic shared with
 * the BPF program, and percentiles against exact ones from sorted samples. */
#include "config.h"

#include <math.h>

#include "latency-hist.h"

static void
test_buckets_cover_values (void)
{
  guint prev = 0;

  /* Every value from 0 to 2^20 exactly, then a sweep up to 2^40. */
  for (guint64 v = 0; v < (1u << 20); v++)
    {
      guint b = vnm_lat_bucket (v);
      g_assert_cmpuint (b, <, VNM_LAT_BUCKETS);
      g_assert_cmpuint (b, >=, prev);
      g_assert_cmpuint (vnm_lat_bucket_low (b), <=, v);
      g_assert_cmpuint (v, <, vnm_lat_bucket_low (b) + vnm_lat_bucket_width (b));
      prev = b;
    }
  for (guint64 v = 1u << 20; v < (1ull << 36); v = v + v / 7 + 1)
    {
      guint b = vnm_lat_bucket (v);
      g_assert_cmpuint (vnm_lat_bucket_low (b), <=, v);
      g_assert_cmpuint (v, <, vnm_lat_bucket_low (b) + vnm_lat_bucket_width (b));
      /* Log-linear: no bucket is wider than 1/32 of where it starts. */
      g_assert_cmpfloat ((gdouble) vnm_lat_bucket_width (b) / vnm_lat_bucket_low (b), <=, 1.0 / 32);
    }
  g_assert_cmpuint (vnm_lat_bucket (G_MAXUINT64), ==, VNM_LAT_BUCKETS - 1);
  g_assert_cmpuint (vnm_lat_bucket (1ull << 36), ==, VNM_LAT_BUCKETS - 1);
}

static gint
cmp_u64 (gconstpointer a, gconstpointer b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

static void
test_quantiles_match_exact (void)
{
  const gdouble qs[] = { 0.5, 0.9, 0.99, 0.999 };
  g_autofree VnmLatHist *h = g_new (VnmLatHist, 1);
  g_autoptr(GRand) rand = g_rand_new_with_seed (11);
  const guint n = 200000;
  g_autofree guint64 *v = g_new (guint64, n);

  vnm_lat_hist_init (h);
  for (guint i = 0; i < n; i++)
    {
      /* Log-normal around 50 us: a long tail, as latencies have. */
      gdouble u1 = g_rand_double (rand), u2 = g_rand_double (rand);
      gdouble z = sqrt (-2 * log (1 - u1)) * cos (2 * G_PI * u2);
      v[i] = (guint64) (50000 * exp (1.2 * z));
      vnm_lat_hist_add (h, v[i]);
    }
  qsort (v, n, sizeof *v, cmp_u64);
  for (guint i = 0; i < G_N_ELEMENTS (qs); i++)
    {
      guint64 exact = v[(guint) ceil (qs[i] * n) - 1];
      gdouble got = vnm_lat_hist_quantile (h, qs[i]);
      g_assert_cmpfloat (fabs (got - exact) / exact, <, 0.032);
    }
  g_assert_cmpuint (h->min_ns, ==, v[0]);
  g_assert_cmpuint (h->max_ns, ==, v[n - 1]);
  g_assert_cmpfloat (vnm_lat_hist_quantile (h, 1.0), <=, v[n - 1]);
}

static void
test_merge_and_empty (void)
{
  g_autofree VnmLatHist *a = g_new (VnmLatHist, 1);
  g_autofree VnmLatHist *b = g_new (VnmLatHist, 1);
  g_autofree VnmLatHist *all = g_new (VnmLatHist, 1);
  g_autoptr(GArray) ranges = NULL;

  vnm_lat_hist_init (a);
  vnm_lat_hist_init (b);
  vnm_lat_hist_init (all);
  g_assert_cmpfloat (vnm_lat_hist_quantile (a, 0.5), ==, 0);
  g_assert_cmpfloat (vnm_lat_hist_mean (a), ==, 0);
  for (guint64 x = 1000; x < 5000; x += 7)
    {
      vnm_lat_hist_add (x % 2 ? a : b, x);
      vnm_lat_hist_add (all, x);
    }
  vnm_lat_hist_merge (a, b);
  g_assert_cmpmem (a, sizeof *a, all, sizeof *all);
  ranges = vnm_lat_hist_ranges (all);
  g_assert_cmpuint (ranges->len, >, 0);
  for (guint i = 0; i < ranges->len; i++)
    {
      const VnmLatRange *r = &g_array_index (ranges, VnmLatRange, i);
      g_assert_cmpuint (r->low_ns, <, r->high_ns);
      g_assert_cmpuint (r->count, >, 0);
    }
}

/* The bounds /metrics exports are edges of the log-linear buckets: the
 * count at each is exactly the number of values below it; their le text
 * reads back as the bound in seconds. */
static void
test_prom_cumulative (void)
{
  g_autofree VnmLatHist *h = g_new (VnmLatHist, 1);
  const gchar *const *le = vnm_lat_prom_le ();
  guint64 cum[VNM_LAT_PROM_BOUNDS];
  GRand *rand = g_rand_new_with_seed (23);
  g_autoptr(GArray) values = g_array_new (FALSE, FALSE, sizeof (guint64));

  for (guint i = 0; i < VNM_LAT_PROM_BOUNDS; i++)
    {
      guint64 ns = vnm_lat_prom_bound_ns (i);
      g_assert_cmpuint (vnm_lat_bucket_low (vnm_lat_bucket (ns)), ==, ns);
      g_assert_cmpfloat (g_ascii_strtod (le[i], NULL), ==, ns / 1e9);
      if (i)
        g_assert_cmpuint (ns, ==, 2 * vnm_lat_prom_bound_ns (i - 1));
    }
  g_assert_cmpuint (vnm_lat_prom_bound_ns (0), ==, 1024);
  g_assert_cmpuint (vnm_lat_prom_bound_ns (VNM_LAT_PROM_BOUNDS - 1), ==, G_GUINT64_CONSTANT (1) << 35);

  vnm_lat_hist_init (h);
  g_assert_cmpuint (vnm_lat_hist_cumulative (h, cum), ==, 0);
  g_assert_cmpuint (cum[VNM_LAT_PROM_BOUNDS - 1], ==, 0);
  for (guint i = 0; i < 20000; i++)
    {
      /* Log-uniform from 1 ns to 2^38 ns, and every bound exactly and just below. */
      guint64 v = (guint64) exp2 (g_rand_double_range (rand, 0, 38));
      g_array_append_val (values, v);
    }
  for (guint i = 0; i < VNM_LAT_PROM_BOUNDS; i++)
    {
      guint64 b = vnm_lat_prom_bound_ns (i), below = b - 1;
      g_array_append_val (values, b);
      g_array_append_val (values, below);
    }
  for (guint i = 0; i < values->len; i++)
    vnm_lat_hist_add (h, g_array_index (values, guint64, i));
  g_assert_cmpuint (vnm_lat_hist_cumulative (h, cum), ==, values->len);
  for (guint i = 0; i < VNM_LAT_PROM_BOUNDS; i++)
    {
      guint64 want = 0;
      for (guint j = 0; j < values->len; j++)
        want += g_array_index (values, guint64, j) < vnm_lat_prom_bound_ns (i);
      g_assert_cmpuint (cum[i], ==, want);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/latency-hist/buckets-cover-values", test_buckets_cover_values);
  g_test_add_func ("/latency-hist/quantiles-match-exact", test_quantiles_match_exact);
  g_test_add_func ("/latency-hist/merge-and-empty", test_merge_and_empty);
  g_test_add_func ("/latency-hist/prom-cumulative", test_prom_cumulative);
  return g_test_run ();
}
