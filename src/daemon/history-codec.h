/* history-codec.h: one block of rate history, compressed and immutable.
 *
 * A block holds up to 64 slots of time (the seconds of one minute, or a
 * run of minutes) and, for each slot that has data, @n_metrics metrics
 * (up to 16) of @n_fields values each (1: a second's value; 3: a minute's min, avg
 * and max). Blocks are reference-counted and compared by content, so that
 * two series whose data are the same share one block.
 *
 * Precision: the values of one metric in one block share a scale, the
 * largest magnitude among them (rounded up to a float), and are stored as
 * whole steps of 1/VNM_HISTORY_CODEC_LEVELS of it. A decoded value is
 * within scale / (2 * VNM_HISTORY_CODEC_LEVELS) of what was encoded (1/2000
 * of the block's largest value of that metric); zero stays zero, the
 * largest value comes back as its float, and min <= avg <= max holds after
 * decoding when it held before (one scale, rounding is monotonic). A metric
 * with a value that is not finite (NaN, infinity) is stored as floats in
 * that block, exactly as given. Pure: no outside library. */
#pragma once

#include <glib.h>

#define VNM_HISTORY_CODEC_LEVELS 1000
#define VNM_HISTORY_BLOCK_SLOTS  64
#define VNM_HISTORY_BLOCK_METRICS 16

typedef struct _VnmHistoryBlock VnmHistoryBlock;

/* Encodes the slots of @present (bit i: slot i has data) starting at
 * @start (a second's or minute's number, for the caller). @values holds, for
 * each present slot in order, @n_metrics x @n_fields floats:
 * values[(k * n_metrics + metric) * n_fields + field]. A reference for the
 * caller. */
VnmHistoryBlock *vnm_history_block_encode (gint64 start, guint64 present, guint n_metrics,
                                           guint n_fields, const gfloat *values);

/* The same, or, when @shared (a GHashTable of blocks by content, with
 * vnm_history_block_hash and _equal) has a block of that content already, a
 * new reference to it (and *@found set): the block is encoded on the stack
 * and only allocated when new. */
VnmHistoryBlock *vnm_history_block_encode_shared (GHashTable *shared, gint64 start,
                                                  guint64 present, guint n_metrics,
                                                  guint n_fields, const gfloat *values,
                                                  gboolean *found);

gint64 vnm_history_block_start (const VnmHistoryBlock *block);
guint64 vnm_history_block_present (const VnmHistoryBlock *block);
guint vnm_history_block_n_metrics (const VnmHistoryBlock *block);
guint vnm_history_block_n_fields (const VnmHistoryBlock *block);

/* Decodes @metric's values into @out (n_present x n_fields doubles, in the
 * order they were given); returns the number of present slots. */
guint vnm_history_block_decode (const VnmHistoryBlock *block, guint metric, gdouble *out);

/* Bytes the block takes (its allocation). */
gsize vnm_history_block_memory (const VnmHistoryBlock *block);

VnmHistoryBlock *vnm_history_block_ref (VnmHistoryBlock *block);
/* References held; a holder that shares blocks through a table removes a
 * block from it before dropping the last one. */
guint vnm_history_block_refs (const VnmHistoryBlock *block);
void vnm_history_block_unref (VnmHistoryBlock *block);

/* Content hash and equality (same slots, same encoded values), for a
 * GHashTable of shared blocks. */
guint vnm_history_block_hash (gconstpointer block);
gboolean vnm_history_block_equal (gconstpointer a, gconstpointer b);
