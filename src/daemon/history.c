/* history.c: two rings per series — seconds, then minutes — of compressed
 * blocks (history-codec.c). The minute being filled, the seconds of the
 * current minute and the minutes of the current coarse block are kept as
 * floats until their block is complete; then they are encoded, and a block
 * whose content another series already has is shared with it (a VM with
 * one interface records the same values as that interface). */
#include "config.h"

#include <string.h>

#include "history.h"
#include "history-codec.h"
#include "vnm-names.h"

#define FINE VNM_HISTORY_FINE_SECONDS
#define COARSE VNM_HISTORY_COARSE_MINUTES
#define M VNM_N_METRICS
/* The seconds ring: sealed minutes (a block each) behind the open one. */
#define FINE_BLOCKS (FINE / 60)
/* The minutes ring: blocks of COARSE_BLOCK minutes behind the open one. */
#define COARSE_BLOCK 30
#define COARSE_BLOCKS (COARSE / COARSE_BLOCK)

G_STATIC_ASSERT (FINE % 60 == 0);
G_STATIC_ASSERT (COARSE % COARSE_BLOCK == 0);
G_STATIC_ASSERT (COARSE_BLOCK <= VNM_HISTORY_BLOCK_SLOTS);

static const gchar *const metric_names[] = { VNM_HISTORY_METRIC_NAMES, NULL };
G_STATIC_ASSERT (G_N_ELEMENTS (metric_names) == M + 1);

gboolean
vnm_metric_from_name (const gchar *name, VnmMetric *metric, gdouble *scale)
{
  for (guint i = 0; i < M; i++)
    if (g_str_equal (name, metric_names[i]))
      {
        *metric = i;
        *scale = i <= VNM_METRIC_TX_BYTES_PS ? 8e-6 : 1.0;
        return TRUE;
      }
  return FALSE;
}

const gchar *const *
vnm_metric_names (void)
{
  return metric_names;
}

/* A minute's min, avg and max of each metric, as the codec takes them. */
typedef struct {
  gfloat v[M][3];
} Row;

typedef struct {
  /* The open minute's finished seconds (slot = second % 60). */
  gfloat v[60][M];
  guint64 present;
  gint64 minute;
  /* Sealed minutes: slot = minute % FINE_BLOCKS, valid when its start
   * matches; @newest is the last one sealed. */
  VnmHistoryBlock *ring[FINE_BLOCKS];
  gint64 newest;
} Fine;

typedef struct {
  /* Allocated with the first second, freed once a series has been silent
   * for longer than it covers (a gone interface keeps its minutes only). */
  Fine *fine;
  /* The second being filled, not yet in the ring: rate x time, and how
   * much of the second samples covered. */
  gint64 cur_second;
  gdouble cur_sum[M];
  gdouble cur_cover;
  gboolean cur_open;
  gdouble covered_to;     /* samples cover time up to here */
  /* The minute being filled from finished seconds. */
  gint64 acc_minute;
  gdouble acc_sum[M], acc_min[M], acc_max[M];
  guint acc_n;
  /* The open coarse block's finished minutes (row = minute % COARSE_BLOCK),
   * grown as they come. */
  Row *open;
  guint open_cap;
  guint64 open_present;
  gint64 open_block;
  /* Sealed coarse blocks: slot = block % COARSE_BLOCKS, valid when its
   * start matches; allocated with the first. */
  VnmHistoryBlock **coarse;
  gint64 coarse_newest;
  gint64 last_s;
} Series;

struct _VnmHistory {
  GHashTable *series;  /* name -> Series* */
  GHashTable *blocks;  /* every block held, once: shared by content */
  gsize block_bytes;
};

/* A new block, or the same one another series holds already. */
static VnmHistoryBlock *
intern (VnmHistory *h, VnmHistoryBlock *b)
{
  VnmHistoryBlock *held = g_hash_table_lookup (h->blocks, b);

  if (held)
    {
      vnm_history_block_unref (b);
      return vnm_history_block_ref (held);
    }
  g_hash_table_add (h->blocks, b);
  h->block_bytes += vnm_history_block_memory (b);
  return b;
}

static void
release (VnmHistory *h, VnmHistoryBlock *b)
{
  if (!b)
    return;
  if (vnm_history_block_refs (b) == 1)
    {
      g_hash_table_remove (h->blocks, b);
      h->block_bytes -= vnm_history_block_memory (b);
    }
  vnm_history_block_unref (b);
}

static void
fine_free (VnmHistory *h, Fine *f)
{
  for (guint i = 0; i < FINE_BLOCKS; i++)
    release (h, f->ring[i]);
  g_free (f);
}

static void
series_free (VnmHistory *h, Series *s)
{
  if (s->fine)
    fine_free (h, s->fine);
  if (s->coarse)
    for (guint i = 0; i < COARSE_BLOCKS; i++)
      release (h, s->coarse[i]);
  g_free (s->coarse);
  g_free (s->open);
  g_free (s);
}

VnmHistory *
vnm_history_new (void)
{
  VnmHistory *h = g_new0 (VnmHistory, 1);

  h->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  h->blocks = g_hash_table_new (vnm_history_block_hash, vnm_history_block_equal);
  return h;
}

void
vnm_history_free (VnmHistory *h)
{
  GHashTableIter it;
  Series *s;

  if (!h)
    return;
  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    series_free (h, s);
  g_hash_table_unref (h->series);
  g_assert (g_hash_table_size (h->blocks) == 0);
  g_hash_table_unref (h->blocks);
  g_free (h);
}

/* Stores @b (a reference) in @ring's slot for its start. */
static void
store (VnmHistory *h, VnmHistoryBlock **ring, guint n_slots, VnmHistoryBlock *b)
{
  guint slot = vnm_history_block_start (b) % n_slots;

  release (h, ring[slot]);
  ring[slot] = intern (h, b);
}

static void
seal_fine (VnmHistory *h, Fine *f)
{
  gfloat packed[60 * M];
  guint k = 0;

  for (guint i = 0; i < 60; i++)
    if (f->present & (G_GUINT64_CONSTANT (1) << i))
      memcpy (&packed[M * k++], f->v[i], sizeof f->v[i]);
  store (h, f->ring, FINE_BLOCKS, vnm_history_block_encode (f->minute, f->present, M, 1, packed));
  f->newest = f->minute;
  f->present = 0;
}

static void
seal_coarse (VnmHistory *h, Series *s)
{
  Row packed[COARSE_BLOCK];
  guint k = 0;

  for (guint i = 0; i < COARSE_BLOCK; i++)
    if (s->open_present & (G_GUINT64_CONSTANT (1) << i))
      packed[k++] = s->open[i];
  if (!s->coarse)
    s->coarse = g_new0 (VnmHistoryBlock *, COARSE_BLOCKS);
  store (h, s->coarse, COARSE_BLOCKS,
         vnm_history_block_encode (s->open_block, s->open_present, M, 3,
                                   &packed[0].v[0][0]));
  s->coarse_newest = s->open_block;
  s->open_present = 0;
}

static void
push_minute (VnmHistory *h, Series *s)
{
  gint64 block = s->acc_minute / COARSE_BLOCK;
  guint row = s->acc_minute % COARSE_BLOCK;
  Row *r;

  if (s->open_present && block != s->open_block)
    seal_coarse (h, s);
  s->open_block = block;
  if (row >= s->open_cap)
    {
      s->open_cap = MIN (COARSE_BLOCK, MAX (row + 1, 2 * s->open_cap));
      s->open = g_renew (Row, s->open, s->open_cap);
    }
  r = &s->open[row];
  for (guint i = 0; i < M; i++)
    {
      r->v[i][0] = s->acc_min[i];
      r->v[i][1] = s->acc_sum[i] / s->acc_n;
      r->v[i][2] = s->acc_max[i];
    }
  s->open_present |= G_GUINT64_CONSTANT (1) << row;
}

/* A finished second goes into the seconds ring and its minute. */
static void
finish_second (VnmHistory *h, Series *s, gint64 second, const gdouble *v)
{
  gint64 minute = second / 60;
  Fine *f = s->fine;

  if (!f)
    f = s->fine = g_new0 (Fine, 1);
  if (f->present && minute != f->minute)
    seal_fine (h, f);
  f->minute = minute;
  for (guint i = 0; i < M; i++)
    f->v[second % 60][i] = v[i];
  f->present |= G_GUINT64_CONSTANT (1) << (second % 60);

  if (s->acc_n && minute != s->acc_minute)
    {
      push_minute (h, s);
      s->acc_n = 0;
    }
  s->acc_minute = minute;
  for (guint i = 0; i < M; i++)
    {
      if (s->acc_n == 0)
        {
          s->acc_sum[i] = 0;
          s->acc_min[i] = s->acc_max[i] = v[i];
        }
      s->acc_sum[i] += v[i];
      s->acc_min[i] = MIN (s->acc_min[i], v[i]);
      s->acc_max[i] = MAX (s->acc_max[i], v[i]);
    }
  s->acc_n++;
}

void
vnm_history_record (VnmHistory *h, const gchar *name, gdouble now_s, gdouble dt_s,
                    const gdouble values[M])
{
  Series *s = g_hash_table_lookup (h->series, name);
  gdouble t;

  /* (Blocks number their minutes in 32 bits: times past the year 10000
   * are refused as the negative ones are.) */
  if (now_s < 0 || dt_s < 0 || now_s > 2.5e11)
    return;
  if (!s)
    {
      s = g_new0 (Series, 1);
      g_hash_table_insert (h->series, g_strdup (name), s);
    }
  t = MAX (now_s - dt_s, now_s - FINE);
  if (s->covered_to > 0)
    t = MAX (t, s->covered_to);
  if (t >= now_s)
    return;
  while (t < now_s)
    {
      gint64 second = (gint64) t;
      gdouble end = MIN ((gdouble) (second + 1), now_s);
      gdouble w = end - t;

      if (s->cur_open && second != s->cur_second)
        {
          gdouble mean[M];
          for (guint i = 0; i < M; i++)
            mean[i] = s->cur_sum[i] / s->cur_cover;
          finish_second (h, s, s->cur_second, mean);
          s->cur_open = FALSE;
        }
      if (!s->cur_open)
        {
          s->cur_second = second;
          s->cur_cover = 0;
          for (guint i = 0; i < M; i++)
            s->cur_sum[i] = 0;
          s->cur_open = TRUE;
        }
      for (guint i = 0; i < M; i++)
        s->cur_sum[i] += values[i] * w;
      s->cur_cover += w;
      t = end;
    }
  s->covered_to = now_s;
  s->last_s = (gint64) now_s;
}

static void
add_point (GArray *out, gint64 t, gdouble min, gdouble avg, gdouble max)
{
  VnmHistoryPoint p = { t, min, avg, max };
  g_array_append_val (out, p);
}

/* @block's values of @metric spread over its slots: vals[slot * n_fields +
 * field], and the slots that have data. */
static guint64
decode_slots (const VnmHistoryBlock *block, VnmMetric metric, gdouble *vals)
{
  gdouble packed[VNM_HISTORY_BLOCK_SLOTS * 3];
  guint64 present = vnm_history_block_present (block);
  guint nf = vnm_history_block_n_fields (block), k = 0;

  vnm_history_block_decode (block, metric, packed);
  for (guint i = 0; i < VNM_HISTORY_BLOCK_SLOTS; i++)
    if (present & (G_GUINT64_CONSTANT (1) << i))
      {
        memcpy (&vals[i * nf], &packed[k * nf], nf * sizeof (gdouble));
        k++;
      }
  return present;
}

static VnmHistoryBlock *
ring_block (VnmHistoryBlock **ring, guint n_slots, gint64 start)
{
  VnmHistoryBlock *b = ring ? ring[start % n_slots] : NULL;

  return b && vnm_history_block_start (b) == start ? b : NULL;
}

static void
query_seconds (Series *s, VnmMetric metric, gint64 from, gint64 now_s, GArray *out)
{
  Fine *f = s->fine;
  gint64 first = MAX (from + 1, 0);

  for (gint64 minute = first / 60; minute <= now_s / 60; minute++)
    {
      gdouble vals[60];
      guint64 present = 0;
      VnmHistoryBlock *b;

      if (f && f->present && f->minute == minute)
        {
          present = f->present;
          for (guint i = 0; i < 60; i++)
            vals[i] = f->v[i][metric];
        }
      else if (f && (b = ring_block (f->ring, FINE_BLOCKS, minute)))
        present = decode_slots (b, metric, vals);
      for (gint64 sec = MAX (first, minute * 60); sec <= MIN (now_s, minute * 60 + 59); sec++)
        {
          if (present & (G_GUINT64_CONSTANT (1) << (sec % 60)))
            add_point (out, sec, vals[sec % 60], vals[sec % 60], vals[sec % 60]);
          else if (s->cur_open && sec == s->cur_second && s->cur_cover > 0)
            {
              gdouble v = s->cur_sum[metric] / s->cur_cover;
              add_point (out, sec, v, v, v);
            }
        }
    }
}

static void
add_minute (GArray *out, gint64 minute, gint64 from, gint64 now_s, gdouble min, gdouble avg,
            gdouble max)
{
  if (minute * 60 + 60 > from && minute * 60 <= now_s)
    add_point (out, minute * 60, min, avg, max);
}

static void
query_minutes (Series *s, VnmMetric metric, gint64 from, gint64 now_s, GArray *out)
{
  if (s->coarse)
    for (gint64 block = s->coarse_newest - COARSE_BLOCKS + 1; block <= s->coarse_newest; block++)
      {
        VnmHistoryBlock *b = ring_block (s->coarse, COARSE_BLOCKS, block);
        gdouble vals[COARSE_BLOCK * 3];
        guint64 present;

        if (!b || (block + 1) * COARSE_BLOCK * 60 <= from || block * COARSE_BLOCK * 60 > now_s)
          continue;
        present = decode_slots (b, metric, vals);
        for (guint i = 0; i < COARSE_BLOCK; i++)
          if (present & (G_GUINT64_CONSTANT (1) << i))
            add_minute (out, block * COARSE_BLOCK + i, from, now_s, vals[3 * i], vals[3 * i + 1],
                        vals[3 * i + 2]);
      }
  for (guint i = 0; i < COARSE_BLOCK; i++)
    if (s->open_present & (G_GUINT64_CONSTANT (1) << i))
      add_minute (out, s->open_block * COARSE_BLOCK + i, from, now_s, s->open[i].v[metric][0],
                  s->open[i].v[metric][1], s->open[i].v[metric][2]);
  if (s->acc_n)
    add_minute (out, s->acc_minute, from, G_MAXINT64, s->acc_min[metric],
                s->acc_sum[metric] / s->acc_n, s->acc_max[metric]);
}

GArray *
vnm_history_query (VnmHistory *h, const gchar *name, VnmMetric metric, gint64 since_s,
                   gint64 now_s, guint *resolution_s)
{
  Series *s = g_hash_table_lookup (h->series, name);
  gint64 from = now_s - since_s;
  GArray *out;

  if (!s || metric >= M)
    return NULL;
  out = g_array_new (FALSE, FALSE, sizeof (VnmHistoryPoint));
  if (since_s <= FINE)
    {
      *resolution_s = 1;
      query_seconds (s, metric, from, now_s, out);
    }
  else
    {
      *resolution_s = 60;
      query_minutes (s, metric, from, now_s, out);
    }
  return out;
}

void
vnm_history_expire (VnmHistory *h, gint64 now_s)
{
  GHashTableIter it;
  Series *s;

  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    {
      if (now_s - s->last_s > (gint64) COARSE * 60)
        {
          series_free (h, s);
          g_hash_table_iter_remove (&it);
        }
      else if (s->fine && now_s - s->last_s > FINE)
        {
          fine_free (h, s->fine);
          s->fine = NULL;
        }
    }
}

gboolean
vnm_history_has_series (VnmHistory *h, const gchar *name)
{
  return g_hash_table_contains (h->series, name);
}

guint
vnm_history_n_series (VnmHistory *h)
{
  return g_hash_table_size (h->series);
}

gsize
vnm_history_memory (VnmHistory *h)
{
  GHashTableIter it;
  Series *s;
  /* Each shared block counts once, with its entry in the table of blocks. */
  gsize total = h->block_bytes + g_hash_table_size (h->blocks) * 2 * sizeof (gpointer);

  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    total += sizeof *s + (s->fine ? sizeof (Fine) : 0) + s->open_cap * sizeof (Row)
             + (s->coarse ? COARSE_BLOCKS * sizeof (gpointer) : 0);
  return total;
}
