/* usage-recorder.c: kernel counters -> usage deltas (see usage-recorder.h). */
#include "config.h"

#include <string.h>

#include "sampler.h"
#include "usage-recorder.h"

typedef struct {
  gchar name[16];
  gint ifindex;
  VnmUsage last;            /* host's view: where the next delta starts */
  VnmUsage start;           /* where it started in this run */
  VnmUsage extra;           /* found uncounted when the saved counters came */
  gboolean provisional;     /* started before the saved counters were read */
  guint generation;         /* the feed that last saw it */
} Track;

struct _VnmUsageRecorder {
  VnmUsageStore *store;     /* borrowed */
  gchar boot_id[40];
  GHashTable *tracks;       /* ifindex -> Track* */
  guint generation;         /* feeds so far */
};

static void store_loaded (VnmUsageStore *store, gpointer user_data);

VnmUsageRecorder *
vnm_usage_recorder_new (VnmUsageStore *store, const gchar *boot_id)
{
  VnmUsageRecorder *rec = g_new0 (VnmUsageRecorder, 1);

  rec->store = store;
  g_strlcpy (rec->boot_id, boot_id ? boot_id : "", sizeof rec->boot_id);
  rec->tracks = g_hash_table_new_full (NULL, NULL, NULL, g_free);
  vnm_usage_store_set_loaded_func (store, store_loaded, rec);
  return rec;
}

void
vnm_usage_recorder_free (VnmUsageRecorder *rec)
{
  if (!rec)
    return;
  vnm_usage_store_set_loaded_func (rec->store, NULL, NULL);
  g_hash_table_unref (rec->tracks);
  g_free (rec);
}

gchar *
vnm_usage_boot_id (void)
{
  gchar *text = NULL;

  if (!g_file_get_contents ("/proc/sys/kernel/random/boot_id", &text, NULL, NULL))
    return g_strdup ("");
  return g_strstrip (text);
}

static void
host_usage (const VnmLink *link, VnmUsage *out)
{
  out->rx_bytes = link->counters.rx_bytes;
  out->tx_bytes = link->counters.tx_bytes;
  out->rx_packets = link->counters.rx_packets;
  out->tx_packets = link->counters.tx_packets;
}

/* Whether every counter of @cur follows on from @base (higher, or a 32-bit
 * counter that wrapped). */
static gboolean
follows (const VnmUsage *cur, const VnmUsage *base)
{
  gboolean r1, r2, r3, r4;

  vnm_counter_delta (base->rx_bytes, cur->rx_bytes, &r1);
  vnm_counter_delta (base->tx_bytes, cur->tx_bytes, &r2);
  vnm_counter_delta (base->rx_packets, cur->rx_packets, &r3);
  vnm_counter_delta (base->tx_packets, cur->tx_packets, &r4);
  return !r1 && !r2 && !r3 && !r4;
}

/* @cur - @from of one counter: a 32-bit counter that wrapped counts what
 * it carried past the wrap; one that went down otherwise was reset, and
 * all it shows now counts. */
static guint64
field_delta (guint64 from, guint64 cur)
{
  gboolean reset;
  guint64 d = vnm_counter_delta (from, cur, &reset);

  return reset ? cur : d;
}

/* @cur - @from, counter by counter (see field_delta). */
static void
delta (const VnmUsage *from, const VnmUsage *cur, VnmUsage *out)
{
  out->rx_bytes = field_delta (from->rx_bytes, cur->rx_bytes);
  out->tx_bytes = field_delta (from->tx_bytes, cur->tx_bytes);
  out->rx_packets = field_delta (from->rx_packets, cur->rx_packets);
  out->tx_packets = field_delta (from->tx_packets, cur->tx_packets);
}

static void
usage_add (VnmUsage *a, const VnmUsage *b)
{
  a->rx_bytes += b->rx_bytes;
  a->tx_bytes += b->tx_bytes;
  a->rx_packets += b->rx_packets;
  a->tx_packets += b->tx_packets;
}

static void
set_seen (VnmUsageRecorder *rec, const gchar *name, gint ifindex, const VnmUsage *counters)
{
  VnmUsageSeen seen = { .ifindex = ifindex, .counters = *counters };

  g_strlcpy (seen.boot_id, rec->boot_id, sizeof seen.boot_id);
  vnm_usage_store_set_seen (rec->store, name, &seen);
}

/* Whether @saved are earlier counters of the device @ifindex now at @cur. */
static gboolean
continues (VnmUsageRecorder *rec, const VnmUsageSeen *saved, gint ifindex, const VnmUsage *cur)
{
  return saved->ifindex == ifindex && g_str_equal (saved->boot_id, rec->boot_id) &&
         follows (cur, &saved->counters);
}

/* Where a device first read in this run starts (see the header); TRUE
 * when only for now, the saved counters not being read yet. */
static gboolean
starting_point (VnmUsageRecorder *rec, const VnmLink *link, const VnmUsage *cur, VnmUsage *out)
{
  VnmUsageSeen seen;
  VnmUsageStatus status;

  memset (out, 0, sizeof *out);
  vnm_usage_store_status (rec->store, &status);
  if (!status.loaded)
    {
      /* Losing the traffic of the downtime is better than counting the
       * device's whole past again; checked when they are read. */
      *out = *cur;
      return TRUE;
    }
  if (vnm_usage_store_get_seen (rec->store, link->name, &seen))
    {
      if (continues (rec, &seen, link->ifindex, cur))
        *out = seen.counters;
      return FALSE;
    }
  if (rec->generation == 0 && status.fresh)
    *out = *cur;
  return FALSE;
}

/* The saved counters were read late: a device started for now continues
 * from them when they are its own, the traffic in between counting at its
 * next reading. */
static void
store_loaded (VnmUsageStore *store, gpointer user_data)
{
  VnmUsageRecorder *rec = user_data;
  GHashTableIter it;
  gpointer value;

  g_hash_table_iter_init (&it, rec->tracks);
  while (g_hash_table_iter_next (&it, NULL, &value))
    {
      Track *t = value;
      VnmUsageSeen seen;

      if (!t->provisional)
        continue;
      t->provisional = FALSE;
      if (vnm_usage_store_get_seen (rec->store, t->name, &seen) &&
          continues (rec, &seen, t->ifindex, &t->start))
        {
          VnmUsage d;
          delta (&seen.counters, &t->start, &d);
          usage_add (&t->extra, &d);
          g_debug ("Usage of %s (ifindex %d) also counts rx %" G_GUINT64_FORMAT " tx %" G_GUINT64_FORMAT
                   " bytes from before its first reading.", t->name, t->ifindex, d.rx_bytes, d.tx_bytes);
        }
      set_seen (rec, t->name, t->ifindex, &t->last);
    }
}

/* Counts @link's increase up to @cur when it belongs to a VM. */
static void
count (VnmUsageRecorder *rec, VnmLinkTable *links, const VnmLink *link, Track *t,
       const VnmUsage *cur, gint64 now)
{
  VnmLinkOwner owner;
  VnmUsage d, guest;

  vnm_link_table_owner (links, link, &owner);
  if (!owner.domain)
    return;             /* its starting point waits for a VM */
  delta (&t->last, cur, &d);
  usage_add (&d, &t->extra);
  memset (&t->extra, 0, sizeof t->extra);
  t->last = *cur;
  guest = d;
  if (owner.guest_view && !vnm_link_kind_counts_as_guest (link->kind))
    {
      guest.rx_bytes = d.tx_bytes;
      guest.tx_bytes = d.rx_bytes;
      guest.rx_packets = d.tx_packets;
      guest.tx_packets = d.rx_packets;
    }
  vnm_usage_store_add (rec->store, owner.domain->uuid, owner.domain->name, link->name, now, &guest);
  /* Not over the saved counters before they are read. */
  if (!t->provisional)
    set_seen (rec, link->name, link->ifindex, cur);
}

static Track *
track (VnmUsageRecorder *rec, const VnmLink *link, const VnmUsage *cur)
{
  Track *t = g_hash_table_lookup (rec->tracks, GINT_TO_POINTER (link->ifindex));

  if (!t)
    {
      t = g_new0 (Track, 1);
      t->ifindex = link->ifindex;
      t->provisional = starting_point (rec, link, cur, &t->last);
      t->start = t->last;
      /* Every device's, so that the first write has them all. */
      if (!t->provisional)
        set_seen (rec, link->name, link->ifindex, &t->last);
      g_debug ("Usage of %s (ifindex %d) counts from rx %" G_GUINT64_FORMAT " tx %" G_GUINT64_FORMAT
               " bytes (host's view).", link->name, link->ifindex, t->last.rx_bytes, t->last.tx_bytes);
      g_hash_table_insert (rec->tracks, GINT_TO_POINTER (link->ifindex), t);
    }
  /* Renamed: the same device (one ifindex) goes on. */
  g_strlcpy (t->name, link->name, sizeof t->name);
  return t;
}

void
vnm_usage_recorder_feed (VnmUsageRecorder *rec, VnmLinkTable *links, gint64 now)
{
  GHashTableIter it;
  gpointer value;

  for (guint i = 0; i < vnm_link_table_size (links); i++)
    {
      const VnmLink *link = vnm_link_table_index (links, i);
      VnmUsage cur;
      Track *t;

      host_usage (link, &cur);
      t = track (rec, link, &cur);
      t->generation = rec->generation + 1;
      count (rec, links, link, t, &cur, now);
    }
  if (rec->generation++ == 0)
    vnm_usage_store_baseline_taken (rec->store);
  g_hash_table_iter_init (&it, rec->tracks);
  while (g_hash_table_iter_next (&it, NULL, &value))
    if (((Track *) value)->generation != rec->generation)
      g_hash_table_iter_remove (&it);
}

void
vnm_usage_recorder_link_gone (VnmUsageRecorder *rec, VnmLinkTable *links, const VnmLink *link,
                              gint64 now)
{
  Track *t = g_hash_table_lookup (rec->tracks, GINT_TO_POINTER (link->ifindex));
  const VnmLink *known = vnm_link_table_lookup_ifindex (links, link->ifindex);
  VnmUsage cur;

  /* Only a word with statistics that are not behind the last reading. */
  host_usage (link, &cur);
  if (t && known && g_str_equal (known->name, link->name) && follows (&cur, &t->last))
    count (rec, links, known, t, &cur, now);
  g_hash_table_remove (rec->tracks, GINT_TO_POINTER (link->ifindex));
}
