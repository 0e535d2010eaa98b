/* history-recorder.c */
#include "config.h"

#include "history-recorder.h"

static void
rates_to_values (const VnmRates *r, gdouble v[VNM_N_METRICS])
{
  v[VNM_METRIC_RX_BYTES_PS] = r->rx_bytes_ps;
  v[VNM_METRIC_TX_BYTES_PS] = r->tx_bytes_ps;
  v[VNM_METRIC_RX_PPS] = r->rx_pps;
  v[VNM_METRIC_TX_PPS] = r->tx_pps;
  v[VNM_METRIC_RX_ERRORS_PS] = r->rx_errors_ps;
  v[VNM_METRIC_TX_ERRORS_PS] = r->tx_errors_ps;
  v[VNM_METRIC_RX_DROPS_PS] = r->rx_drops_ps;
  v[VNM_METRIC_TX_DROPS_PS] = r->tx_drops_ps;
}

static gchar *
iface_series (const gchar *ifname)
{
  return g_strconcat ("iface:", ifname, NULL);
}

static gchar *
vm_series (const gchar *uuid)
{
  return g_strconcat ("vm:", uuid, NULL);
}

void
vnm_history_recorder_feed (VnmHistory *history, VnmLinkTable *links, VnmRegistry *registry,
                           gdouble now_s, gdouble dt_s)
{
  g_autoptr(GHashTable) vm_sums = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr(GPtrArray) domains = vnm_registry_list (registry);

  /* Every running domain has a point, even with no interface up. */
  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      g_hash_table_insert (vm_sums, (gpointer) d->uuid, g_new0 (gdouble, VNM_N_METRICS));
    }
  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      g_autofree gchar *name = iface_series (link->name);
      gdouble v[VNM_N_METRICS];
      VnmLinkOwner owner;
      VnmLinkView view;

      vnm_link_table_owner (links, link, &owner);
      vnm_link_table_view (links, link, owner.guest_view, &view);
      rates_to_values (&view.rates, v);
      /* The span the sampler's rates cover: a link first read between
       * refreshes has its own. */
      vnm_history_record (history, name, now_s, view.span_us / 1e6, v);
      if (owner.domain)
        {
          gdouble *sum = g_hash_table_lookup (vm_sums, owner.domain->uuid);
          for (guint m = 0; sum && m < VNM_N_METRICS; m++)
            sum[m] += v[m];
        }
    }
  {
    GHashTableIter it;
    const gchar *uuid;
    gdouble *sum;

    g_hash_table_iter_init (&it, vm_sums);
    while (g_hash_table_iter_next (&it, (gpointer *) &uuid, (gpointer *) &sum))
      {
        g_autofree gchar *name = vm_series (uuid);
        vnm_history_record (history, name, now_s, dt_s, sum);
      }
  }
  vnm_history_expire (history, (gint64) now_s);
}

gchar *
vnm_history_recorder_series (VnmHistory *history, VnmRegistry *registry, const gchar *target)
{
  const VnmDomain *d = vnm_registry_lookup (registry, target);
  g_autofree gchar *name = NULL;

  if (d)
    return vm_series (d->uuid);
  name = iface_series (target);
  return vnm_history_has_series (history, name) ? g_steal_pointer (&name) : NULL;
}
