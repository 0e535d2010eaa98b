/* link-rows.h: the rows ifstat and top show, one per host interface, as
 * the daemon sends them by column (GetLinkStatsColumns), or by record
 * (GetLinkStats) when it is older than that method. */
#pragma once

#include <gio/gio.h>

#include "vnm-generated.h"

typedef struct _VnmLinkRows VnmLinkRows;

/* Asks @proxy for the rows GetLinkStats would return for these arguments,
 * by column (@wanted: the columns to ask for, NULL for all), by record
 * when the daemon does not know GetLinkStatsColumns or when the
 * environment says VIRTNETMON_COMPACT=0. NULL with @error when the call
 * fails. */
VnmLinkRows *vnm_link_rows_fetch (VnmMonitor1 *proxy, const gchar *sort, gboolean ascending,
                                  guint top, gboolean include_hidden, const gchar *filter,
                                  const gchar *const *wanted, GError **error);
void vnm_link_rows_free (VnmLinkRows *rows);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmLinkRows, vnm_link_rows_free)

/* Whether the rows came by column. */
gboolean vnm_link_rows_compact (const VnmLinkRows *rows);
guint vnm_link_rows_count (const VnmLinkRows *rows);
/* The index of the column @key, or -1 when the rows have none; the cell
 * readers take it, and give "" or 0 for -1 (as vnm_rec_* do for a
 * missing key). */
gint vnm_link_rows_column (const VnmLinkRows *rows, const gchar *key);
const gchar *vnm_link_rows_str (const VnmLinkRows *rows, guint row, gint column);
gdouble vnm_link_rows_double (const VnmLinkRows *rows, guint row, gint column);
gint64 vnm_link_rows_int (const VnmLinkRows *rows, guint row, gint column);

/* The JSON document of the rows: the one `ifstat --json` has always
 * printed for GetLinkStats' records. */
gchar *vnm_link_rows_to_json (const VnmLinkRows *rows);
