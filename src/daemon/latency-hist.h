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

/* The bounds of the histograms /metrics exports: every power of two of
 * nanoseconds from 2^10 (1.024 us) to 2^35 (34.4 s), each an edge of the
 * log-linear buckets, so that the count at or below a bound is exact; the
 * few values from 2^35 ns on are only in +Inf (the log-linear buckets' last
 * one does not end at a power of two). A Prometheus bucket is as wide as
 * its lower bound: histogram_quantile() lands in the same bucket as
 * vnm_lat_hist_quantile(), so the two differ by less than its width. */
#define VNM_LAT_PROM_MIN_LOG2 10
#define VNM_LAT_PROM_MAX_LOG2 35
#define VNM_LAT_PROM_BOUNDS (VNM_LAT_PROM_MAX_LOG2 - VNM_LAT_PROM_MIN_LOG2 + 1)

/* Bound @i in nanoseconds, and as Prometheus' le text in seconds. */
guint64 vnm_lat_prom_bound_ns (guint i);
const gchar *const *vnm_lat_prom_le (void);

/* The packets at or below each bound (@out: VNM_LAT_PROM_BOUNDS counts),
 * and the total: what a Prometheus histogram's buckets say. Values are
 * whole nanoseconds, so "below the bound" is "at or below" to the
 * nanosecond. */
guint64 vnm_lat_hist_cumulative (const VnmLatHist *h, guint64 *out);

/* The non-empty fine buckets, in order (GArray of VnmLatRange). */
GArray *vnm_lat_hist_ranges (const VnmLatHist *h);
