/* latency-sampler.h: when the latency probe's path programs are attached:
 * all the time (full tracing, for diagnosis), for a short window every
 * period (sampled: histograms for every VM at a small fraction of the
 * cost, since detached programs cost nothing), or never; and for how long
 * they have been attached in all, so that a histogram can say how much
 * time it saw. The switch itself is the caller's (a callback); timers run
 * on the thread-default main context of the thread that made the sampler. */
#pragma once

#include <glib.h>

typedef enum {
  VNM_LATENCY_MODE_OFF,
  VNM_LATENCY_MODE_SAMPLED,
  VNM_LATENCY_MODE_FULL,
} VnmLatencyMode;

/* "off", "sampled" or "full": the names in D-Bus records and --json. */
const gchar *vnm_latency_mode_name (VnmLatencyMode mode);

/* Attaches (@on) or detaches the programs. */
typedef gboolean (*VnmLatencySwitchFunc) (gboolean on, gpointer user_data, GError **error);

typedef struct _VnmLatencySampler VnmLatencySampler;

/* Sampled mode attaches for @window_ms at the start of every @period_ms
 * (window_ms < period_ms). */
VnmLatencySampler *vnm_latency_sampler_new (guint window_ms, guint period_ms,
                                            VnmLatencySwitchFunc func, gpointer user_data);
void vnm_latency_sampler_free (VnmLatencySampler *s);

/* Switches mode. Full attaches now (and tries again when called again
 * after a failure): FALSE with the switch's error when that failed.
 * Sampled starts a window now and never fails: a refused window is
 * counted, logged once, and tried again each period. Off detaches. */
gboolean vnm_latency_sampler_set_mode (VnmLatencySampler *s, VnmLatencyMode mode, GError **error);
VnmLatencyMode vnm_latency_sampler_mode (VnmLatencySampler *s);
/* Whether the programs are attached now. */
gboolean vnm_latency_sampler_attached (VnmLatencySampler *s);
guint vnm_latency_sampler_window_ms (VnmLatencySampler *s);
guint vnm_latency_sampler_period_ms (VnmLatencySampler *s);
/* Microseconds the programs have been attached in all, the current
 * attachment included: the difference of two readings is the time traced
 * between them. */
gint64 vnm_latency_sampler_attached_us (VnmLatencySampler *s);
/* Windows started in sampled mode, and those the kernel refused. */
guint64 vnm_latency_sampler_windows (VnmLatencySampler *s);
guint64 vnm_latency_sampler_failed_windows (VnmLatencySampler *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLatencySampler, vnm_latency_sampler_free)
