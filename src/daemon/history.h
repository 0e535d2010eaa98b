/* history.h: rate history in bounded memory. Each series (one interface,
 * one VM) keeps 1-second samples for the last 15 minutes and 1-minute
 * min/avg/max for the last 48 hours, in two rings. Pure: no outside
 * library, time is given by the caller (wall-clock seconds).
 *
 * The rings hold compressed blocks (history-codec.h): a minute of seconds,
 * or 30 minutes of minutes, each metric quantised to 1/1000 of its largest
 * value in the block. So a value a query gives is within 1/2000 of the
 * largest value of that metric in its block (zero is zero, the largest is
 * its float, min <= avg <= max); the minute being filled, the seconds of
 * the current minute and the minutes of the current 30 are exact (floats)
 * until their block is complete. Series that record the same calls (a VM
 * with a single interface records the values of that interface) hold
 * their unfinished parts once until a call differs, and blocks of the
 * same content sealed within two minutes of each other are held once: such
 * a VM costs its name and two rings of pointers (under 1 KiB). Every
 * answer is each series' own, whatever it shares. */
#pragma once

#include <glib.h>

/* The rates a series records, in the view ifstat shows (the guest's view
 * for VM interfaces). */
typedef enum {
  VNM_METRIC_RX_BYTES_PS,
  VNM_METRIC_TX_BYTES_PS,
  VNM_METRIC_RX_PPS,
  VNM_METRIC_TX_PPS,
  VNM_METRIC_RX_ERRORS_PS,
  VNM_METRIC_TX_ERRORS_PS,
  VNM_METRIC_RX_DROPS_PS,
  VNM_METRIC_TX_DROPS_PS,
  VNM_N_METRICS
} VnmMetric;

#define VNM_HISTORY_FINE_SECONDS   (15 * 60)   /* 1-second samples */
#define VNM_HISTORY_COARSE_MINUTES (48 * 60)   /* 1-minute min/avg/max */

/* The metric names clients ask for: rx_mbps, tx_mbps (megabits per
 * second), rx_pps, tx_pps, rx_errors_ps, tx_errors_ps, rx_drops_ps,
 * tx_drops_ps. @scale turns the stored value into that unit. */
gboolean vnm_metric_from_name (const gchar *name, VnmMetric *metric, gdouble *scale);
/* A NULL-terminated list of the names, for messages and introspection. */
const gchar *const *vnm_metric_names (void);

typedef struct {
  gint64 time_s;   /* start of the second or minute, Unix time */
  gdouble min, avg, max;
} VnmHistoryPoint;

typedef struct _VnmHistory VnmHistory;

VnmHistory *vnm_history_new (void);
void vnm_history_free (VnmHistory *history);

/* Records @values (one per VnmMetric), the mean rates over the @dt_s
 * seconds before @now_s, for @series: each second gets its share, so a
 * second's value is the mean rate over the part of it that samples covered
 * and the values of fully covered seconds add up to the counters' increase
 * exactly, whatever the sampling interval. At most 15 minutes back; time
 * that was already covered (a clock that went back) is ignored. */
void vnm_history_record (VnmHistory *history, const gchar *series, gdouble now_s, gdouble dt_s,
                         const gdouble values[VNM_N_METRICS]);

/* Points of @metric for @series from @now_s - @since_s to @now_s, oldest
 * first: 1-second points when @since_s is at most 15 minutes, 1-minute
 * min/avg/max points otherwise (@resolution_s says which). Values are in
 * stored units (bytes, packets per second). NULL when the series is
 * unknown. */
GArray *vnm_history_query (VnmHistory *history, const gchar *series, VnmMetric metric,
                           gint64 since_s, gint64 now_s, guint *resolution_s);

/* Drops series with nothing newer than 48 hours before @now_s. */
void vnm_history_expire (VnmHistory *history, gint64 now_s);

gboolean vnm_history_has_series (VnmHistory *history, const gchar *series);
guint vnm_history_n_series (VnmHistory *history);
/* Bytes held by the rings (what grows with uptime, up to its bound). */
gsize vnm_history_memory (VnmHistory *history);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmHistory, vnm_history_free)
