/* history-v1.h: the rate history's layout before issue 24, for
 * bench-history's side-by-side comparison only (see history-v1.c). Same
 * behaviour as history.h's functions of the same names. */
#pragma once

#include <glib.h>

#include "history.h"

typedef struct _VnmHistoryV1 VnmHistoryV1;

VnmHistoryV1 *vnm_history_v1_new (void);
void vnm_history_v1_free (VnmHistoryV1 *history);
void vnm_history_v1_record (VnmHistoryV1 *history, const gchar *series, gdouble now_s,
                            gdouble dt_s, const gdouble values[VNM_N_METRICS]);
GArray *vnm_history_v1_query (VnmHistoryV1 *history, const gchar *series, VnmMetric metric,
                              gint64 since_s, gint64 now_s, guint *resolution_s);
void vnm_history_v1_expire (VnmHistoryV1 *history, gint64 now_s);
gboolean vnm_history_v1_has_series (VnmHistoryV1 *history, const gchar *series);
guint vnm_history_v1_n_series (VnmHistoryV1 *history);
gsize vnm_history_v1_memory (VnmHistoryV1 *history);
