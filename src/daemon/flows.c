/* flows.c: the daemon's flow store, aggregation and topology. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "flows.h"
#include "vnm-error.h"
#include "vnm-i18n.h"

#define NS_PER_US 1000

struct _VnmFlowStore {
  gint64 idle_timeout_ns, retention_ns;
  guint max_ended;
  GHashTable *active;         /* struct vnm_flow_key* (in record) -> VnmFlowRecord* */
  GQueue ended;               /* of VnmFlowRecord*, oldest first */
  GHashTable *active_count;   /* ifindex -> guint active entries */
  GHashTable *removed;        /* ifindex -> guint64* removed by the daemon */
  guint64 ended_dropped;
};

static guint
key_hash (gconstpointer p)
{
  const guint8 *b = p;
  guint h = 2166136261u;

  for (gsize i = 0; i < sizeof (struct vnm_flow_key); i++)
    h = (h ^ b[i]) * 16777619u;
  return h;
}

static gboolean
key_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (struct vnm_flow_key)) == 0;
}

VnmFlowStore *
vnm_flow_store_new (gint64 idle_timeout_us, gint64 retention_us, guint max_ended)
{
  VnmFlowStore *s = g_new0 (VnmFlowStore, 1);

  s->idle_timeout_ns = idle_timeout_us * NS_PER_US;
  s->retention_ns = retention_us * NS_PER_US;
  s->max_ended = max_ended;
  s->active = g_hash_table_new_full (key_hash, key_equal, NULL, g_free);
  s->active_count = g_hash_table_new (NULL, NULL);
  s->removed = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  g_queue_init (&s->ended);
  return s;
}

void
vnm_flow_store_free (VnmFlowStore *s)
{
  if (!s)
    return;
  g_hash_table_unref (s->active);
  g_hash_table_unref (s->active_count);
  g_hash_table_unref (s->removed);
  g_queue_clear_full (&s->ended, g_free);
  g_free (s);
}

static void
count_removed (VnmFlowStore *s, gint ifindex)
{
  guint64 *n = g_hash_table_lookup (s->removed, GINT_TO_POINTER (ifindex));

  if (!n)
    {
      n = g_new0 (guint64, 1);
      g_hash_table_insert (s->removed, GINT_TO_POINTER (ifindex), n);
    }
  (*n)++;
}

static void
end_record (VnmFlowStore *s, VnmFlowRecord *rec, gint64 now_ns)
{
  rec->ended = TRUE;
  rec->ended_us = now_ns / NS_PER_US;
  g_queue_push_tail (&s->ended, rec);
}

static void
prune_ended (VnmFlowStore *s, gint64 now_ns)
{
  for (;;)
    {
      VnmFlowRecord *oldest = g_queue_peek_head (&s->ended);
      if (!oldest)
        return;
      if (s->ended.length <= s->max_ended &&
          now_ns - oldest->ended_us * NS_PER_US <= s->retention_ns)
        return;
      if (s->ended.length > s->max_ended)
        s->ended_dropped++;
      g_free (g_queue_pop_head (&s->ended));
    }
}

void
vnm_flow_store_update (VnmFlowStore *s, const GArray *entries, gint64 now_mono_us,
                       GArray *to_delete)
{
  gint64 now_ns = now_mono_us * NS_PER_US;
  GHashTable *fresh = g_hash_table_new_full (key_hash, key_equal, NULL, g_free);
  GHashTableIter it;
  VnmFlowRecord *rec;

  g_hash_table_remove_all (s->active_count);
  for (guint i = 0; i < entries->len; i++)
    {
      const VnmFlowEntry *e = &g_array_index (entries, VnmFlowEntry, i);
      const struct vnm_flow_key *key = &e->key;
      const struct vnm_flow *flow = &e->flow;

      rec = g_new0 (VnmFlowRecord, 1);
      rec->key = *key;
      rec->flow = *flow;
      g_hash_table_remove (s->active, key);
      if (flow->last_ns && now_ns - (gint64) flow->last_ns > s->idle_timeout_ns)
        {
          g_array_append_val (to_delete, rec->key);
          count_removed (s, key->ifindex);
          end_record (s, rec, now_ns);
          continue;
        }
      g_hash_table_insert (fresh, &rec->key, rec);
      {
        gpointer ifx = GINT_TO_POINTER (key->ifindex);
        guint n = GPOINTER_TO_UINT (g_hash_table_lookup (s->active_count, ifx));
        g_hash_table_insert (s->active_count, ifx, GUINT_TO_POINTER (n + 1));
      }
    }
  /* What was active and is no longer in the table was evicted by the LRU:
   * keep its last reading as a summary. */
  g_hash_table_iter_init (&it, s->active);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &rec))
    {
      g_hash_table_iter_steal (&it);
      end_record (s, rec, now_ns);
    }
  g_hash_table_unref (s->active);
  s->active = fresh;
  prune_ended (s, now_ns);
}

void
vnm_flow_store_end_ifindex (VnmFlowStore *s, gint ifindex, gint64 now_mono_us, GArray *to_delete)
{
  GHashTableIter it;
  VnmFlowRecord *rec;

  g_hash_table_iter_init (&it, s->active);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &rec))
    if ((gint) rec->key.ifindex == ifindex)
      {
        g_hash_table_iter_steal (&it);
        g_array_append_val (to_delete, rec->key);
        end_record (s, rec, now_mono_us * NS_PER_US);
      }
  g_hash_table_remove (s->active_count, GINT_TO_POINTER (ifindex));
  prune_ended (s, now_mono_us * NS_PER_US);
}

static gint
by_last_seen (gconstpointer a, gconstpointer b)
{
  const VnmFlowRecord *x = *(VnmFlowRecord *const *) a, *y = *(VnmFlowRecord *const *) b;

  return x->flow.last_ns < y->flow.last_ns ? -1 : x->flow.last_ns > y->flow.last_ns;
}

guint
vnm_flow_store_limit (VnmFlowStore *s, GHashTable *ifindexes, guint keep, gint64 now_mono_us,
                      GArray *to_delete)
{
  g_autoptr(GPtrArray) mine = g_ptr_array_new ();
  GHashTableIter it;
  VnmFlowRecord *rec;
  guint over;

  g_hash_table_iter_init (&it, s->active);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &rec))
    if (g_hash_table_contains (ifindexes, GINT_TO_POINTER ((gint) rec->key.ifindex)))
      g_ptr_array_add (mine, rec);
  if (mine->len <= keep)
    return 0;
  over = mine->len - keep;
  g_ptr_array_sort (mine, by_last_seen);
  for (guint i = 0; i < over; i++)
    {
      gpointer ifx;
      rec = g_ptr_array_index (mine, i);
      ifx = GINT_TO_POINTER ((gint) rec->key.ifindex);
      g_hash_table_steal (s->active, &rec->key);
      g_array_append_val (to_delete, rec->key);
      g_hash_table_insert (s->active_count, ifx,
                           GUINT_TO_POINTER (GPOINTER_TO_UINT (g_hash_table_lookup (s->active_count, ifx)) - 1));
      end_record (s, rec, now_mono_us * NS_PER_US);
    }
  prune_ended (s, now_mono_us * NS_PER_US);
  return over;
}

/* "VNMFS" + format version; the layout of the records follows the
 * structs, so a build with other structs writes another size and refuses
 * the older file. */
static const gchar save_magic[8] = "VNMFS\x01";

typedef struct {
  gchar magic[8];
  guint32 record_size, n_ended, n_removed, pad;
} SaveHeader;

typedef struct {
  gint32 ifindex, pad;
  guint64 removed;
} SaveRemoved;

GBytes *
vnm_flow_store_save (VnmFlowStore *s)
{
  GByteArray *out = g_byte_array_new ();
  SaveHeader h = { { 0 }, sizeof (VnmFlowRecord), s->ended.length,
                   g_hash_table_size (s->removed), 0 };
  GHashTableIter it;
  gpointer key, value;

  memcpy (h.magic, save_magic, sizeof h.magic);
  g_byte_array_append (out, (const guint8 *) &h, sizeof h);
  for (GList *l = s->ended.head; l; l = l->next)
    g_byte_array_append (out, l->data, sizeof (VnmFlowRecord));
  g_hash_table_iter_init (&it, s->removed);
  while (g_hash_table_iter_next (&it, &key, &value))
    {
      SaveRemoved r = { GPOINTER_TO_INT (key), 0, *(guint64 *) value };
      g_byte_array_append (out, (const guint8 *) &r, sizeof r);
    }
  return g_byte_array_free_to_bytes (out);
}

gboolean
vnm_flow_store_load (VnmFlowStore *s, GBytes *data, gint64 now_mono_us)
{
  gsize len;
  const guint8 *p = g_bytes_get_data (data, &len);
  SaveHeader h;

  if (len < sizeof h)
    return FALSE;
  memcpy (&h, p, sizeof h);
  if (memcmp (h.magic, save_magic, sizeof h.magic) != 0 || h.record_size != sizeof (VnmFlowRecord) ||
      (guint64) h.n_ended * sizeof (VnmFlowRecord) + (guint64) h.n_removed * sizeof (SaveRemoved)
        != len - sizeof h)
    return FALSE;
  p += sizeof h;
  for (guint32 i = 0; i < h.n_ended; i++, p += sizeof (VnmFlowRecord))
    {
      VnmFlowRecord *rec = g_new (VnmFlowRecord, 1);
      memcpy (rec, p, sizeof *rec);
      rec->ended = TRUE;
      g_queue_push_tail (&s->ended, rec);
    }
  for (guint32 i = 0; i < h.n_removed; i++, p += sizeof (SaveRemoved))
    {
      SaveRemoved r;
      guint64 *n = g_new (guint64, 1);
      memcpy (&r, p, sizeof r);
      *n = r.removed;
      g_hash_table_insert (s->removed, GINT_TO_POINTER (r.ifindex), n);
    }
  prune_ended (s, now_mono_us * NS_PER_US);
  return TRUE;
}

void
vnm_flow_store_reset_ifindex (VnmFlowStore *s, gint ifindex)
{
  g_hash_table_remove (s->removed, GINT_TO_POINTER (ifindex));
}

guint
vnm_flow_store_active (VnmFlowStore *s, gint ifindex)
{
  return GPOINTER_TO_UINT (g_hash_table_lookup (s->active_count, GINT_TO_POINTER (ifindex)));
}

guint64
vnm_flow_store_removed (VnmFlowStore *s, gint ifindex)
{
  guint64 *n = g_hash_table_lookup (s->removed, GINT_TO_POINTER (ifindex));
  return n ? *n : 0;
}

guint64
vnm_flow_store_summaries_dropped (VnmFlowStore *s)
{
  return s->ended_dropped;
}

GPtrArray *
vnm_flow_store_records (VnmFlowStore *s, GHashTable *ifindexes)
{
  GPtrArray *out = g_ptr_array_new ();
  GHashTableIter it;
  VnmFlowRecord *rec;

  g_hash_table_iter_init (&it, s->active);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &rec))
    if (!ifindexes || g_hash_table_contains (ifindexes, GINT_TO_POINTER (rec->key.ifindex)))
      g_ptr_array_add (out, rec);
  for (GList *l = s->ended.head; l; l = l->next)
    {
      rec = l->data;
      if (!ifindexes || g_hash_table_contains (ifindexes, GINT_TO_POINTER (rec->key.ifindex)))
        g_ptr_array_add (out, rec);
    }
  return out;
}

/* --- aggregation --- */

gboolean
vnm_flow_query_parse (VnmFlowQuery *q, const gchar *by, const gchar *direction,
                      const gchar *proto, const gchar *sort, GError **error)
{
  static const gchar *bys[] = { "flow", "remote", "remote-port", "local-port" };
  static const gchar *sorts[] = { "bytes", "rtt", "retrans", "conns" };
  gboolean found = FALSE;

  q->by = VNM_FLOW_BY_REMOTE_PORT;
  q->sort = VNM_FLOW_SORT_BYTES;
  q->direction = -1;
  q->proto = -1;
  if (by && *by)
    {
      for (guint i = 0; i < G_N_ELEMENTS (bys); i++)
        if (g_str_equal (by, bys[i]))
          q->by = i, found = TRUE;
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown grouping '%.32s': use flow, remote, remote-port or local-port."), by);
          return FALSE;
        }
    }
  if (sort && *sort)
    {
      found = FALSE;
      for (guint i = 0; i < G_N_ELEMENTS (sorts); i++)
        if (g_str_equal (sort, sorts[i]))
          q->sort = i, found = TRUE;
      if (!found)
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown sort key '%.32s': use bytes, rtt, retrans or conns."), sort);
          return FALSE;
        }
    }
  if (direction && *direction)
    {
      if (g_str_equal (direction, "vm"))
        q->direction = VNM_OPENER_VM;
      else if (g_str_equal (direction, "remote"))
        q->direction = VNM_OPENER_REMOTE;
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown initiator '%.32s': use vm or remote."), direction);
          return FALSE;
        }
    }
  if (proto && *proto)
    {
      if (g_str_equal (proto, "tcp"))
        q->proto = IPPROTO_TCP;
      else if (g_str_equal (proto, "udp"))
        q->proto = IPPROTO_UDP;
      else if (g_str_equal (proto, "icmp"))
        q->proto = IPPROTO_ICMP;
      else
        {
          g_set_error (error, VNM_ERROR, VNM_ERROR_INVALID_ARGUMENT,
                       _("Unknown protocol '%.32s': use tcp, udp or icmp."), proto);
          return FALSE;
        }
    }
  return TRUE;
}

const gchar *
vnm_flow_proto_name (gint proto)
{
  switch (proto)
    {
    case IPPROTO_TCP: return "tcp";
    case IPPROTO_UDP: return "udp";
    case IPPROTO_ICMP: return "icmp";
    case IPPROTO_ICMPV6: return "icmpv6";
    case -1: return "any";
    default: return "other";
    }
}

const gchar *
vnm_flow_direction_name (gint opener)
{
  switch (opener)
    {
    case VNM_OPENER_VM: return "vm";
    case VNM_OPENER_REMOTE: return "remote";
    case -1: return "mixed";
    default: return "unknown";
    }
}

void
vnm_flow_addr_to_string (guint8 family, const guint8 addr[16], gchar *buf, gsize len)
{
  if (family == 4)
    inet_ntop (AF_INET, addr + 12, buf, len);
  else
    inet_ntop (AF_INET6, addr, buf, len);
}

void
vnm_rtt_agg_merge (VnmRttAgg *agg, const struct vnm_rtt *r)
{
  if (!r->count)
    return;
  if (!agg->count || r->min_us < agg->min_us)
    agg->min_us = r->min_us;
  agg->max_us = MAX (agg->max_us, r->max_us);
  agg->sum_us += r->sum_us;
  agg->count += r->count;
  agg->jitter_sum_us += r->jitter_sum_us;
  agg->jitter_count += r->count - 1;
}

static gboolean
record_matches (const VnmFlowRecord *rec, const VnmFlowQuery *q)
{
  if (q->direction >= 0 && rec->flow.opener != q->direction)
    return FALSE;
  if (q->proto == IPPROTO_ICMP)
    return rec->key.proto == IPPROTO_ICMP || rec->key.proto == IPPROTO_ICMPV6;
  return q->proto < 0 || rec->key.proto == q->proto;
}

static gchar *
group_key (const VnmFlowRecord *rec, VnmFlowBy by, const gchar *local, const gchar *remote)
{
  switch (by)
    {
    case VNM_FLOW_BY_FLOW:
      return g_strdup_printf ("%u %s %u %s %u", rec->key.proto, local, rec->key.local_port,
                              remote, rec->key.remote_port);
    case VNM_FLOW_BY_REMOTE:
      return g_strdup (remote);
    case VNM_FLOW_BY_REMOTE_PORT:
      return g_strdup_printf ("%u %s %u", rec->key.proto, remote, rec->key.remote_port);
    case VNM_FLOW_BY_LOCAL_PORT:
    default:
      return g_strdup_printf ("%u %u", rec->key.proto, rec->key.local_port);
    }
}

static void
row_add (VnmFlowRow *row, const VnmFlowRecord *rec, gboolean first, const gchar *local,
         const gchar *remote)
{
  const struct vnm_flow *f = &rec->flow;

  if (first)
    {
      g_strlcpy (row->local_ip, local, sizeof row->local_ip);
      g_strlcpy (row->remote_ip, remote, sizeof row->remote_ip);
      row->local_port = rec->key.local_port;
      row->remote_port = rec->key.remote_port;
      row->proto = rec->key.proto;
      row->direction = f->opener;
      row->first_ns = f->first_ns;
    }
  else
    {
      /* Fields that differ inside a group are aggregated away. */
      if (!g_str_equal (row->local_ip, local))
        row->local_ip[0] = '\0';
      if (!g_str_equal (row->remote_ip, remote))
        row->remote_ip[0] = '\0';
      if (row->local_port != rec->key.local_port)
        row->local_port = -1;
      if (row->remote_port != rec->key.remote_port)
        row->remote_port = -1;
      if (row->proto != rec->key.proto)
        row->proto = -1;
      if (row->direction != f->opener)
        row->direction = -1;
      row->first_ns = MIN (row->first_ns, f->first_ns);
    }
  row->last_ns = MAX (row->last_ns, f->last_ns);
  row->tx_bytes += f->bytes[VNM_DIR_OUT];
  row->rx_bytes += f->bytes[VNM_DIR_IN];
  row->tx_packets += f->packets[VNM_DIR_OUT];
  row->rx_packets += f->packets[VNM_DIR_IN];
  row->conns_opened += f->conns_opened;
  row->conns_closed += f->conns_closed;
  row->resets += f->resets;
  row->retrans_tx += f->retrans[VNM_DIR_OUT];
  row->retrans_rx += f->retrans[VNM_DIR_IN];
  vnm_rtt_agg_merge (&row->rtt, &f->rtt_remote);
  vnm_rtt_agg_merge (&row->vm_rtt, &f->rtt_vm);
  row->flows++;
  if (!rec->ended)
    row->active++;
}

static gdouble
rtt_avg (const VnmRttAgg *r)
{
  return r->count ? (gdouble) r->sum_us / r->count : 0;
}

static gint
compare_rows (gconstpointer pa, gconstpointer pb, gpointer data)
{
  const VnmFlowRow *a = pa, *b = pb;
  VnmFlowSort sort = GPOINTER_TO_INT (data);
  gdouble ka = 0, kb = 0;

  switch (sort)
    {
    case VNM_FLOW_SORT_RTT: ka = rtt_avg (&a->rtt); kb = rtt_avg (&b->rtt); break;
    case VNM_FLOW_SORT_RETRANS: ka = a->retrans_tx + a->retrans_rx; kb = b->retrans_tx + b->retrans_rx; break;
    case VNM_FLOW_SORT_CONNS: ka = a->conns_opened; kb = b->conns_opened; break;
    case VNM_FLOW_SORT_BYTES: break;
    }
  if (ka != kb)
    return ka < kb ? 1 : -1;
  ka = (gdouble) a->tx_bytes + a->rx_bytes;
  kb = (gdouble) b->tx_bytes + b->rx_bytes;
  if (ka != kb)
    return ka < kb ? 1 : -1;
  if (a->remote_port != b->remote_port)
    return a->remote_port - b->remote_port;
  return g_strcmp0 (a->remote_ip, b->remote_ip);
}

GArray *
vnm_flow_aggregate (GPtrArray *records, const VnmFlowQuery *q)
{
  g_autoptr(GHashTable) index = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GArray *rows = g_array_new (FALSE, TRUE, sizeof (VnmFlowRow));

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      gchar local[48], remote[48];
      gchar *key;
      gpointer pos;

      if (!record_matches (rec, q))
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.local_addr, local, sizeof local);
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, remote, sizeof remote);
      key = group_key (rec, q->by, local, remote);
      if (g_hash_table_lookup_extended (index, key, NULL, &pos))
        {
          row_add (&g_array_index (rows, VnmFlowRow, GPOINTER_TO_UINT (pos)), rec, FALSE,
                   local, remote);
          g_free (key);
        }
      else
        {
          VnmFlowRow row = { 0 };
          row_add (&row, rec, TRUE, local, remote);
          g_hash_table_insert (index, key, GUINT_TO_POINTER (rows->len));
          g_array_append_val (rows, row);
        }
    }
  g_array_sort_with_data (rows, compare_rows, GINT_TO_POINTER (q->sort));
  if (q->top && rows->len > q->top)
    g_array_set_size (rows, q->top);
  return rows;
}

/* --- topology --- */

typedef struct {
  VnmTopoEdge edge;
  /* Both VMs of a VM-to-VM edge see its traffic: keep each view and take
   * the larger, so nothing is counted twice. */
  guint64 view_to_target[2], view_to_source[2];
} EdgeAcc;

static void
node_free (VnmTopoNode *n)
{
  g_free (n->id);
  g_free (n->label);
  g_free (n);
}

static void
edge_free (VnmTopoEdge *e)
{
  g_free (e->source);
  g_free (e->target);
  g_free (e);
}

void
vnm_topology_free (VnmTopology *t)
{
  if (!t)
    return;
  g_ptr_array_unref (t->nodes);
  g_ptr_array_unref (t->edges);
  g_free (t);
}

static VnmTopoNode *
get_node (GHashTable *nodes, const gchar *id, const gchar *label, gboolean is_vm)
{
  VnmTopoNode *n = g_hash_table_lookup (nodes, id);

  if (!n)
    {
      n = g_new0 (VnmTopoNode, 1);
      n->id = g_strdup (id);
      n->label = g_strdup (label ? label : id);
      n->is_vm = is_vm;
      g_hash_table_insert (nodes, n->id, n);
    }
  return n;
}

VnmTopology *
vnm_flow_topology (GPtrArray *records, GHashTable *owner, GHashTable *names)
{
  g_autoptr(GHashTable) vm_addr = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) nodes = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) edges = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  VnmTopology *topo = g_new0 (VnmTopology, 1);
  GHashTableIter it;
  gpointer value;

  topo->nodes = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  topo->edges = g_ptr_array_new_with_free_func ((GDestroyNotify) edge_free);

  /* A VM's own addresses: the local side of its flows. */
  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      const gchar *uuid = g_hash_table_lookup (owner, GINT_TO_POINTER (rec->key.ifindex));
      gchar addr[48];

      if (!uuid)
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.local_addr, addr, sizeof addr);
      g_hash_table_insert (vm_addr, g_strdup (addr), (gpointer) uuid);
    }

  for (guint i = 0; i < records->len; i++)
    {
      const VnmFlowRecord *rec = g_ptr_array_index (records, i);
      const struct vnm_flow *f = &rec->flow;
      const gchar *uuid = g_hash_table_lookup (owner, GINT_TO_POINTER (rec->key.ifindex));
      const gchar *peer_vm, *source, *target;
      gchar remote[48];
      g_autofree gchar *edge_key = NULL;
      VnmTopoNode *self;
      EdgeAcc *acc;
      gint view;
      guint64 out = f->bytes[VNM_DIR_OUT], in = f->bytes[VNM_DIR_IN];

      if (!uuid)
        continue;
      vnm_flow_addr_to_string (rec->key.family, rec->key.remote_addr, remote, sizeof remote);
      self = get_node (nodes, uuid, g_hash_table_lookup (names, uuid), TRUE);
      self->tx_bytes += out;
      self->rx_bytes += in;
      peer_vm = g_hash_table_lookup (vm_addr, remote);
      if (peer_vm && !g_str_equal (peer_vm, uuid))
        {
          get_node (nodes, peer_vm, g_hash_table_lookup (names, peer_vm), TRUE);
          /* One edge per pair, source the smaller uuid. */
          gboolean self_first = g_strcmp0 (uuid, peer_vm) < 0;
          source = self_first ? uuid : peer_vm;
          target = self_first ? peer_vm : uuid;
          view = self_first ? 0 : 1;
          if (!self_first)
            {
              guint64 tmp = out;
              out = in;
              in = tmp;
            }
        }
      else
        {
          VnmTopoNode *r = get_node (nodes, remote, remote, FALSE);
          r->rx_bytes += out;
          r->tx_bytes += in;
          source = uuid;
          target = remote;
          view = 0;
        }
      edge_key = g_strdup_printf ("%s>%s", source, target);
      acc = g_hash_table_lookup (edges, edge_key);
      if (!acc)
        {
          acc = g_new0 (EdgeAcc, 1);
          acc->edge.source = g_strdup (source);
          acc->edge.target = g_strdup (target);
          g_hash_table_insert (edges, g_steal_pointer (&edge_key), acc);
        }
      acc->view_to_target[view] += out;
      acc->view_to_source[view] += in;
      if (view == 0)
        {
          acc->edge.conns += f->conns_opened;
          acc->edge.retrans += f->retrans[0] + f->retrans[1];
          vnm_rtt_agg_merge (&acc->edge.rtt, &f->rtt_remote);
        }
    }

  g_hash_table_iter_init (&it, nodes);
  while (g_hash_table_iter_next (&it, NULL, &value))
    g_ptr_array_add (topo->nodes, value);
  g_hash_table_iter_init (&it, edges);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      EdgeAcc *acc = value;
      VnmTopoEdge *e = g_new0 (VnmTopoEdge, 1);

      *e = acc->edge;
      e->bytes_to_target = MAX (acc->view_to_target[0], acc->view_to_target[1]);
      e->bytes_to_source = MAX (acc->view_to_source[0], acc->view_to_source[1]);
      g_ptr_array_add (topo->edges, e);
      g_free (acc);
    }
  return topo;
}
