/* latency-hist.c: percentiles from log-linear histograms. */
#include "config.h"

#include <string.h>

#include "latency-hist.h"

void
vnm_lat_hist_init (VnmLatHist *h)
{
  memset (h, 0, sizeof *h);
  h->min_ns = G_MAXUINT64;
}

void
vnm_lat_hist_add (VnmLatHist *h, guint64 ns)
{
  h->buckets[vnm_lat_bucket (ns)]++;
  h->count++;
  h->sum_ns += ns;
  h->min_ns = MIN (h->min_ns, ns);
  h->max_ns = MAX (h->max_ns, ns);
}

void
vnm_lat_hist_merge (VnmLatHist *into, const VnmLatHist *h)
{
  if (!h->count)
    return;
  for (guint i = 0; i < VNM_LAT_BUCKETS; i++)
    into->buckets[i] += h->buckets[i];
  into->count += h->count;
  into->sum_ns += h->sum_ns;
  into->min_ns = MIN (into->min_ns, h->min_ns);
  into->max_ns = MAX (into->max_ns, h->max_ns);
}

gdouble
vnm_lat_hist_mean (const VnmLatHist *h)
{
  return h->count ? (gdouble) h->sum_ns / h->count : 0;
}

gdouble
vnm_lat_hist_quantile (const VnmLatHist *h, gdouble q)
{
  guint64 total = 0, seen = 0;
  gdouble rank, v;

  for (guint i = 0; i < VNM_LAT_BUCKETS; i++)
    total += h->buckets[i];
  if (!total)
    return 0;
  /* The rank of the wanted sample, 1-based, as "nearest rank" would take. */
  rank = CLAMP (q, 0.0, 1.0) * total;
  if (rank < 1)
    rank = 1;
  for (guint i = 0; i < VNM_LAT_BUCKETS; i++)
    {
      guint64 n = h->buckets[i];
      if (!n)
        continue;
      if (seen + n >= rank)
        {
          /* Samples spread evenly over the bucket: the k-th of n sits at
           * the middle of its share. */
          gdouble frac = (rank - seen - 0.5) / n;
          v = vnm_lat_bucket_low (i) + frac * vnm_lat_bucket_width (i);
          if (h->count && h->max_ns)
            v = CLAMP (v, (gdouble) h->min_ns, (gdouble) h->max_ns);
          return v;
        }
      seen += n;
    }
  return h->max_ns;
}

GArray *
vnm_lat_hist_ranges (const VnmLatHist *h)
{
  GArray *out = g_array_new (FALSE, FALSE, sizeof (VnmLatRange));

  for (guint i = 0; i < VNM_LAT_BUCKETS; i++)
    if (h->buckets[i])
      {
        VnmLatRange r = { vnm_lat_bucket_low (i),
                          vnm_lat_bucket_low (i) + vnm_lat_bucket_width (i), h->buckets[i] };
        g_array_append_val (out, r);
      }
  return out;
}

guint64
vnm_lat_prom_bound_ns (guint i)
{
  return G_GUINT64_CONSTANT (1) << (VNM_LAT_PROM_MIN_LOG2 + i);
}

const gchar *const *
vnm_lat_prom_le (void)
{
  /* The shortest text that reads back as the bound (2^i ns / 1e9), as
   * Prometheus' own clients write le. */
  static const gchar *const le[VNM_LAT_PROM_BOUNDS] = {
    "1.024e-06", "2.048e-06", "4.096e-06", "8.192e-06", "1.6384e-05", "3.2768e-05", "6.5536e-05",
    "0.000131072", "0.000262144", "0.000524288", "0.001048576", "0.002097152", "0.004194304",
    "0.008388608", "0.016777216", "0.033554432", "0.067108864", "0.134217728", "0.268435456",
    "0.536870912", "1.073741824", "2.147483648", "4.294967296", "8.589934592", "17.179869184",
    "34.359738368"
  };

  return le;
}

guint64
vnm_lat_hist_cumulative (const VnmLatHist *h, guint64 *out)
{
  guint64 below = 0;
  guint b = 0;

  for (guint i = 0; i < VNM_LAT_PROM_BOUNDS; i++)
    {
      /* The first bucket of the bound's power of two: its low is the bound. */
      guint edge = vnm_lat_bucket (vnm_lat_prom_bound_ns (i));

      for (; b < edge; b++)
        below += h->buckets[b];
      out[i] = below;
    }
  for (; b < VNM_LAT_BUCKETS; b++)
    below += h->buckets[b];
  return below;
}
