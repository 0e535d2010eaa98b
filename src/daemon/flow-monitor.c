/* flow-monitor.c: probe attachment that follows the registry, and polling. */
#include "config.h"

#include <string.h>
#include <glib/gstdio.h>
#include <netinet/in.h>

#include "flow-monitor.h"
#include "flow-probe.h"
#include "vnm-i18n.h"

struct _VnmFlowMonitor {
  VnmLinkTable *links;        /* borrowed */
  VnmRegistry *registry;      /* borrowed */
  VnmFlowProbe *probes;          /* NULL when unavailable */
  gchar *unavailable;         /* why, or NULL */
  VnmFlowStore *store;
  guint table_size;
  GHashTable *attach_error;   /* ifname -> message of the last failed attach */
  GHashTable *owner;          /* ifindex -> domain uuid (kept for ended flows) */
  GHashTable *owner_name;     /* uuid -> name */
  /* ifindex -> flows_created read just before the last table read, so that
   * created - active - removed never counts a flow born after the read. */
  GHashTable *created_at_poll;
  gchar *summaries_path;      /* ended flows saved at stop, for the next run */
  VnmFlowDnsFunc on_dns;
  gpointer dns_data;
};

VnmFlowMonitor *
vnm_flow_monitor_new (VnmLinkTable *links, VnmRegistry *registry, const VnmKernelCaps *caps,
                      const VnmFlowMonitorConfig *config, gboolean disabled)
{
  VnmFlowMonitor *m = g_new0 (VnmFlowMonitor, 1);
  g_autoptr(GError) error = NULL;

  m->links = links;
  m->registry = registry;
  m->table_size = config->table_size;
  m->store = vnm_flow_store_new (config->idle_timeout_s * G_USEC_PER_SEC,
                                 config->retention_s * G_USEC_PER_SEC, config->max_ended);
  m->attach_error = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->owner = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  m->owner_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  m->created_at_poll = g_hash_table_new_full (NULL, NULL, NULL, g_free);

  if (disabled)
    m->unavailable = g_strdup (_("eBPF is turned off (--no-bpf)."));
  else if (caps && !caps->bpf_tc)
    m->unavailable = g_strdup (_("The kernel does not allow tc (sched_cls) eBPF programs."));
  else
    {
      m->probes = vnm_flow_probe_new (config->table_size, config->attach, config->state_dir,
                                  config->pin_dir, config->count_filters,
                                  config->count_filters_data, &error);
      if (!m->probes)
        m->unavailable = g_strdup (error->message);
    }
  if (m->unavailable)
    {
      g_message (_("Flow probes are not available: %s"), m->unavailable);
      return m;
    }

  /* Hooks a crashed virtnetmond left behind go first. */
  g_autoptr(GArray) ifindexes = g_array_new (FALSE, FALSE, sizeof (gint));
  for (guint i = 0; i < vnm_link_table_size (links); i++)
    g_array_append_val (ifindexes, vnm_link_table_index (links, i)->ifindex);
  guint stale = vnm_flow_probe_remove_stale (m->probes, ifindexes);
  if (stale)
    g_message (ngettext ("Removed %u stale virtnetmon tc hook left by an earlier run.",
                         "Removed %u stale virtnetmon tc hooks left by an earlier run.", stale), stale);

  /* The summaries an earlier run saved go with the table it pinned. */
  m->summaries_path = g_build_filename (config->state_dir, "flow-summaries", NULL);
  {
    g_autoptr(GMappedFile) f = g_mapped_file_new (m->summaries_path, FALSE, NULL);
    if (f && vnm_flow_probe_pin_state (m->probes) == VNM_PIN_ADOPTED)
      {
        g_autoptr(GBytes) data = g_mapped_file_get_bytes (f);
        if (!vnm_flow_store_load (m->store, data, g_get_monotonic_time ()))
          g_message (_("Ignoring %s: not flow summaries of this version."), m->summaries_path);
      }
    g_unlink (m->summaries_path);
  }
  return m;
}

const gchar *
vnm_flow_monitor_program (VnmFlowMonitor *m)
{
  return m->probes ? vnm_probe_attach_to_string (vnm_flow_probe_attach_mode (m->probes)) : "";
}

gboolean
vnm_flow_monitor_available (VnmFlowMonitor *m)
{
  return m->probes != NULL;
}

const gchar *
vnm_flow_monitor_unavailable_reason (VnmFlowMonitor *m)
{
  return m->unavailable ? m->unavailable : "";
}

guint
vnm_flow_monitor_table_size (VnmFlowMonitor *m)
{
  return m->table_size;
}

guint
vnm_flow_monitor_cache_slots (VnmFlowMonitor *m)
{
  return m->probes ? vnm_flow_probe_cache_slots (m->probes) : 0;
}

static void
end_flows (VnmFlowMonitor *m, gint ifindex)
{
  g_autoptr(GArray) to_delete = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));

  vnm_flow_store_end_ifindex (m->store, ifindex, g_get_monotonic_time (), to_delete);
  for (guint i = 0; i < to_delete->len; i++)
    vnm_flow_probe_delete_flow (m->probes, &g_array_index (to_delete, struct vnm_flow_key, i));
}

typedef struct {
  VnmFlowMonitor *m;
  GHashTable *wanted;         /* ifindexes of monitored VM links */
} Reconcile;

static void
attach_vm_link (const VnmDomain *d, const VnmDomainInterface *iface, const VnmLink *link,
                gpointer user_data)
{
  Reconcile *r = user_data;
  VnmFlowMonitor *m = r->m;
  g_autoptr(GError) error = NULL;
  gboolean continued = FALSE;

  g_hash_table_add (r->wanted, GINT_TO_POINTER (link->ifindex));
  if (vnm_flow_probe_is_attached (m->probes, link->ifindex))
    return;
  if (!vnm_flow_probe_attach (m->probes, link->ifindex, link->name,
                              vnm_link_kind_counts_as_guest (link->kind), &continued, &error))
    {
      if (!g_hash_table_contains (m->attach_error, link->name))
        g_warning ("%s", error->message);
      g_hash_table_insert (m->attach_error, g_strdup (link->name), g_strdup (error->message));
      return;
    }
  g_hash_table_remove (m->attach_error, link->name);
  if (!continued)
    vnm_flow_store_reset_ifindex (m->store, link->ifindex);
  g_hash_table_insert (m->owner, GINT_TO_POINTER (link->ifindex), g_strdup (d->uuid));
  g_hash_table_insert (m->owner_name, g_strdup (d->uuid), g_strdup (d->name));
  g_debug ("Flow probe attached to %s (%s).", link->name, d->name);
}

void
vnm_flow_monitor_reconcile (VnmFlowMonitor *m)
{
  g_autoptr(GHashTable) wanted = NULL;
  g_autoptr(GArray) detached = g_array_new (FALSE, FALSE, sizeof (gint));
  GHashTableIter it;
  gpointer key, value;
  Reconcile r;

  if (!m->probes)
    return;
  wanted = g_hash_table_new (NULL, NULL);
  r = (Reconcile) { m, wanted };
  vnm_link_table_foreach_vm_link (m->links, attach_vm_link, &r);

  /* Detach from what is no longer a running VM's device. */
  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      gint ifindex = GPOINTER_TO_INT (key);
      gboolean present;

      if (g_hash_table_contains (wanted, key) || !vnm_flow_probe_is_attached (m->probes, ifindex))
        continue;
      present = vnm_link_table_lookup_ifindex (m->links, ifindex) != NULL;
      vnm_flow_probe_detach (m->probes, ifindex, !present);
      g_array_append_val (detached, ifindex);
      g_debug ("Flow probe detached from ifindex %d%s.", ifindex, present ? "" : " (device gone)");
    }
  /* Their flows' last counts reach the table (once for all of them) before
   * their flows end. */
  if (detached->len)
    vnm_flow_probe_flush_cache (m->probes);
  for (guint i = 0; i < detached->len; i++)
    end_flows (m, g_array_index (detached, gint, i));
}

/* Domains whose settings give a flow table size below the kernel table's
 * keep at most that many flows: the least recently seen beyond it end. */
static void
limit_domains (VnmFlowMonitor *m, GArray *to_delete)
{
  g_autoptr(GHashTable) by_domain = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                           (GDestroyNotify) g_hash_table_unref);
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      GHashTable *set = g_hash_table_lookup (by_domain, value);
      if (!set)
        g_hash_table_insert (by_domain, value, (set = g_hash_table_new (NULL, NULL)));
      g_hash_table_add (set, key);
    }
  g_hash_table_iter_init (&it, by_domain);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const VnmDomain *d = vnm_registry_lookup_uuid (m->registry, key);
      VnmDomainSettings eff;
      guint ended;

      if (!d)
        continue;
      vnm_link_table_effective_settings (m->links, d, &eff);
      if (eff.flow_table_size <= 0 || eff.flow_table_size >= m->table_size)
        continue;
      ended = vnm_flow_store_limit (m->store, value, (guint) eff.flow_table_size,
                                    g_get_monotonic_time (), to_delete);
      if (ended)
        g_debug ("Domain %s is over its flow table size %" G_GINT64_FORMAT ": %u flow(s) ended.",
                 d->name, eff.flow_table_size, ended);
    }
}

/* Devices that are gone and whose flows have all aged out are forgotten,
 * so that the maps do not grow with every tap a VM start creates. */
static void
forget_unused (VnmFlowMonitor *m)
{
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GHashTable) in_use = NULL;
  g_autoptr(GHashTable) uuids = NULL;
  GHashTableIter it;
  gpointer key, value;
  gboolean any_gone = FALSE;

  /* Each interval: walk the records only when a device is gone. */
  g_hash_table_iter_init (&it, m->owner);
  while (!any_gone && g_hash_table_iter_next (&it, &key, NULL))
    any_gone = !vnm_flow_probe_is_attached (m->probes, GPOINTER_TO_INT (key));
  if (!any_gone)
    return;
  records = vnm_flow_store_records (m->store, NULL);
  in_use = g_hash_table_new (NULL, NULL);
  uuids = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < records->len; i++)
    g_hash_table_add (in_use, GINT_TO_POINTER ((gint) ((VnmFlowRecord *) records->pdata[i])->key.ifindex));
  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      if (vnm_flow_probe_is_attached (m->probes, GPOINTER_TO_INT (key)) ||
          g_hash_table_contains (in_use, key))
        {
          g_hash_table_add (uuids, value);
          continue;
        }
      vnm_flow_store_reset_ifindex (m->store, GPOINTER_TO_INT (key));
      g_hash_table_iter_remove (&it);
    }
  g_hash_table_iter_init (&it, m->owner_name);
  while (g_hash_table_iter_next (&it, &key, NULL))
    if (!g_hash_table_contains (uuids, key))
      g_hash_table_iter_remove (&it);
}

void
vnm_flow_monitor_poll (VnmFlowMonitor *m)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GArray) entries = NULL;
  g_autoptr(GArray) to_delete = NULL;
  GHashTableIter it;
  gpointer key;

  if (!m->probes)
    return;
  /* First what the per-CPU cache holds, so that both reads below see it. */
  vnm_flow_probe_flush_cache (m->probes);
  g_hash_table_remove_all (m->created_at_poll);
  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &key, NULL))
    {
      struct vnm_iface_totals t;
      if (vnm_flow_probe_read_totals (m->probes, GPOINTER_TO_INT (key), &t))
        g_hash_table_insert (m->created_at_poll, key, g_memdup2 (&t.flows_created, sizeof (guint64)));
    }
  entries = vnm_flow_probe_read_flows (m->probes, &error);
  if (!entries)
    {
      g_warning ("%s", error->message);  /* keep what the store has */
      return;
    }
  to_delete = g_array_new (FALSE, FALSE, sizeof (struct vnm_flow_key));
  vnm_flow_store_update (m->store, entries, g_get_monotonic_time (), to_delete);
  limit_domains (m, to_delete);
  for (guint i = 0; i < to_delete->len; i++)
    vnm_flow_probe_delete_flow (m->probes, &g_array_index (to_delete, struct vnm_flow_key, i));
  forget_unused (m);
}

void
vnm_flow_monitor_stop (VnmFlowMonitor *m)
{
  g_autoptr(GError) error = NULL;

  if (!m->probes)
    return;
  vnm_flow_probe_detach_all (m->probes);
  if (vnm_flow_probe_pin_state (m->probes) == VNM_PIN_NONE)
    return;
  {
    g_autoptr(GBytes) data = vnm_flow_store_save (m->store);
    if (!g_file_set_contents (m->summaries_path, g_bytes_get_data (data, NULL),
                              g_bytes_get_size (data), &error))
      g_warning (_("Cannot save the flow summaries in %s: %s"), m->summaries_path, error->message);
  }
}

const gchar *
vnm_flow_monitor_pinned (VnmFlowMonitor *m)
{
  if (!m->probes)
    return "";
  switch (vnm_flow_probe_pin_state (m->probes))
    {
    case VNM_PIN_NEW: return "new";
    case VNM_PIN_ADOPTED: return "adopted";
    default: return "";
    }
}

const gchar *
vnm_flow_monitor_pin_status (VnmFlowMonitor *m)
{
  return m->probes ? vnm_flow_probe_pin_status (m->probes) : "";
}

void
vnm_flow_monitor_free (VnmFlowMonitor *m)
{
  if (!m)
    return;
  vnm_flow_probe_free (m->probes);
  vnm_flow_store_free (m->store);
  g_hash_table_unref (m->attach_error);
  g_hash_table_unref (m->owner);
  g_hash_table_unref (m->owner_name);
  g_hash_table_unref (m->created_at_poll);
  g_free (m->unavailable);
  g_free (m->summaries_path);
  g_free (m);
}

void
vnm_probe_status_free (VnmProbeStatus *s)
{
  if (!s)
    return;
  g_free (s->iface);
  g_free (s->domain_uuid);
  g_free (s->domain_name);
  g_free (s->program);
  g_free (s->reason);
  g_free (s);
}

GPtrArray *
vnm_flow_monitor_status (VnmFlowMonitor *m)
{
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) vnm_probe_status_free);
  g_autoptr(GPtrArray) domains = vnm_registry_list (m->registry);

  for (guint i = 0; i < domains->len; i++)
    {
      const VnmDomain *d = g_ptr_array_index (domains, i);
      for (guint j = 0; j < d->interfaces->len; j++)
        {
          const VnmDomainInterface *iface = g_ptr_array_index (d->interfaces, j);
          const VnmLink *link = vnm_link_table_lookup_iface (m->links, iface);
          VnmProbeStatus *s = g_new0 (VnmProbeStatus, 1);
          const gchar *err;
          VnmDomainSettings eff;

          vnm_link_table_effective_settings (m->links, d, &eff);
          s->iface = g_strdup (iface->target_dev);
          s->ifindex = link ? link->ifindex : 0;
          s->domain_uuid = g_strdup (d->uuid);
          s->domain_name = g_strdup (d->name);
          s->program = g_strdup (vnm_flow_monitor_program (m));
          /* The side that sees what the VM sends first. */
          s->hooks = link && vnm_link_kind_counts_as_guest (link->kind) ? "egress,ingress"
                                                                         : "ingress,egress";
          s->attached = m->probes && link && vnm_flow_probe_is_attached (m->probes, link->ifindex);
          if (s->attached)
            s->reason = g_strdup ("");
          else if (!*iface->target_dev)
            s->reason = g_strdup_printf (_("No host netdev: %s"), *iface->no_stats_reason
                                         ? iface->no_stats_reason : iface->type);
          else if (!link)
            s->reason = g_strdup_printf (_("The device %s is not present."), iface->target_dev);
          else if (m->unavailable)
            s->reason = g_strdup (m->unavailable);
          else if (!eff.monitoring)
            s->reason = g_strdup (d->settings.monitoring == 0
                                  ? _("Monitoring is off in this domain's settings (virtnetmon set DOMAIN --monitoring on).")
                                  : _("Monitoring is off for domains by default ([domains] monitoring= in virtnetmond.conf)."));
          else if ((err = g_hash_table_lookup (m->attach_error, iface->target_dev)))
            s->reason = g_strdup (err);
          else
            s->reason = g_strdup (_("Not attached yet."));
          g_ptr_array_add (out, s);
        }
    }
  return out;
}

gboolean
vnm_flow_monitor_totals (VnmFlowMonitor *m, gint ifindex, VnmProbeTotals *out)
{
  guint64 accounted, *created;

  memset (out, 0, sizeof *out);
  if (!m->probes || !vnm_flow_probe_read_totals (m->probes, ifindex, &out->totals))
    return FALSE;
  out->attached = TRUE;
  out->active = vnm_flow_store_active (m->store, ifindex);
  accounted = out->active + vnm_flow_store_removed (m->store, ifindex);
  created = g_hash_table_lookup (m->created_at_poll, GINT_TO_POINTER (ifindex));
  out->evicted = created && *created > accounted ? *created - accounted : 0;
  return TRUE;
}

GPtrArray *
vnm_flow_monitor_records (VnmFlowMonitor *m, const gchar *domain_uuid)
{
  g_autoptr(GHashTable) ifindexes = g_hash_table_new (NULL, NULL);
  GHashTableIter it;
  gpointer key, value;

  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &key, &value))
    if (g_str_equal (value, domain_uuid))
      g_hash_table_add (ifindexes, key);
  return vnm_flow_store_records (m->store, ifindexes);
}

guint64
vnm_flow_monitor_summaries_dropped (VnmFlowMonitor *m)
{
  return vnm_flow_store_summaries_dropped (m->store);
}

static void
dns_message (gint ifindex, const guint8 *msg, gsize len, gsize orig_len, gpointer user_data)
{
  VnmFlowMonitor *m = user_data;
  const gchar *uuid = g_hash_table_lookup (m->owner, GINT_TO_POINTER (ifindex));

  if (uuid)
    m->on_dns (uuid, msg, len, orig_len, m->dns_data);
}

void
vnm_flow_monitor_watch_dns (VnmFlowMonitor *m, VnmFlowDnsFunc func, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!m->probes)
    return;
  m->on_dns = func;
  m->dns_data = user_data;
  if (!vnm_flow_probe_watch_dns (m->probes, dns_message, m, &error))
    g_message (_("The names VMs look up are not learned: %s"), error->message);
}

guint64
vnm_flow_monitor_dns_lost (VnmFlowMonitor *m)
{
  return m->probes ? vnm_flow_probe_dns_lost (m->probes) : 0;
}

guint64
vnm_flow_monitor_dns_unasked (VnmFlowMonitor *m)
{
  return m->probes ? vnm_flow_probe_dns_unasked (m->probes) : 0;
}

GHashTable *
vnm_flow_monitor_active_rtt (VnmFlowMonitor *m)
{
  g_autoptr(GPtrArray) records = vnm_flow_store_records (m->store, NULL);
  GHashTable *out = g_hash_table_new_full (NULL, NULL, NULL, g_free);

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      gpointer key = GINT_TO_POINTER ((gint) rec->key.ifindex);
      VnmRttAgg *agg;

      if (rec->ended || rec->key.proto != IPPROTO_TCP)
        continue;
      if (!(agg = g_hash_table_lookup (out, key)))
        g_hash_table_insert (out, key, (agg = g_new0 (VnmRttAgg, 2)));
      vnm_rtt_agg_merge (&agg[0], &rec->flow.rtt_remote);
      vnm_rtt_agg_merge (&agg[1], &rec->flow.rtt_vm);
    }
  return out;
}

void
vnm_flow_monitor_foreach_record (VnmFlowMonitor *m, VnmFlowRecordFunc func, gpointer user_data)
{
  g_autoptr(GPtrArray) records = vnm_flow_store_records (m->store, NULL);
  /* ifindex -> the owner's name, looked up once a device, not once a flow
   * (a host's table holds tens of thousands). */
  g_autoptr(GHashTable) names = g_hash_table_new (NULL, NULL);
  GHashTableIter it;
  gpointer ifindex, uuid;

  g_hash_table_iter_init (&it, m->owner);
  while (g_hash_table_iter_next (&it, &ifindex, &uuid))
    g_hash_table_insert (names, ifindex, g_hash_table_lookup (m->owner_name, uuid));
  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      gpointer key = GINT_TO_POINTER ((gint) rec->key.ifindex);
      const gchar *owner = g_hash_table_lookup (m->owner, key);
      const gchar *name = owner ? g_hash_table_lookup (names, key) : NULL;

      func (rec, owner ? owner : "", name ? name : "", user_data);
    }
}

typedef struct {
  guint8 family, how;
  guint8 addr[16];
  guint8 mac[6];
  gint ifindex;
  guint64 last_ns;
} Learned;

void
vnm_flow_monitor_foreach_learned (VnmFlowMonitor *m, VnmLearnedFunc func, gpointer user_data)
{
  g_autoptr(GPtrArray) records = NULL;
  g_autoptr(GArray) map = NULL;
  g_autoptr(GHashTable) seen = NULL;
  GHashTableIter it;
  Learned *l;

  if (!m->probes)
    return;
  seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, g_free);
  /* The source addresses of what the VM sent: the local side of its flows
   * with packets out. A flow with only packets in may be someone else's
   * traffic the bridge flooded to every port, and its local side may be
   * multicast; neither is the VM's address. */
  records = vnm_flow_store_records (m->store, NULL);
  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      Learned k = { .family = rec->key.family, .how = 0, .ifindex = rec->key.ifindex };
      GBytes *key;

      if (rec->ended || !rec->flow.packets[VNM_DIR_OUT] ||
          vnm_addr_kind (rec->key.family, rec->key.local_addr) != VNM_ADDR_UNICAST)
        continue;
      memcpy (k.addr, rec->key.local_addr, 16);
      key = g_bytes_new (&k, sizeof k);
      l = g_hash_table_lookup (seen, key);
      if (!l)
        {
          l = g_memdup2 (&k, sizeof k);
          g_hash_table_insert (seen, key, l);
        }
      else
        g_bytes_unref (key);
      l->last_ns = MAX (l->last_ns, rec->flow.last_ns);
    }
  g_hash_table_iter_init (&it, seen);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &l))
    func (l->ifindex, l->family, l->addr, "traffic", NULL, l->last_ns, user_data);

  map = vnm_flow_probe_read_learned (m->probes);
  for (guint i = 0; i < map->len; i++)
    {
      const VnmLearnedEntry *e = &g_array_index (map, VnmLearnedEntry, i);
      g_autofree gchar *mac = g_strdup_printf ("%02x:%02x:%02x:%02x:%02x:%02x", e->value.mac[0],
                                               e->value.mac[1], e->value.mac[2], e->value.mac[3],
                                               e->value.mac[4], e->value.mac[5]);
      func (e->key.ifindex, e->key.family, e->key.addr,
            e->key.how == VNM_LEARNED_DHCP ? "dhcp" : "arp", mac, e->value.last_ns, user_data);
    }
}

VnmTopology *
vnm_flow_monitor_topology (VnmFlowMonitor *m, VnmPeerNames *peers)
{
  g_autoptr(GPtrArray) records = vnm_flow_store_records (m->store, NULL);
  return vnm_flow_topology (records, m->owner, m->owner_name, peers);
}

GHashTable *
vnm_flow_monitor_class_totals (VnmFlowMonitor *m)
{
  GHashTable *out = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr(GHashTable) per_device = NULL;
  GHashTableIter it;
  gpointer key, value;

  if (!m->probes)
    return out;
  per_device = vnm_flow_store_class_totals (m->store);
  g_hash_table_iter_init (&it, per_device);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      const gchar *uuid = g_hash_table_lookup (m->owner, key);
      VnmFlowClassTotals *t;

      if (!uuid)
        continue;
      if (!(t = g_hash_table_lookup (out, uuid)))
        g_hash_table_insert (out, g_strdup (uuid), (t = g_new0 (VnmFlowClassTotals, 1)));
      vnm_flow_class_totals_add (t, value);
    }
  return out;
}
