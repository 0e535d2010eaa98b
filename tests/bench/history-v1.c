/* history-v1.c: the rate history as it was before issue 24 (two rings of
 * gfloat per series, every VM series its own copy), kept for bench-history
 * to compare with; not part of the daemon. A copy of src/daemon/history.c
 * at 51ae16c with its functions renamed vnm_history_v1_*. */
#include "config.h"

#include <string.h>

#include "history-v1.h"

#define FINE VNM_HISTORY_FINE_SECONDS
#define COARSE VNM_HISTORY_COARSE_MINUTES
#define M VNM_N_METRICS

typedef struct {
  gint64 minute;
  gfloat min[M], avg[M], max[M];
} Minute;

/* 1-second ring: slot = second % FINE, valid when its stamp matches. */
typedef struct {
  gfloat v[FINE][M];
  gint64 stamp[FINE];
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
  /* 1-minute ring, grown up to COARSE entries, then overwritten. */
  Minute *coarse;
  guint coarse_cap, coarse_len, coarse_head;
  gint64 last_s;
} Series;

struct _VnmHistoryV1 {
  GHashTable *series;  /* name -> Series* */
};

static void
series_free (Series *s)
{
  g_free (s->fine);
  g_free (s->coarse);
  g_free (s);
}

VnmHistoryV1 *
vnm_history_v1_new (void)
{
  VnmHistoryV1 *h = g_new0 (VnmHistoryV1, 1);

  h->series = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) series_free);
  return h;
}

void
vnm_history_v1_free (VnmHistoryV1 *h)
{
  if (!h)
    return;
  g_hash_table_unref (h->series);
  g_free (h);
}

static void
push_minute (Series *s)
{
  Minute *m;

  if (s->coarse_len < COARSE)
    {
      if (s->coarse_len == s->coarse_cap)
        {
          s->coarse_cap = MIN (COARSE, MAX (16, s->coarse_cap * 2));
          s->coarse = g_renew (Minute, s->coarse, s->coarse_cap);
        }
      m = &s->coarse[s->coarse_len++];
    }
  else
    {
      m = &s->coarse[s->coarse_head];
      s->coarse_head = (s->coarse_head + 1) % COARSE;
    }
  m->minute = s->acc_minute;
  for (guint i = 0; i < M; i++)
    {
      m->min[i] = s->acc_min[i];
      m->max[i] = s->acc_max[i];
      m->avg[i] = s->acc_sum[i] / s->acc_n;
    }
}

/* A finished second goes into the seconds ring and its minute. */
static void
finish_second (Series *s, gint64 second, const gdouble *v)
{
  guint slot = second % FINE;
  gint64 minute = second / 60;

  if (!s->fine)
    {
      s->fine = g_new (Fine, 1);
      for (guint i = 0; i < FINE; i++)
        s->fine->stamp[i] = -1;
    }
  for (guint i = 0; i < M; i++)
    s->fine->v[slot][i] = v[i];
  s->fine->stamp[slot] = second;

  if (s->acc_n && minute != s->acc_minute)
    {
      push_minute (s);
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
vnm_history_v1_record (VnmHistoryV1 *h, const gchar *name, gdouble now_s, gdouble dt_s,
                    const gdouble values[M])
{
  Series *s = g_hash_table_lookup (h->series, name);
  gdouble t;

  if (now_s < 0 || dt_s < 0)
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
          finish_second (s, s->cur_second, mean);
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

GArray *
vnm_history_v1_query (VnmHistoryV1 *h, const gchar *name, VnmMetric metric, gint64 since_s,
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
      for (gint64 sec = MAX (from + 1, 0); sec <= now_s; sec++)
        {
          guint slot = sec % FINE;
          if (s->fine && s->fine->stamp[slot] == sec)
            {
              gdouble v = s->fine->v[slot][metric];
              add_point (out, sec, v, v, v);
            }
          else if (s->cur_open && sec == s->cur_second && s->cur_cover > 0)
            {
              gdouble v = s->cur_sum[metric] / s->cur_cover;
              add_point (out, sec, v, v, v);
            }
        }
      return out;
    }

  *resolution_s = 60;
  for (guint k = 0; k < s->coarse_len; k++)
    {
      const Minute *m = &s->coarse[s->coarse_len < COARSE ? k : (s->coarse_head + k) % COARSE];
      if (m->minute * 60 + 60 > from && m->minute * 60 <= now_s)
        add_point (out, m->minute * 60, m->min[metric], m->avg[metric], m->max[metric]);
    }
  if (s->acc_n && s->acc_minute * 60 + 60 > from)
    add_point (out, s->acc_minute * 60, s->acc_min[metric], s->acc_sum[metric] / s->acc_n,
               s->acc_max[metric]);
  return out;
}

void
vnm_history_v1_expire (VnmHistoryV1 *h, gint64 now_s)
{
  GHashTableIter it;
  Series *s;

  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    {
      if (now_s - s->last_s > (gint64) COARSE * 60)
        g_hash_table_iter_remove (&it);
      else if (s->fine && now_s - s->last_s > FINE)
        g_clear_pointer (&s->fine, g_free);
    }
}

gboolean
vnm_history_v1_has_series (VnmHistoryV1 *h, const gchar *name)
{
  return g_hash_table_contains (h->series, name);
}

guint
vnm_history_v1_n_series (VnmHistoryV1 *h)
{
  return g_hash_table_size (h->series);
}

gsize
vnm_history_v1_memory (VnmHistoryV1 *h)
{
  GHashTableIter it;
  Series *s;
  gsize total = 0;

  g_hash_table_iter_init (&it, h->series);
  while (g_hash_table_iter_next (&it, NULL, (gpointer *) &s))
    total += sizeof *s + (s->fine ? sizeof (Fine) : 0) + s->coarse_cap * sizeof (Minute);
  return total;
}
