/* sampler.h: per-interval rates from interface counters, immune to counter
 * resets, 32-bit wraps and devices recreated under the same name. */
#pragma once

#include <glib.h>

#include "link.h"

/* Rates per second, host's view. Bytes per second, not bits. */
typedef struct {
  gdouble rx_bytes_ps, tx_bytes_ps;
  gdouble rx_pps, tx_pps;
  gdouble rx_errors_ps, tx_errors_ps;
  gdouble rx_drops_ps, tx_drops_ps;
} VnmRates;

/* The increase of a counter from @prev to @cur. A counter that went down
 * wrapped if it looks 32-bit and the wrapped increase is plausible;
 * otherwise it was reset (device recreated, driver reset) and the increase
 * is 0, with @reset set, so that a rate never spikes. */
guint64 vnm_counter_delta (guint64 prev, guint64 cur, gboolean *reset);

/* Rates between two readings @dt_us microseconds apart; all zero when
 * dt_us <= 0. */
void vnm_rates_compute (const VnmCounters *prev, const VnmCounters *cur,
                        gint64 dt_us, VnmRates *out);

/* The same rates seen from inside a VM: what the host receives on a VM's
 * tap, the guest sent. */
void vnm_rates_guest_view (const VnmRates *host, VnmRates *guest);

typedef struct _VnmSampler VnmSampler;

VnmSampler *vnm_sampler_new (void);
void vnm_sampler_free (VnmSampler *sampler);

/* Records @links read at @now_us (monotonic): each link's rates become
 * those since its previous reading; links seen for the first time get
 * zero rates; links no longer present are forgotten. Keyed by ifindex, so
 * a device recreated under the same name starts from zero. */
void vnm_sampler_update (VnmSampler *sampler, const GArray *links, gint64 now_us);

/* Takes a baseline for one link that appeared between refreshes, so that
 * the next refresh already gives it a rate. */
void vnm_sampler_observe (VnmSampler *sampler, const VnmLink *link, gint64 now_us);
void vnm_sampler_forget (VnmSampler *sampler, gint ifindex);

/* The rates of @ifindex from the last update; zero rates when unknown. */
void vnm_sampler_get (VnmSampler *sampler, gint ifindex, VnmRates *out);
/* The microseconds the rates of @ifindex cover (0 before a second reading). */
gint64 vnm_sampler_get_span (VnmSampler *sampler, gint ifindex);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmSampler, vnm_sampler_free)
