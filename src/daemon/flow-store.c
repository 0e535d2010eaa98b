/* flow-store.c: flows now and ended, keyed by the probe's flow key. */
#include "config.h"

#include <string.h>

#include <netinet/in.h>

#include "flow-store.h"

#define NS_PER_US 1000

struct _VnmFlowStore {
  gint64 idle_timeout_ns, retention_ns;
  guint max_ended;
  GHashTable *active;         /* struct vnm_flow_key* (in record) -> VnmFlowRecord* */
  GQueue ended;               /* of VnmFlowRecord*, oldest first */
  GHashTable *active_count;   /* ifindex -> guint active entries */
  GHashTable *removed;        /* ifindex -> guint64* removed by the daemon */
  GHashTable *history;        /* ifindex -> VnmFlowClassTotals*: ended flows, starts, evictions */
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
  s->history = g_hash_table_new_full (NULL, NULL, NULL, g_free);
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
  g_hash_table_unref (s->history);
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

VnmFlowClass
vnm_flow_class (guint8 proto)
{
  switch (proto)
    {
    case IPPROTO_TCP: return VNM_FLOW_CLASS_TCP;
    case IPPROTO_UDP: return VNM_FLOW_CLASS_UDP;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6: return VNM_FLOW_CLASS_ICMP;
    default: return VNM_FLOW_CLASS_OTHER;
    }
}

const gchar *
vnm_flow_class_name (VnmFlowClass c)
{
  static const gchar *const names[VNM_FLOW_CLASSES] = { "tcp", "udp", "icmp", "other" };

  return c < VNM_FLOW_CLASSES ? names[c] : "other";
}

void
vnm_flow_class_totals_add (VnmFlowClassTotals *into, const VnmFlowClassTotals *t)
{
  for (guint c = 0; c < VNM_FLOW_CLASSES; c++)
    {
      for (guint d = 0; d < 2; d++)
        {
          into->bytes[c][d] += t->bytes[c][d];
          into->packets[c][d] += t->packets[c][d];
        }
      for (guint o = 0; o < 3; o++)
        {
          into->started[c][o] += t->started[c][o];
          into->evicted[c][o] += t->evicted[c][o];
          into->active[c][o] += t->active[c][o];
        }
    }
}

static VnmFlowClassTotals *
history_of (VnmFlowStore *s, guint32 ifindex)
{
  VnmFlowClassTotals *h = g_hash_table_lookup (s->history, GUINT_TO_POINTER (ifindex));

  if (!h)
    {
      h = g_new0 (VnmFlowClassTotals, 1);
      g_hash_table_insert (s->history, GUINT_TO_POINTER (ifindex), h);
    }
  return h;
}

static guint
opener_index (guint8 opener)
{
  return opener < 3 ? opener : VNM_OPENER_UNKNOWN;
}

static void
add_flow_counts (VnmFlowClassTotals *t, const VnmFlowRecord *rec)
{
  VnmFlowClass c = vnm_flow_class (rec->key.proto);

  for (guint d = 0; d < 2; d++)
    {
      t->bytes[c][d] += rec->flow.bytes[d];
      t->packets[c][d] += rec->flow.packets[d];
    }
}

/* evicted took what was padding: the records saved by an earlier version
 * keep their size (and read as not evicted). */
G_STATIC_ASSERT (G_STRUCT_OFFSET (VnmFlowRecord, ended_us) ==
                 G_STRUCT_OFFSET (VnmFlowRecord, ended) + 2 * sizeof (gboolean));

/* @rec ends: its last counts stay in its device's history (@evicted: the
 * full table or the domain's limit ended it, not its idleness or its
 * device). */
static void
end_record (VnmFlowStore *s, VnmFlowRecord *rec, gint64 now_ns, gboolean evicted)
{
  VnmFlowClassTotals *h = history_of (s, rec->key.ifindex);

  add_flow_counts (h, rec);
  if (evicted)
    h->evicted[vnm_flow_class (rec->key.proto)][opener_index (rec->flow.opener)]++;
  rec->ended = TRUE;
  rec->evicted = evicted;
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

      VnmFlowRecord *old = g_hash_table_lookup (s->active, key);

      rec = g_new0 (VnmFlowRecord, 1);
      rec->key = *key;
      rec->flow = *flow;
      if (old && old->flow.first_ns != flow->first_ns)
        {
          /* Evicted, and the same 5-tuple started again since the last read. */
          g_hash_table_steal (s->active, key);
          end_record (s, old, now_ns, TRUE);
          old = NULL;
        }
      if (!old)
        history_of (s, key->ifindex)->started[vnm_flow_class (key->proto)][opener_index (flow->opener)]++;
      g_hash_table_remove (s->active, key);
      if (flow->last_ns && now_ns - (gint64) flow->last_ns > s->idle_timeout_ns)
        {
          g_array_append_val (to_delete, rec->key);
          count_removed (s, key->ifindex);
          end_record (s, rec, now_ns, FALSE);
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
      end_record (s, rec, now_ns, TRUE);
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
        end_record (s, rec, now_mono_us * NS_PER_US, FALSE);
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
      end_record (s, rec, now_mono_us * NS_PER_US, TRUE);
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
  g_hash_table_remove (s->history, GINT_TO_POINTER (ifindex));
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


GHashTable *
vnm_flow_store_class_totals (VnmFlowStore *s)
{
  GHashTable *out = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  GHashTableIter it;
  gpointer key, value;
  VnmFlowRecord *rec;

  g_hash_table_iter_init (&it, s->history);
  while (g_hash_table_iter_next (&it, &key, &value))
    g_hash_table_insert (out, key, g_memdup2 (value, sizeof (VnmFlowClassTotals)));
  g_hash_table_iter_init (&it, s->active);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &rec))
    {
      gpointer ifx = GUINT_TO_POINTER (rec->key.ifindex);
      VnmFlowClassTotals *t = g_hash_table_lookup (out, ifx);

      if (!t)
        g_hash_table_insert (out, ifx, (t = g_new0 (VnmFlowClassTotals, 1)));
      add_flow_counts (t, rec);
      /* A TCP connection that closed or was reset is over, though its
       * entry waits for the idle timeout (GetFlows' active says the same). */
      if (rec->key.proto != IPPROTO_TCP || !(rec->flow.tcp_state & (VNM_TCP_CLOSED | VNM_TCP_RESET)))
        t->active[vnm_flow_class (rec->key.proto)][opener_index (rec->flow.opener)]++;
    }
  return out;
}
