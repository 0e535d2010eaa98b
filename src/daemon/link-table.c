/* link-table.c: the host's interfaces now, their owners and views. */
#include "config.h"

#include <string.h>

#include "link-table.h"
#include "qemu-scan.h"
#include "vnm-error.h"
#include "vnm-i18n.h"
#include "vnm-names.h"

typedef struct {
  guint index;              /* in the new table */
  VnmLinkChange change;
  gboolean recreated;
} Pending;

struct _VnmLinkTable {
  GArray *links;            /* of VnmLink, the kernel's order */
  GHashTable *by_name;      /* name -> index + 1 */
  GHashTable *by_ifindex;   /* ifindex -> index + 1 */
  GArray *scratch;          /* where dumps go until they are complete */
  /* Reused by every refresh, so that a refresh allocates nothing: */
  GArray *seen;             /* of guint8: live row i is in the new dump */
  GArray *pending;          /* of Pending: what to tell once the dump is live */
  VnmSampler *sampler;
  VnmRegistry *registry;    /* borrowed */
  const VnmDomainSettings *defaults; /* borrowed */
  VnmLinkTableFunc func;
  gpointer user_data;
};

VnmLinkTable *
vnm_link_table_new (VnmRegistry *registry, const VnmDomainSettings *defaults)
{
  VnmLinkTable *t = g_new0 (VnmLinkTable, 1);

  t->links = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  t->scratch = g_array_new (FALSE, TRUE, sizeof (VnmLink));
  t->seen = g_array_new (FALSE, TRUE, sizeof (guint8));
  t->pending = g_array_new (FALSE, FALSE, sizeof (Pending));
  t->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  t->by_ifindex = g_hash_table_new (NULL, NULL);
  t->sampler = vnm_sampler_new ();
  t->registry = registry;
  t->defaults = defaults;
  return t;
}

void
vnm_link_table_free (VnmLinkTable *t)
{
  if (!t)
    return;
  g_hash_table_unref (t->by_name);
  g_hash_table_unref (t->by_ifindex);
  g_array_unref (t->links);
  g_array_unref (t->scratch);
  g_array_unref (t->seen);
  g_array_unref (t->pending);
  vnm_sampler_free (t->sampler);
  g_free (t);
}

void
vnm_link_table_set_observer (VnmLinkTable *t, VnmLinkTableFunc func, gpointer user_data)
{
  t->func = func;
  t->user_data = user_data;
}

static void
notify (VnmLinkTable *t, VnmLinkChange change, const VnmLink *link, gboolean recreated)
{
  if (t->func)
    t->func (change, link, recreated, t->user_data);
}

/* Points the indexes at the rows of t->links, after rows were added,
 * removed or moved in place. */
static void
reindex (VnmLinkTable *t)
{
  g_hash_table_remove_all (t->by_name);
  g_hash_table_remove_all (t->by_ifindex);
  for (guint i = 0; i < t->links->len; i++)
    {
      VnmLink *l = &g_array_index (t->links, VnmLink, i);
      g_hash_table_insert (t->by_name, l->name, GUINT_TO_POINTER (i + 1));
      g_hash_table_insert (t->by_ifindex, GINT_TO_POINTER (l->ifindex), GUINT_TO_POINTER (i + 1));
    }
}

/* The same after a refresh made the scratch table (a different array) the
 * live one, while the previous rows are still intact in t->scratch. The
 * indexes are updated, not emptied and refilled: an emptied GHashTable
 * shrinks, and refilling it would reallocate its arrays on every refresh. */
static void
reindex_swapped (VnmLinkTable *t)
{
  GHashTableIter it;
  gpointer key, value;

  for (guint i = 0; i < t->links->len; i++)
    {
      VnmLink *l = &g_array_index (t->links, VnmLink, i);
      /* replace, not insert: the key becomes the name in the new row. */
      g_hash_table_replace (t->by_name, l->name, GUINT_TO_POINTER (i + 1));
      g_hash_table_replace (t->by_ifindex, GINT_TO_POINTER (l->ifindex), GUINT_TO_POINTER (i + 1));
    }
  /* A name key still in the previous array's rows is a link that is gone. */
  g_hash_table_iter_init (&it, t->by_name);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      guint i = GPOINTER_TO_UINT (value) - 1;
      if (i >= t->links->len || key != g_array_index (t->links, VnmLink, i).name)
        g_hash_table_iter_remove (&it);
    }
  g_hash_table_iter_init (&it, t->by_ifindex);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      guint i = GPOINTER_TO_UINT (value) - 1;
      if (i >= t->links->len || GPOINTER_TO_INT (key) != g_array_index (t->links, VnmLink, i).ifindex)
        g_hash_table_iter_remove (&it);
    }
}

static gint
find_ifindex (VnmLinkTable *t, gint ifindex)
{
  return (gint) GPOINTER_TO_UINT (g_hash_table_lookup (t->by_ifindex, GINT_TO_POINTER (ifindex))) - 1;
}

static gint
find_name (VnmLinkTable *t, const gchar *name)
{
  return (gint) GPOINTER_TO_UINT (g_hash_table_lookup (t->by_name, name)) - 1;
}

/* Whether anything but the counters differs. */
static gboolean
same_device_state (const VnmLink *a, const VnmLink *b)
{
  return a->ifindex == b->ifindex && strcmp (a->name, b->name) == 0 &&
         a->kind == b->kind && a->state == b->state && a->mtu == b->mtu &&
         a->master_ifindex == b->master_ifindex && a->lower_ifindex == b->lower_ifindex &&
         strcmp (a->mac, b->mac) == 0 &&
         a->speed_mbps == b->speed_mbps;
}

/* Takes the complete dump in @t->scratch as the live table. */
static void
replace_links (VnmLinkTable *t, gint64 now_us)
{
  GArray *old;

  g_array_set_size (t->seen, t->links->len);
  if (t->seen->len)
    memset (t->seen->data, 0, t->seen->len);
  g_array_set_size (t->pending, 0);
  for (guint i = 0; i < t->scratch->len; i++)
    {
      const VnmLink *l = &g_array_index (t->scratch, VnmLink, i);
      gint was = find_ifindex (t, l->ifindex);
      gint named = find_name (t, l->name);
      Pending p = { i, VNM_LINK_ADDED, FALSE };

      if (was >= 0)
        g_array_index (t->seen, guint8, was) = 1;
      if (was < 0)
        p.recreated = named >= 0;
      else if (same_device_state (&g_array_index (t->links, VnmLink, was), l))
        continue;
      else
        p.change = VNM_LINK_CHANGED;
      g_array_append_val (t->pending, p);
    }
  /* Gone first, while their entries are still there. */
  for (guint i = 0; i < t->links->len; i++)
    if (!g_array_index (t->seen, guint8, i))
      notify (t, VNM_LINK_REMOVED, &g_array_index (t->links, VnmLink, i), FALSE);
  old = t->links;
  t->links = t->scratch;
  t->scratch = old;
  reindex_swapped (t);
  g_array_set_size (t->scratch, 0);
  vnm_sampler_update (t->sampler, t->links, now_us);
  for (guint i = 0; i < t->pending->len; i++)
    {
      const Pending *p = &g_array_index (t->pending, Pending, i);
      notify (t, p->change, &g_array_index (t->links, VnmLink, p->index), p->recreated);
    }
}

gboolean
vnm_link_table_refresh (VnmLinkTable *t, VnmLinkDumpFunc dump, gpointer dump_data,
                        gint64 now_us, GError **error)
{
  for (guint attempt = 1;; attempt++)
    {
      gboolean interrupted = FALSE;

      if (!dump (dump_data, t->scratch, &interrupted, error))
        {
          g_array_set_size (t->scratch, 0);
          return FALSE;
        }
      if (!interrupted)
        break;
      if (attempt == VNM_LINK_DUMP_ATTEMPTS)
        {
          g_array_set_size (t->scratch, 0);
          g_set_error (error, VNM_ERROR, VNM_ERROR_FAILED,
                       _("The kernel's link list changed during each of %u dumps; keeping the previous one."),
                       attempt);
          return FALSE;
        }
    }
  replace_links (t, now_us);
  return TRUE;
}

static void
remove_at (VnmLinkTable *t, guint i)
{
  notify (t, VNM_LINK_REMOVED, &g_array_index (t->links, VnmLink, i), FALSE);
  vnm_sampler_forget (t->sampler, g_array_index (t->links, VnmLink, i).ifindex);
  g_array_remove_index (t->links, i);
  reindex (t);
}

void
vnm_link_table_upsert (VnmLinkTable *t, const VnmLink *link, gint64 now_us)
{
  gint i = find_ifindex (t, link->ifindex);
  gint named = find_name (t, link->name);
  gboolean recreated = FALSE;
  VnmLink *l;

  /* Another ifindex under this name: that device is gone, whether or not
   * its RTM_DELLINK reached us. */
  if (named >= 0 && named != i)
    {
      recreated = i < 0;
      remove_at (t, (guint) named);
      i = find_ifindex (t, link->ifindex);
    }
  if (i >= 0)
    {
      l = &g_array_index (t->links, VnmLink, i);
      if (same_device_state (l, link))
        {
          l->counters = link->counters;
          return;
        }
      *l = *link;
      reindex (t);
      notify (t, VNM_LINK_CHANGED, l, FALSE);
      return;
    }
  g_array_append_val (t->links, *link);
  reindex (t);
  l = &g_array_index (t->links, VnmLink, t->links->len - 1);
  vnm_sampler_observe (t->sampler, l, now_us);
  notify (t, VNM_LINK_ADDED, l, recreated);
}

void
vnm_link_table_remove (VnmLinkTable *t, gint ifindex)
{
  gint i = find_ifindex (t, ifindex);

  if (i >= 0)
    remove_at (t, (guint) i);
}

guint
vnm_link_table_size (VnmLinkTable *t)
{
  return t->links->len;
}

const VnmLink *
vnm_link_table_index (VnmLinkTable *t, guint i)
{
  g_return_val_if_fail (i < t->links->len, NULL);
  return &g_array_index (t->links, VnmLink, i);
}

const VnmLink *
vnm_link_table_lookup_name (VnmLinkTable *t, const gchar *name)
{
  gint i = name ? find_name (t, name) : -1;

  return i >= 0 ? &g_array_index (t->links, VnmLink, i) : NULL;
}

const VnmLink *
vnm_link_table_lookup_ifindex (VnmLinkTable *t, gint ifindex)
{
  gint i = find_ifindex (t, ifindex);

  return i >= 0 ? &g_array_index (t->links, VnmLink, i) : NULL;
}

const VnmLink *
vnm_link_table_lookup_iface (VnmLinkTable *t, const VnmDomainInterface *iface)
{
  return *iface->target_dev ? vnm_link_table_lookup_name (t, iface->target_dev) : NULL;
}

void
vnm_link_table_owner (VnmLinkTable *t, const VnmLink *link, VnmLinkOwner *out)
{
  guint vmid, nic;

  *out = (VnmLinkOwner) { .mapped_by = "", .vm_name = "", .vm_uuid = "" };
  out->domain = vnm_registry_lookup_ifname (t->registry, link->name, &out->iface);
  if (out->domain)
    {
      out->mapped_by = out->domain->mapped_by;
      out->vm_name = out->domain->name;
      out->vm_uuid = out->domain->uuid;
      if (out->domain->id >= 0)
        g_snprintf (out->vm_id, sizeof out->vm_id, "%d", out->domain->id);
      out->guest_view = TRUE;
    }
  else if (vnm_name_pattern_match (link->name, &vmid, &nic))
    {
      out->mapped_by = VNM_MAPPED_BY_NAME_PATTERN;
      g_snprintf (out->vm_id, sizeof out->vm_id, "%u", vmid);
      out->guest_view = TRUE;
    }
}

gboolean
vnm_link_kind_counts_as_guest (const gchar *kind)
{
  return kind && (g_str_equal (kind, "macvtap") || g_str_equal (kind, "ipvtap"));
}

void
vnm_counters_guest_view (const VnmCounters *h, VnmCounters *g)
{
  *g = (VnmCounters) {
    .rx_bytes = h->tx_bytes, .rx_packets = h->tx_packets,
    .rx_errors = h->tx_errors, .rx_dropped = h->tx_dropped,
    .tx_bytes = h->rx_bytes, .tx_packets = h->rx_packets,
    .tx_errors = h->rx_errors, .tx_dropped = h->rx_dropped,
  };
}

void
vnm_link_table_view (VnmLinkTable *t, const VnmLink *link, gboolean guest_view, VnmLinkView *out)
{
  VnmRates host;

  vnm_sampler_get (t->sampler, link->ifindex, &host);
  out->span_us = vnm_sampler_get_span (t->sampler, link->ifindex);
  if (!guest_view || vnm_link_kind_counts_as_guest (link->kind))
    {
      out->counters = link->counters;
      out->rates = host;
      return;
    }
  vnm_counters_guest_view (&link->counters, &out->counters);
  vnm_rates_guest_view (&host, &out->rates);
}

void
vnm_link_view_add (VnmLinkView *a, const VnmLinkView *b)
{
  a->counters.rx_bytes += b->counters.rx_bytes;
  a->counters.tx_bytes += b->counters.tx_bytes;
  a->counters.rx_packets += b->counters.rx_packets;
  a->counters.tx_packets += b->counters.tx_packets;
  a->counters.rx_errors += b->counters.rx_errors;
  a->counters.tx_errors += b->counters.tx_errors;
  a->counters.rx_dropped += b->counters.rx_dropped;
  a->counters.tx_dropped += b->counters.tx_dropped;
  a->rates.rx_bytes_ps += b->rates.rx_bytes_ps;
  a->rates.tx_bytes_ps += b->rates.tx_bytes_ps;
  a->rates.rx_pps += b->rates.rx_pps;
  a->rates.tx_pps += b->rates.tx_pps;
  a->rates.rx_errors_ps += b->rates.rx_errors_ps;
  a->rates.tx_errors_ps += b->rates.tx_errors_ps;
  a->rates.rx_drops_ps += b->rates.rx_drops_ps;
  a->rates.tx_drops_ps += b->rates.tx_drops_ps;
  a->span_us = MAX (a->span_us, b->span_us);
}

void
vnm_link_table_effective_settings (VnmLinkTable *t, const VnmDomain *domain,
                                   VnmDomainSettings *out)
{
  vnm_domain_effective_settings (domain, t->defaults, out);
}

gboolean
vnm_link_table_monitored (VnmLinkTable *t, const VnmDomain *domain)
{
  VnmDomainSettings eff;

  vnm_domain_effective_settings (domain, t->defaults, &eff);
  return eff.monitoring > 0;
}

void
vnm_link_table_foreach_domain_link (VnmLinkTable *t, const VnmDomain *domain,
                                    const gchar *iface_name, VnmVmLinkFunc func,
                                    gpointer user_data)
{
  for (guint j = 0; j < domain->interfaces->len; j++)
    {
      const VnmDomainInterface *iface = g_ptr_array_index (domain->interfaces, j);
      const VnmLink *link;

      if (iface_name && g_strcmp0 (iface_name, iface->target_dev) != 0)
        continue;
      if ((link = vnm_link_table_lookup_iface (t, iface)))
        func (domain, iface, link, user_data);
    }
}

void
vnm_link_table_foreach_vm_link (VnmLinkTable *t, VnmVmLinkFunc func, gpointer user_data)
{
  g_autoptr(GPtrArray) domains = vnm_registry_list (t->registry);

  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      if (vnm_link_table_monitored (t, d))
        vnm_link_table_foreach_domain_link (t, d, NULL, func, user_data);
    }
}
