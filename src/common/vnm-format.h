/* vnm-format.h: units and number formatting for people. */
#pragma once

#include <glib.h>

/* Bits per second from a byte rate, in megabits (10^6). */
static inline gdouble
vnm_bytes_ps_to_mbps (gdouble bytes_ps)
{
  return bytes_ps * 8.0 / 1e6;
}

/* "1.50 KiB", "12.0 MiB": for byte totals. Free with g_free(). */
gchar *vnm_format_bytes (guint64 bytes);

/* A rate with two decimals and no thousands grouping: "12.34". */
gchar *vnm_format_rate (gdouble value);

/* Sparse, aligned text tables for the CLI. */
typedef struct _VnmTable VnmTable;

VnmTable *vnm_table_new (guint n_columns, const gchar *const *headers);
/* Marks @column as numeric: right-aligned. */
void vnm_table_set_numeric (VnmTable *table, guint column);
/* Adds a row; takes n_columns strings (NULL prints "-"). */
void vnm_table_add_row (VnmTable *table, const gchar *const *cells);
/* Renders the table with a header line and a rule, like virsh. */
gchar *vnm_table_render (VnmTable *table);
void vnm_table_free (VnmTable *table);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (VnmTable, vnm_table_free)
