/* history-codec.c: quantise each metric of a block to steps of its scale,
 * then write each field's run of steps in whichever of three bit codes is
 * shortest for it:
 *   FOR   the smallest step, then every step minus it in a fixed width
 *         (noisy data around a level; width 0 for a constant run);
 *   GAPS  the smallest step, then every step minus it in an exp-Golomb code
 *         of order k (mostly idle with a few bursts);
 *   DELTA the first step, then the zigzagged difference to the one before
 *         in an exp-Golomb code of order k (smooth or slowly moving data).
 * A metric that is zero throughout costs one byte.
 *
 * A minute's min and max may instead be written as their difference from
 * its avg (which comes first), when that is shorter: the spread of a noisy
 * rate around its mean varies less than the rate.
 *
 * Layout of a block's bytes: start (4), shape (1: n_metrics - 1 << 2 |
 * n_fields), the slots present (2: first and count, when they are one run;
 * else 0xff and the 8-byte mask), then per
 * metric a kind byte; a quantised metric adds its scale (float, 4), the bit
 * length of its codes (2) and one code byte per field. The bits follow,
 * metric after metric, most significant bit first. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "history-codec.h"

#define MAX_METRICS VNM_HISTORY_BLOCK_METRICS
#define LEVELS VNM_HISTORY_CODEC_LEVELS
#define MAX_FIELDS 3
#define STEP_BITS 13          /* a zigzagged step or difference, -2 * LEVELS .. 2 * LEVELS */
#define MAX_HEADER (4 + 1 + 1 + 8)

G_STATIC_ASSERT (4 * LEVELS < (1 << STEP_BITS));

enum { KIND_ZERO, KIND_QUANT, KIND_RAW };
enum { CODE_FOR, CODE_GAPS, CODE_DELTA };
#define RELATIVE 0x20         /* in a code byte: the difference from avg */
#define PARAM 0x1f

/* The order fields are written in: a minute's avg before its min and max. */
static const guint field_order[MAX_FIELDS + 1][MAX_FIELDS] = {
  { 0 }, { 0 }, { 0, 1 }, { 1, 0, 2 },
};

struct _VnmHistoryBlock {
  guint refs;
  guint hash;
  guint16 size;
  guint8 data[];
};

/* ---- bits ---- */

typedef struct {
  guint8 *buf;
  gsize len;         /* whole bytes written */
  guint64 acc;
  guint n;           /* bits waiting in acc */
  gsize bits;        /* bits written in all */
} BitWriter;

static void
put_bits (BitWriter *w, guint32 v, guint k)
{
  if (k == 0)
    return;
  w->acc = (w->acc << k) | v;
  w->n += k;
  w->bits += k;
  while (w->n >= 8)
    {
      w->buf[w->len++] = (guint8) (w->acc >> (w->n - 8));
      w->n -= 8;
    }
}

static void
flush_bits (BitWriter *w)
{
  if (w->n)
    w->buf[w->len++] = (guint8) (w->acc << (8 - w->n));
  w->n = 0;
}

typedef struct {
  const guint8 *p, *end;
  guint64 acc;
  guint n;
} BitReader;

static void
reader_init (BitReader *r, const guint8 *p, const guint8 *end, gsize skip_bits)
{
  r->p = p + skip_bits / 8;
  r->end = end;
  r->acc = 0;
  r->n = 0;
  if (skip_bits % 8)
    {
      r->acc = r->p < r->end ? *r->p++ : 0;
      r->n = 8 - skip_bits % 8;
      r->acc &= (1u << r->n) - 1;
    }
}

static guint32
get_bits (BitReader *r, guint k)
{
  if (k == 0)
    return 0;
  while (r->n < k)
    {
      r->acc = (r->acc << 8) | (r->p < r->end ? *r->p++ : 0);
      r->n += 8;
    }
  r->n -= k;
  return (guint32) ((r->acc >> r->n) & ((G_GUINT64_CONSTANT (1) << k) - 1));
}

static guint
bit_length (guint32 x)
{
  return x ? 32 - __builtin_clz (x) : 0;
}

/* Exp-Golomb of order k: x + 2^k in b bits, after b - k - 1 zeros. */
static guint
eg_cost (guint32 x, guint k)
{
  return 2 * bit_length (x + (1u << k)) - k - 1;
}

static void
put_eg (BitWriter *w, guint32 x, guint k)
{
  guint32 y = x + (1u << k);
  guint b = bit_length (y);

  put_bits (w, 0, b - k - 1);
  put_bits (w, y, b);
}

static guint32
get_eg (BitReader *r, guint k)
{
  guint zeros = 0;

  while (get_bits (r, 1) == 0)
    if (++zeros + k > 30)
      return 0;                        /* corrupt: never written so */
  return (((1u << (zeros + k)) | get_bits (r, zeros + k))) - (1u << k);
}

static guint32
zigzag (gint32 v)
{
  return v >= 0 ? (guint32) v * 2 : (guint32) (-v) * 2 - 1;
}

static gint32
unzigzag (guint32 z)
{
  return z & 1 ? -(gint32) ((z + 1) / 2) : (gint32) (z / 2);
}

/* ---- one field's run of steps ---- */

typedef struct {
  guint code, param;
  gsize bits;
} Choice;

/* The order of exp-Golomb code worth trying for values of mean @mean: the
 * best is within a bit or two of its bit length. */
static guint
first_k (gsize sum, guint n)
{
  guint b = bit_length ((guint32) (sum / MAX (n, 1)));

  return b > 2 ? b - 2 : 0;
}

#define TRY_K 4

static Choice
choose_code (const gint32 *q, guint n)
{
  gint32 lo = q[0], hi = q[0];
  gsize gap_sum = 0, delta_sum = 0;
  gsize gaps[TRY_K] = { 0 }, delta[TRY_K] = { 0 };
  guint gk, dk;
  Choice best;

  for (guint i = 1; i < n; i++)
    {
      lo = MIN (lo, q[i]);
      hi = MAX (hi, q[i]);
      delta_sum += zigzag (q[i] - q[i - 1]);
    }
  best = (Choice) { CODE_FOR, bit_length ((guint32) (hi - lo)), 0 };
  best.bits = STEP_BITS + (gsize) n * best.param;
  if (best.param == 0)
    return best;
  for (guint i = 0; i < n; i++)
    gap_sum += (guint32) (q[i] - lo);
  gk = first_k (gap_sum, n);
  dk = first_k (delta_sum, n - 1);
  for (guint i = 0; i < n; i++)
    for (guint j = 0; j < TRY_K; j++)
      {
        gaps[j] += eg_cost ((guint32) (q[i] - lo), gk + j);
        if (i)
          delta[j] += eg_cost (zigzag (q[i] - q[i - 1]), dk + j);
      }
  for (guint j = 0; j < TRY_K; j++)
    {
      if (STEP_BITS + gaps[j] < best.bits)
        best = (Choice) { CODE_GAPS, gk + j, STEP_BITS + gaps[j] };
      if (STEP_BITS + delta[j] < best.bits)
        best = (Choice) { CODE_DELTA, dk + j, STEP_BITS + delta[j] };
    }
  return best;
}

static void
put_run (BitWriter *w, const gint32 *q, guint n, Choice c)
{
  gint32 lo = q[0];

  for (guint i = 1; i < n; i++)
    lo = MIN (lo, q[i]);
  switch (c.code)
    {
    case CODE_FOR:
      put_bits (w, zigzag (lo), STEP_BITS);
      for (guint i = 0; i < n; i++)
        put_bits (w, (guint32) (q[i] - lo), c.param);
      break;
    case CODE_GAPS:
      put_bits (w, zigzag (lo), STEP_BITS);
      for (guint i = 0; i < n; i++)
        put_eg (w, (guint32) (q[i] - lo), c.param);
      break;
    default:
      put_bits (w, zigzag (q[0]), STEP_BITS);
      for (guint i = 1; i < n; i++)
        put_eg (w, zigzag (q[i] - q[i - 1]), c.param);
      break;
    }
}

/* Steps into out[i * stride]. */
static void
get_run (BitReader *r, guint8 code_byte, guint n, gint32 *out, guint stride)
{
  guint code = code_byte >> 6, param = code_byte & PARAM;
  gint32 first = unzigzag (get_bits (r, STEP_BITS));

  switch (code)
    {
    case CODE_FOR:
      for (guint i = 0; i < n; i++)
        out[i * stride] = first + (gint32) get_bits (r, param);
      break;
    case CODE_GAPS:
      for (guint i = 0; i < n; i++)
        out[i * stride] = first + (gint32) get_eg (r, param);
      break;
    default:
      out[0] = first;
      for (guint i = 1; i < n; i++)
        out[i * stride] = out[(i - 1) * stride] + unzigzag (get_eg (r, param));
      break;
    }
}

/* ---- blocks ---- */

static guint
fnv1a (const guint8 *p, gsize n)
{
  guint32 h = 2166136261u;

  for (gsize i = 0; i < n; i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

/* The scale of a run of values whose largest magnitude is @top: @top as a
 * float, rounded up so that no value is above it. */
static gfloat
scale_of (gdouble top)
{
  gfloat s = (gfloat) top;

  if ((gdouble) s < top)
    s = nextafterf (s, INFINITY);
  return s;
}

/* The worst case of a block's bytes: header and floats for every value. */
#define MAX_BYTES (MAX_HEADER + MAX_METRICS * (1 + 4 + 2 + MAX_FIELDS) \
                   + VNM_HISTORY_BLOCK_SLOTS * MAX_METRICS * MAX_FIELDS * 4 + 8)

/* Encodes into @b, which has room for MAX_BYTES of data. */
static gboolean
encode_into (VnmHistoryBlock *b, gint64 start, guint64 present, guint n_metrics, guint n_fields,
             const gfloat *values)
{
  guint n = __builtin_popcountll (present);
  /* Header and the worst case of the bits (floats for every value). */
  const guint M = n_metrics;
  guint8 *buf = b->data;
  guint8 kinds[MAX_METRICS], codes[MAX_METRICS][MAX_FIELDS];
  gfloat scales[MAX_METRICS];
  guint16 lens[MAX_METRICS];
  guint8 bits[VNM_HISTORY_BLOCK_SLOTS * MAX_METRICS * MAX_FIELDS * 4 + 8];
  BitWriter w = { bits, 0, 0, 0, 0 };
  gsize hlen = 0;

  g_return_val_if_fail (n_fields >= 1 && n_fields <= MAX_FIELDS, FALSE);
  g_return_val_if_fail (n_metrics >= 1 && n_metrics <= MAX_METRICS, FALSE);
  g_return_val_if_fail (start >= 0 && start <= G_MAXUINT32, FALSE);
  g_return_val_if_fail (present != 0, FALSE);

  for (guint m = 0; m < M; m++)
    {
      gdouble top = 0;
      gboolean finite = TRUE;
      gsize before = w.bits;

      for (guint k = 0; k < n; k++)
        for (guint f = 0; f < n_fields; f++)
          {
            gfloat v = values[(k * M + m) * n_fields + f];
            if (!isfinite (v))
              finite = FALSE;
            else
              top = MAX (top, fabs ((gdouble) v));
          }
      if (!finite)
        {
          kinds[m] = KIND_RAW;
          for (guint k = 0; k < n; k++)
            for (guint f = 0; f < n_fields; f++)
              {
                guint32 u;
                memcpy (&u, &values[(k * M + m) * n_fields + f], 4);
                put_bits (&w, u, 32);
              }
        }
      else if (top == 0)
        kinds[m] = KIND_ZERO;
      else
        {
          gint32 q[MAX_FIELDS][VNM_HISTORY_BLOCK_SLOTS];

          kinds[m] = KIND_QUANT;
          scales[m] = scale_of (top);
          for (guint f = 0; f < n_fields; f++)
            for (guint k = 0; k < n; k++)
              q[f][k] = (gint32) lround (values[(k * M + m) * n_fields + f] * (gdouble) LEVELS
                                         / scales[m]);
          for (guint i = 0; i < n_fields; i++)
            {
              guint f = field_order[n_fields][i];
              Choice c = choose_code (q[f], n);

              codes[m][f] = (guint8) (c.code << 6 | c.param);
              if (n_fields == 3 && f != 1)
                {
                  gint32 rel[VNM_HISTORY_BLOCK_SLOTS];
                  Choice cr;

                  for (guint k = 0; k < n; k++)
                    rel[k] = q[f][k] - q[1][k];
                  cr = choose_code (rel, n);
                  if (cr.bits < c.bits)
                    {
                      codes[m][f] = (guint8) (cr.code << 6 | RELATIVE | cr.param);
                      put_run (&w, rel, n, cr);
                      continue;
                    }
                }
              put_run (&w, q[f], n, c);
            }
        }
      lens[m] = (guint16) (w.bits - before);
    }
  flush_bits (&w);

  {
    guint32 start32 = (guint32) start;
    guint first = __builtin_ctzll (present);

    memcpy (buf, &start32, 4);
    buf[4] = (guint8) ((n_metrics - 1) << 2 | n_fields);
    if (present >> first == (n == 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << n) - 1))
      {
        buf[5] = (guint8) first;
        buf[6] = (guint8) n;
        hlen = 7;
      }
    else
      {
        buf[5] = 0xff;
        memcpy (buf + 6, &present, 8);
        hlen = 14;
      }
  }
  for (guint m = 0; m < M; m++)
    {
      buf[hlen++] = kinds[m];
      if (kinds[m] != KIND_QUANT)
        continue;
      memcpy (buf + hlen, &scales[m], 4);
      memcpy (buf + hlen + 4, &lens[m], 2);
      hlen += 6;
      for (guint f = 0; f < n_fields; f++)
        buf[hlen++] = codes[m][f];
    }
  memcpy (buf + hlen, bits, w.len);
  b->refs = 1;
  b->size = (guint16) (hlen + w.len);
  b->hash = fnv1a (b->data, b->size);
  return TRUE;
}

/* A block on the stack, with room for the largest. */
typedef union {
  VnmHistoryBlock block;
  guint8 bytes[sizeof (VnmHistoryBlock) + MAX_BYTES];
} ScratchBlock;

static VnmHistoryBlock *
copy_block (const VnmHistoryBlock *scratch)
{
  VnmHistoryBlock *b = g_malloc (sizeof *b + scratch->size);

  memcpy (b, scratch, sizeof *b + scratch->size);
  return b;
}

VnmHistoryBlock *
vnm_history_block_encode (gint64 start, guint64 present, guint n_metrics, guint n_fields,
                          const gfloat *values)
{
  ScratchBlock scratch;

  if (!encode_into (&scratch.block, start, present, n_metrics, n_fields, values))
    return NULL;
  return copy_block (&scratch.block);
}

VnmHistoryBlock *
vnm_history_block_encode_shared (GHashTable *shared, gint64 start, guint64 present,
                                 guint n_metrics, guint n_fields, const gfloat *values,
                                 gboolean *found)
{
  ScratchBlock scratch;
  VnmHistoryBlock *held;

  *found = FALSE;
  if (!encode_into (&scratch.block, start, present, n_metrics, n_fields, values))
    return NULL;
  held = g_hash_table_lookup (shared, &scratch.block);
  if (held)
    {
      *found = TRUE;
      return vnm_history_block_ref (held);
    }
  return copy_block (&scratch.block);
}

gint64
vnm_history_block_start (const VnmHistoryBlock *b)
{
  guint32 start;

  memcpy (&start, b->data, 4);
  return start;
}

guint64
vnm_history_block_present (const VnmHistoryBlock *b)
{
  guint64 present;
  guint count = b->data[6];

  if (b->data[5] == 0xff)
    {
      memcpy (&present, b->data + 6, 8);
      return present;
    }
  present = count == 64 ? G_MAXUINT64 : (G_GUINT64_CONSTANT (1) << count) - 1;
  return present << b->data[5];
}

static gsize
header_len (const VnmHistoryBlock *b)
{
  return b->data[5] == 0xff ? 14 : 7;
}

guint
vnm_history_block_n_metrics (const VnmHistoryBlock *b)
{
  return (b->data[4] >> 2) + 1;
}

guint
vnm_history_block_n_fields (const VnmHistoryBlock *b)
{
  return b->data[4] & 3;
}

guint
vnm_history_block_decode (const VnmHistoryBlock *b, guint metric, gdouble *out)
{
  guint n = __builtin_popcountll (vnm_history_block_present (b));
  guint nf = vnm_history_block_n_fields (b);
  guint M = vnm_history_block_n_metrics (b);
  const guint8 *h = b->data + header_len (b);
  const guint8 *header_end;
  gsize skip = 0;
  guint8 kind = KIND_ZERO;
  const guint8 *mine = NULL;
  BitReader r;

  g_return_val_if_fail (metric < M, 0);
  /* Walk the header: the kinds and bit lengths before @metric. */
  for (guint m = 0; m < M; m++)
    {
      guint8 k = *h;
      gsize len = 0;

      if (m == metric)
        {
          kind = k;
          mine = h;
        }
      h++;
      if (k == KIND_QUANT)
        {
          guint16 l;
          memcpy (&l, h + 4, 2);
          len = l;
          h += 6 + nf;
        }
      else if (k == KIND_RAW)
        len = (gsize) n * nf * 32;
      if (m < metric)
        skip += len;
    }
  header_end = h;
  reader_init (&r, header_end, b->data + b->size, skip);

  if (kind == KIND_ZERO)
    {
      for (guint i = 0; i < n * nf; i++)
        out[i] = 0;
    }
  else if (kind == KIND_RAW)
    {
      for (guint i = 0; i < n * nf; i++)
        {
          guint32 u = get_bits (&r, 32);
          gfloat v;
          memcpy (&v, &u, 4);
          out[i] = v;
        }
    }
  else
    {
      gfloat scale;
      gint32 q[VNM_HISTORY_BLOCK_SLOTS * MAX_FIELDS];

      memcpy (&scale, mine + 1, 4);
      for (guint i = 0; i < nf; i++)
        {
          guint f = field_order[nf][i];

          get_run (&r, mine[7 + f], n, q + f, nf);
          if (mine[7 + f] & RELATIVE)
            for (guint k = 0; k < n; k++)
              q[k * nf + f] += q[k * nf + 1];
        }
      for (guint i = 0; i < n * nf; i++)
        out[i] = (gdouble) q[i] * scale / LEVELS;
    }
  return n;
}

gsize
vnm_history_block_memory (const VnmHistoryBlock *b)
{
  return sizeof *b + b->size;
}

VnmHistoryBlock *
vnm_history_block_ref (VnmHistoryBlock *b)
{
  b->refs++;
  return b;
}

guint
vnm_history_block_refs (const VnmHistoryBlock *b)
{
  return b->refs;
}

void
vnm_history_block_unref (VnmHistoryBlock *b)
{
  if (b && --b->refs == 0)
    g_free (b);
}

guint
vnm_history_block_hash (gconstpointer p)
{
  return ((const VnmHistoryBlock *) p)->hash;
}

gboolean
vnm_history_block_equal (gconstpointer pa, gconstpointer pb)
{
  const VnmHistoryBlock *a = pa, *b = pb;

  return a->hash == b->hash && a->size == b->size && memcmp (a->data, b->data, a->size) == 0;
}
