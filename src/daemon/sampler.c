/* sampler.c: counters -> rates. */
#include "config.h"

#include <string.h>

#include "sampler.h"

#define WRAP32 (G_GUINT64_CONSTANT (1) << 32)

guint64
vnm_counter_delta (guint64 prev, guint64 cur, gboolean *reset)
{
  if (reset)
    *reset = FALSE;
  if (cur >= prev)
    return cur - prev;
  /* A 32-bit counter (some drivers, IFLA_STATS) that wrapped: the wrapped
   * increase must be less than half the range to be believable. */
  if (prev < WRAP32 && cur < WRAP32)
    {
      guint64 d = cur + WRAP32 - prev;
      if (d < WRAP32 / 2)
        return d;
    }
  if (reset)
    *reset = TRUE;
  return 0;
}

void
vnm_rates_compute (const VnmCounters *prev, const VnmCounters *cur, gint64 dt_us,
                   VnmRates *out)
{
  gdouble dt;

  memset (out, 0, sizeof *out);
  if (dt_us <= 0)
    return;
  dt = (gdouble) dt_us / G_USEC_PER_SEC;
#define RATE(field) ((gdouble) vnm_counter_delta (prev->field, cur->field, NULL) / dt)
  out->rx_bytes_ps = RATE (rx_bytes);
  out->tx_bytes_ps = RATE (tx_bytes);
  out->rx_pps = RATE (rx_packets);
  out->tx_pps = RATE (tx_packets);
  out->rx_errors_ps = RATE (rx_errors);
  out->tx_errors_ps = RATE (tx_errors);
  out->rx_drops_ps = RATE (rx_dropped);
  out->tx_drops_ps = RATE (tx_dropped);
#undef RATE
}

typedef struct {
  VnmCounters counters;
  gint64 when_us;
  gint64 dt_us;          /* the span the rates cover */
  VnmRates rates;
  guint generation;
} Entry;

struct _VnmSampler {
  GHashTable *entries;   /* ifindex -> Entry* */
  guint generation;
};

VnmSampler *
vnm_sampler_new (void)
{
  VnmSampler *sampler = g_new0 (VnmSampler, 1);

  sampler->entries = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  return sampler;
}

void
vnm_sampler_free (VnmSampler *sampler)
{
  if (!sampler)
    return;
  g_hash_table_unref (sampler->entries);
  g_free (sampler);
}

void
vnm_sampler_update (VnmSampler *sampler, const GArray *links, gint64 now_us)
{
  GHashTableIter iter;
  gpointer value;

  sampler->generation++;
  for (guint i = 0; i < links->len; i++)
    {
      const VnmLink *link = &g_array_index (links, VnmLink, i);
      Entry *e = g_hash_table_lookup (sampler->entries, GINT_TO_POINTER (link->ifindex));

      if (!e)
        {
          e = g_new0 (Entry, 1);
          g_hash_table_insert (sampler->entries, GINT_TO_POINTER (link->ifindex), e);
        }
      else
        {
          e->dt_us = now_us - e->when_us;
          vnm_rates_compute (&e->counters, &link->counters, e->dt_us, &e->rates);
        }
      e->counters = link->counters;
      e->when_us = now_us;
      e->generation = sampler->generation;
    }

  g_hash_table_iter_init (&iter, sampler->entries);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    if (((Entry *) value)->generation != sampler->generation)
      g_hash_table_iter_remove (&iter);
}

void
vnm_sampler_observe (VnmSampler *sampler, const VnmLink *link, gint64 now_us)
{
  Entry *e;

  if (g_hash_table_contains (sampler->entries, GINT_TO_POINTER (link->ifindex)))
    return;
  e = g_new0 (Entry, 1);
  e->counters = link->counters;
  e->when_us = now_us;
  e->generation = sampler->generation;
  g_hash_table_insert (sampler->entries, GINT_TO_POINTER (link->ifindex), e);
}

void
vnm_sampler_forget (VnmSampler *sampler, gint ifindex)
{
  g_hash_table_remove (sampler->entries, GINT_TO_POINTER (ifindex));
}

void
vnm_sampler_get (VnmSampler *sampler, gint ifindex, VnmRates *out)
{
  Entry *e = g_hash_table_lookup (sampler->entries, GINT_TO_POINTER (ifindex));

  if (e)
    *out = e->rates;
  else
    memset (out, 0, sizeof *out);
}

void
vnm_rates_guest_view (const VnmRates *host, VnmRates *guest)
{
  *guest = (VnmRates) {
    .rx_bytes_ps = host->tx_bytes_ps, .tx_bytes_ps = host->rx_bytes_ps,
    .rx_pps = host->tx_pps, .tx_pps = host->rx_pps,
    .rx_errors_ps = host->tx_errors_ps, .tx_errors_ps = host->rx_errors_ps,
    .rx_drops_ps = host->tx_drops_ps, .tx_drops_ps = host->rx_drops_ps,
  };
}

gint64
vnm_sampler_get_span (VnmSampler *sampler, gint ifindex)
{
  Entry *e = g_hash_table_lookup (sampler->entries, GINT_TO_POINTER (ifindex));

  return e ? e->dt_us : 0;
}
