/* history.c: two rings per series — seconds, then minutes — of compressed
 * blocks (history-codec.c). The minute being filled, the seconds of the
 * current minute and the minutes of the current coarse block are kept as
 * floats until their block is complete (the "unfinished parts", an Open,
 * held once by the series that record the same calls: a VM with one
 * interface records that interface's values); then they are encoded, and
 * a block whose content was sealed in the last two minutes (by another
 * series) is shared with it. */
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

/* The open minute's finished seconds (slot = second % 60). */
typedef struct {
  gfloat v[60][M];
  guint64 present;
  gint64 minute;
} FineOpen;

/* A call of vnm_history_record. */
typedef struct {
  gdouble now_s, dt_s;
  gdouble values[M];
} Call;

typedef struct _Series Series;

/* A series' unfinished parts: everything not yet in a block. Series that
 * recorded the same calls since their parts were last the same (a VM and
 * its only interface) hold one Open between them, its "sharers".
 *
 * A call is not applied at once: the first sharer to make it leaves it
 * pending (and "done" for itself), the others who make the very same call
 * mark themselves done, and it is applied once for all when it must be (a
 * sharer's next call, a query). A sharer whose call differs, or who calls
 * again before the others made the pending one, leaves with a copy of the
 * parts as they are for it; a series that makes the same call as a pending
 * one, with the same parts before it, joins. So the parts stay shared only
 * while they are the same, whatever the order of the calls. */
typedef struct {
  Call call;                /* first: the key of the table of pending calls */
  gboolean pending;
  Series *sharers;          /* through Series.next */
  guint n_sharers, n_done;
  /* Allocated with the first second, freed once a lone series has been
   * silent for longer than it covers (a gone interface keeps its minutes
   * only). */
  FineOpen *fine;
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
  Row *rows;
  guint rows_cap;
  guint64 rows_present;
  gint64 rows_block;
} Open;

struct _Series {
  Open *open;
  Series *next;             /* the next sharer of @open */
  gboolean done;            /* made @open's pending call */
  gint64 last_s;
  /* Sealed minutes of seconds: slot = minute % FINE_BLOCKS, valid when its
   * start matches; allocated with the first, freed when quiet. */
  VnmHistoryBlock **fine;
  /* Sealed coarse blocks: slot = block % COARSE_BLOCKS, valid when its
   * start matches; allocated with the first; @coarse_newest is the last
   * one sealed. */
  VnmHistoryBlock **coarse;
  gint64 coarse_newest;
};

/* A block sealed lately, in the cache of recent blocks. */
typedef struct {
  VnmHistoryBlock *block;
  gint64 minute;            /* when it was sealed */
} Recent;

struct _VnmHistory {
  GHashTable *series;       /* name -> Series* */
  GHashTable *pending;      /* Call* (of an Open with a pending call) -> itself */
  /* Blocks sealed in the last two minutes, by content (series whose blocks
   * are the same seal them in the same refresh), each holding a reference;
   * and the same in the order they came, to let them go. */
  GHashTable *recent;
  GQueue recent_order;      /* of Recent */
  gint64 clock;             /* the latest minute a block was sealed in */
  gsize block_bytes;        /* every block held, once */
};

/* ---- blocks ---- */

static void
release (VnmHistory *h, VnmHistoryBlock *b)
{
  if (!b)
    return;
  if (vnm_history_block_refs (b) == 1)
    h->block_bytes -= vnm_history_block_memory (b);
  vnm_history_block_unref (b);
}

/* Lets go of recent blocks sealed more than two minutes before the latest,
 * and of the oldest when there are more than the series could have sealed
 * since (so that the cache stays small whatever the clocks do). */
static void
recent_trim (VnmHistory *h)
{
  guint cap = 3 * g_hash_table_size (h->series) + 16;
  Recent *r;

  while ((r = g_queue_peek_head (&h->recent_order))
         && (r->minute + 2 < h->clock || h->recent_order.length > cap))
    {
      g_queue_pop_head (&h->recent_order);
      if (g_hash_table_lookup (h->recent, r->block) == r->block)
        g_hash_table_remove (h->recent, r->block);
      release (h, r->block);
      g_free (r);
    }
}

/* Encodes a block, or finds the same one sealed lately: a reference. */
static VnmHistoryBlock *
seal_block (VnmHistory *h, gint64 now_minute, gint64 start, guint64 present, guint n_fields,
            const gfloat *values)
{
  gboolean found;
  VnmHistoryBlock *b = vnm_history_block_encode_shared (h->recent, start, present, M, n_fields,
                                                        values, &found);

  if (!found)
    {
      Recent *r = g_new (Recent, 1);

      h->block_bytes += vnm_history_block_memory (b);
      r->block = vnm_history_block_ref (b);
      r->minute = now_minute;
      g_hash_table_add (h->recent, b);
      g_queue_push_tail (&h->recent_order, r);
      h->clock = MAX (h->clock, now_minute);
      recent_trim (h);
    }
  return b;
}

/* Stores @b (a reference) in @ring's slot for its start. */
static void
store (VnmHistory *h, VnmHistoryBlock **ring, guint n_slots, VnmHistoryBlock *b)
{
  guint slot = vnm_history_block_start (b) % n_slots;

  release (h, ring[slot]);
  ring[slot] = b;
}

/* ---- the unfinished parts ---- */

static guint
call_hash (gconstpointer p)
{
  const guint32 *w = p;
  guint32 x = 2166136261u;

  G_STATIC_ASSERT (sizeof (Call) % 4 == 0);
  for (guint i = 0; i < sizeof (Call) / 4; i++)
    x = (x ^ w[i]) * 16777619u;
  return x;
}

static gboolean
call_equal (gconstpointer a, gconstpointer b)
{
  return memcmp (a, b, sizeof (Call)) == 0;
}

static Open *
open_new (void)
{
  return g_new0 (Open, 1);
}

static void
open_unpend (VnmHistory *h, Open *o)
{
  gpointer held;

  if (!o->pending)
    return;
  if (g_hash_table_lookup_extended (h->pending, &o->call, &held, NULL) && held == &o->call)
    g_hash_table_remove (h->pending, &o->call);
  o->pending = FALSE;
  o->n_done = 0;
  for (Series *s = o->sharers; s; s = s->next)
    s->done = FALSE;
}

static void
open_free (VnmHistory *h, Open *o)
{
  open_unpend (h, o);
  g_free (o->fine);
  g_free (o->rows);
  g_free (o);
}

static void
open_add (Open *o, Series *s)
{
  s->open = o;
  s->next = o->sharers;
  o->sharers = s;
  o->n_sharers++;
}

/* (A pending call that no sharer made any more is dropped: the parts
 * before it are everyone's.) */
static void
open_remove (VnmHistory *h, Open *o, Series *s)
{
  for (Series **p = &o->sharers; *p; p = &(*p)->next)
    if (*p == s)
      {
        *p = s->next;
        break;
      }
  o->n_sharers--;
  if (s->done)
    o->n_done--;
  s->next = NULL;
  s->done = FALSE;
  s->open = NULL;
  if (o->pending && o->n_done == 0)
    open_unpend (h, o);
}

/* A copy of @o's parts (not its sharers, not its pending call). */
static Open *
open_copy (const Open *o)
{
  Open *c = g_memdup2 (o, sizeof *o);

  c->pending = FALSE;
  c->sharers = NULL;
  c->n_sharers = c->n_done = 0;
  c->fine = o->fine ? g_memdup2 (o->fine, sizeof *o->fine) : NULL;
  c->rows = o->rows ? g_memdup2 (o->rows, o->rows_cap * sizeof (Row)) : NULL;
  return c;
}

/* Whether @a's and @b's parts are the same: whatever they would record
 * and answer from now on is. */
static gboolean
open_same (const Open *a, const Open *b)
{
  guint64 fa = a->fine ? a->fine->present : 0, fb = b->fine ? b->fine->present : 0;

  if (a->covered_to != b->covered_to || a->cur_open != b->cur_open || a->acc_n != b->acc_n
      || a->rows_present != b->rows_present || fa != fb)
    return FALSE;
  if (a->cur_open
      && (a->cur_second != b->cur_second || a->cur_cover != b->cur_cover
          || memcmp (a->cur_sum, b->cur_sum, sizeof a->cur_sum) != 0))
    return FALSE;
  if (a->acc_n
      && (a->acc_minute != b->acc_minute || memcmp (a->acc_sum, b->acc_sum, sizeof a->acc_sum) != 0
          || memcmp (a->acc_min, b->acc_min, sizeof a->acc_min) != 0
          || memcmp (a->acc_max, b->acc_max, sizeof a->acc_max) != 0))
    return FALSE;
  if (fa)
    {
      if (a->fine->minute != b->fine->minute)
        return FALSE;
      for (guint i = 0; i < 60; i++)
        if ((fa & (G_GUINT64_CONSTANT (1) << i))
            && memcmp (a->fine->v[i], b->fine->v[i], sizeof a->fine->v[i]) != 0)
          return FALSE;
    }
  if (a->rows_present)
    {
      if (a->rows_block != b->rows_block)
        return FALSE;
      for (guint i = 0; i < COARSE_BLOCK; i++)
        if ((a->rows_present & (G_GUINT64_CONSTANT (1) << i))
            && memcmp (&a->rows[i], &b->rows[i], sizeof (Row)) != 0)
          return FALSE;
    }
  return TRUE;
}

static void
seal_fine (VnmHistory *h, Open *o, gint64 now_minute)
{
  FineOpen *f = o->fine;
  gfloat packed[60 * M];
  guint k = 0;
  VnmHistoryBlock *b;

  for (guint i = 0; i < 60; i++)
    if (f->present & (G_GUINT64_CONSTANT (1) << i))
      memcpy (&packed[M * k++], f->v[i], sizeof f->v[i]);
  b = seal_block (h, now_minute, f->minute, f->present, 1, packed);
  for (Series *s = o->sharers; s; s = s->next)
    {
      if (!s->fine)
        s->fine = g_new0 (VnmHistoryBlock *, FINE_BLOCKS);
      store (h, s->fine, FINE_BLOCKS, vnm_history_block_ref (b));
    }
  release (h, b);
  f->present = 0;
}

static void
seal_coarse (VnmHistory *h, Open *o, gint64 now_minute)
{
  Row packed[COARSE_BLOCK];
  guint k = 0;
  VnmHistoryBlock *b;

  for (guint i = 0; i < COARSE_BLOCK; i++)
    if (o->rows_present & (G_GUINT64_CONSTANT (1) << i))
      packed[k++] = o->rows[i];
  b = seal_block (h, now_minute, o->rows_block, o->rows_present, 3, &packed[0].v[0][0]);
  for (Series *s = o->sharers; s; s = s->next)
    {
      if (!s->coarse)
        s->coarse = g_new0 (VnmHistoryBlock *, COARSE_BLOCKS);
      store (h, s->coarse, COARSE_BLOCKS, vnm_history_block_ref (b));
      s->coarse_newest = o->rows_block;
    }
  release (h, b);
  o->rows_present = 0;
}

static void
push_minute (VnmHistory *h, Open *o, gint64 now_minute)
{
  gint64 block = o->acc_minute / COARSE_BLOCK;
  guint row = o->acc_minute % COARSE_BLOCK;
  Row *r;

  if (o->rows_present && block != o->rows_block)
    seal_coarse (h, o, now_minute);
  o->rows_block = block;
  if (row >= o->rows_cap)
    {
      o->rows_cap = MIN (COARSE_BLOCK, MAX (row + 1, 2 * o->rows_cap));
      o->rows = g_renew (Row, o->rows, o->rows_cap);
    }
  r = &o->rows[row];
  for (guint i = 0; i < M; i++)
    {
      r->v[i][0] = o->acc_min[i];
      r->v[i][1] = o->acc_sum[i] / o->acc_n;
      r->v[i][2] = o->acc_max[i];
    }
  o->rows_present |= G_GUINT64_CONSTANT (1) << row;
}

/* A finished second goes into the seconds ring and its minute. */
static void
finish_second (VnmHistory *h, Open *o, gint64 second, const gdouble *v)
{
  gint64 minute = second / 60;
  FineOpen *f = o->fine;

  if (!f)
    f = o->fine = g_new0 (FineOpen, 1);
  if (f->present && minute != f->minute)
    seal_fine (h, o, minute);
  f->minute = minute;
  for (guint i = 0; i < M; i++)
    f->v[second % 60][i] = v[i];
  f->present |= G_GUINT64_CONSTANT (1) << (second % 60);

  if (o->acc_n && minute != o->acc_minute)
    {
      push_minute (h, o, minute);
      o->acc_n = 0;
    }
  o->acc_minute = minute;
  for (guint i = 0; i < M; i++)
    {
      if (o->acc_n == 0)
        {
          o->acc_sum[i] = 0;
          o->acc_min[i] = o->acc_max[i] = v[i];
        }
      o->acc_sum[i] += v[i];
      o->acc_min[i] = MIN (o->acc_min[i], v[i]);
      o->acc_max[i] = MAX (o->acc_max[i], v[i]);
    }
  o->acc_n++;
}

/* Where the time a call covers begins: nothing when at least @now_s. */
static gdouble
call_from (const Open *o, const Call *c)
{
  gdouble t = MAX (c->now_s - c->dt_s, c->now_s - FINE);

  if (o->covered_to > 0)
    t = MAX (t, o->covered_to);
  return t;
}

/* Applies @c to @o's parts (blocks sealed go to every sharer). */
static void
apply (VnmHistory *h, Open *o, const Call *c)
{
  gdouble now_s = c->now_s;
  gdouble t = call_from (o, c);

  if (t >= now_s)
    return;
  while (t < now_s)
    {
      gint64 second = (gint64) t;
      gdouble end = MIN ((gdouble) (second + 1), now_s);
      gdouble w = end - t;

      if (o->cur_open && second != o->cur_second)
        {
          gdouble mean[M];
          for (guint i = 0; i < M; i++)
            mean[i] = o->cur_sum[i] / o->cur_cover;
          finish_second (h, o, o->cur_second, mean);
          o->cur_open = FALSE;
        }
      if (!o->cur_open)
        {
          o->cur_second = second;
          o->cur_cover = 0;
          for (guint i = 0; i < M; i++)
            o->cur_sum[i] = 0;
          o->cur_open = TRUE;
        }
      for (guint i = 0; i < M; i++)
        o->cur_sum[i] += c->values[i] * w;
      o->cur_cover += w;
      t = end;
    }
  o->covered_to = now_s;
}

/* Applies @o's pending call, which every sharer made. */
static void
settle (VnmHistory *h, Open *o)
{
  Call c;

  if (!o->pending)
    return;
  c = o->call;
  open_unpend (h, o);
  apply (h, o, &c);
}

/* @s leaves its sharers with a copy of the parts as they are for it. */
static void
leave (VnmHistory *h, Series *s)
{
  Open *o = s->open;
  gboolean done = s->done;
  Open *c;

  if (o->n_sharers == 1)
    {
      if (done)
        settle (h, o);
      else
        open_unpend (h, o);
      return;
    }
  c = open_copy (o);
  open_remove (h, o, s);
  open_add (c, s);
  if (done)
    apply (h, c, &o->call);
}

/* Makes @s's parts its own to read: its pending call applied, if any. */
static void
bring_up_to_date (VnmHistory *h, Series *s)
{
  Open *o = s->open;

  if (!o->pending || !s->done)
    return;        /* (the parts before the pending call are @s's) */
  if (o->n_done == o->n_sharers)
    settle (h, o);
  else
    leave (h, s);
}

static void
series_free (VnmHistory *h, Series *s)
{
  Open *o = s->open;

  open_remove (h, o, s);
  if (o->n_sharers == 0)
    open_free (h, o);
  if (s->fine)
    for (guint i = 0; i < FINE_BLOCKS; i++)
      release (h, s->fine[i]);
  g_free (s->fine);
  if (s->coarse)
    for (guint i = 0; i < COARSE_BLOCKS; i++)
      release (h, s->coarse[i]);
  g_free (s->coarse);
  g_free (s);
}

VnmHistory *
vnm_history_new (void)
{
  VnmHistory *h = g_new0 (VnmHistory, 1);

  h->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  h->pending = g_hash_table_new (call_hash, call_equal);
  h->recent = g_hash_table_new (vnm_history_block_hash, vnm_history_block_equal);
  g_queue_init (&h->recent_order);
  return h;
}

void
vnm_history_free (VnmHistory *h)
{
  GHashTableIter it;
  Series *s;
  Recent *r;

  if (!h)
    return;
  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    series_free (h, s);
  while ((r = g_queue_pop_head (&h->recent_order)))
    {
      release (h, r->block);
      g_free (r);
    }
  g_assert (h->block_bytes == 0);
  g_assert (g_hash_table_size (h->pending) == 0);
  g_hash_table_unref (h->series);
  g_hash_table_unref (h->pending);
  g_hash_table_unref (h->recent);
  g_free (h);
}

void
vnm_history_record (VnmHistory *h, const gchar *name, gdouble now_s, gdouble dt_s,
                    const gdouble values[M])
{
  Series *s = g_hash_table_lookup (h->series, name);
  Call c = { now_s, dt_s, { 0 } };
  Open *o, *other;

  /* (Blocks number their minutes in 32 bits: times past the year 10000
   * are refused as the negative ones are.) */
  if (now_s < 0 || dt_s < 0 || now_s > 2.5e11)
    return;
  memcpy (c.values, values, sizeof c.values);
  if (!s)
    {
      s = g_new0 (Series, 1);
      open_add (open_new (), s);
      g_hash_table_insert (h->series, g_strdup (name), s);
    }
  o = s->open;
  if (o->pending && !s->done && call_equal (&o->call, &c))
    {
      /* The call the others made: still the same parts. */
      if (call_from (o, &c) >= now_s)
        return;
      s->done = TRUE;
      o->n_done++;
      s->last_s = (gint64) now_s;
      return;
    }
  if (o->pending)
    {
      if (s->done && o->n_done == o->n_sharers)
        settle (h, o);
      else
        leave (h, s);
      o = s->open;
    }
  if (call_from (o, &c) >= now_s)
    return;
  s->last_s = (gint64) now_s;
  /* A lone series whose parts are those of one that made this very call
   * joins it. */
  if (o->n_sharers == 1 && (other = g_hash_table_lookup (h->pending, &c)) && other != o
      && open_same (o, other))
    {
      open_remove (h, o, s);
      open_free (h, o);
      open_add (other, s);
      s->done = TRUE;
      other->n_done++;
      return;
    }
  o->call = c;
  o->pending = TRUE;
  o->n_done = 1;
  s->done = TRUE;
  if (!g_hash_table_contains (h->pending, &o->call))
    g_hash_table_add (h->pending, &o->call);
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
  const Open *o = s->open;
  const FineOpen *f = o->fine;
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
      else if ((b = ring_block (s->fine, FINE_BLOCKS, minute)))
        present = decode_slots (b, metric, vals);
      for (gint64 sec = MAX (first, minute * 60); sec <= MIN (now_s, minute * 60 + 59); sec++)
        {
          if (present & (G_GUINT64_CONSTANT (1) << (sec % 60)))
            add_point (out, sec, vals[sec % 60], vals[sec % 60], vals[sec % 60]);
          else if (o->cur_open && sec == o->cur_second && o->cur_cover > 0)
            {
              gdouble v = o->cur_sum[metric] / o->cur_cover;
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
  const Open *o = s->open;

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
    if (o->rows_present & (G_GUINT64_CONSTANT (1) << i))
      add_minute (out, o->rows_block * COARSE_BLOCK + i, from, now_s, o->rows[i].v[metric][0],
                  o->rows[i].v[metric][1], o->rows[i].v[metric][2]);
  if (o->acc_n)
    add_minute (out, o->acc_minute, from, G_MAXINT64, o->acc_min[metric],
                o->acc_sum[metric] / o->acc_n, o->acc_max[metric]);
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
  bring_up_to_date (h, s);
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
      else if (now_s - s->last_s > FINE)
        {
          /* Quiet: the seconds go, the minutes stay. */
          if (s->fine)
            for (guint i = 0; i < FINE_BLOCKS; i++)
              release (h, s->fine[i]);
          g_clear_pointer (&s->fine, g_free);
          if (s->open->n_sharers == 1 && s->open->fine)
            {
              settle (h, s->open);
              g_clear_pointer (&s->open->fine, g_free);
            }
        }
    }
  h->clock = MAX (h->clock, now_s / 60);
  recent_trim (h);
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
  /* Each block counts once; the caches of pending calls and recent blocks
   * count their entries. */
  gsize total = h->block_bytes
                + (g_hash_table_size (h->recent) + g_hash_table_size (h->pending)) * 2 * sizeof (gpointer)
                + h->recent_order.length * (sizeof (Recent) + sizeof (GList));

  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    {
      const Open *o = s->open;

      total += sizeof *s + (s->coarse ? COARSE_BLOCKS * sizeof (gpointer) : 0)
               + (s->fine ? FINE_BLOCKS * sizeof (gpointer) : 0);
      /* Shared parts count once, with their first sharer. */
      if (o->sharers == s)
        total += sizeof *o + (o->fine ? sizeof (FineOpen) : 0) + o->rows_cap * sizeof (Row);
    }
  return total;
}
