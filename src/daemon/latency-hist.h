/* latency-hist.h: the arithmetic of the latency probe's log-linear
 * histograms (bpf/vnm-latency.h): merging, percentiles, and grouping the
 * fine buckets for display. Pure: no kernel, no libbpf. */
#pragma once

#include <glib.h>

#include "vnm-latency.h"

typedef struct vnm_lat_hist VnmLatHist;

/* An empty histogram (min at its largest value, so that any sample is
 * smaller). */
void vnm_lat_hist_init (VnmLatHist *h);
void vnm_lat_hist_add (VnmLatHist *h, guint64 ns);
void vnm_lat_hist_merge (VnmLatHist *into, const VnmLatHist *h);

/* The @q quantile (0 < @q <= 1) in nanoseconds: the bucket that holds it,
 * interpolated linearly inside, clamped to [min, max]. 0 when empty. */
gdouble vnm_lat_hist_quantile (const VnmLatHist *h, gdouble q);
gdouble vnm_lat_hist_mean (const VnmLatHist *h);

typedef struct {
  guint64 low_ns, high_ns;   /* [low, high) */
  guint64 count;
} VnmLatRange;

/* The non-empty fine buckets, in order (GArray of VnmLatRange). */
GArray *vnm_lat_hist_ranges (const VnmLatHist *h);
