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
