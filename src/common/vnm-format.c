/* vnm-format.c: units and aligned tables. */
#include "config.h"

#include <string.h>

#include "vnm-format.h"

gchar *
vnm_format_bytes (guint64 bytes)
{
  static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
  gdouble v = (gdouble) bytes;
  guint u = 0;

  if (bytes < 1024)
    return g_strdup_printf ("%" G_GUINT64_FORMAT " B", bytes);
  while (v >= 1024.0 && u < G_N_ELEMENTS (units) - 1)
    {
      v /= 1024.0;
      u++;
    }
  return g_strdup_printf ("%.1f %s", v, units[u]);
}

gchar *
vnm_format_rate (gdouble value)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  return g_strdup (g_ascii_formatd (buf, sizeof buf, "%.2f", value));
}

struct _VnmTable {
  guint n_columns;
  GPtrArray *rows;      /* of gchar** (n_columns each), row 0 = headers */
  gboolean *numeric;
};

VnmTable *
vnm_table_new (guint n_columns, const gchar *const *headers)
{
  VnmTable *table = g_new0 (VnmTable, 1);

  table->n_columns = n_columns;
  table->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  table->numeric = g_new0 (gboolean, n_columns);
  vnm_table_add_row (table, headers);
  return table;
}

void
vnm_table_set_numeric (VnmTable *table, guint column)
{
  g_return_if_fail (column < table->n_columns);
  table->numeric[column] = TRUE;
}

void
vnm_table_add_row (VnmTable *table, const gchar *const *cells)
{
  gchar **row = g_new0 (gchar *, table->n_columns + 1);

  for (guint i = 0; i < table->n_columns; i++)
    row[i] = g_strdup (cells[i] && cells[i][0] ? cells[i] : "-");
  g_ptr_array_add (table->rows, row);
}

gchar *
vnm_table_render (VnmTable *table)
{
  g_autofree glong *width = g_new0 (glong, table->n_columns);
  GString *out = g_string_new (NULL);
  glong total = 0;

  for (guint r = 0; r < table->rows->len; r++)
    {
      gchar **row = g_ptr_array_index (table->rows, r);
      for (guint c = 0; c < table->n_columns; c++)
        width[c] = MAX (width[c], g_utf8_strlen (row[c], -1));
    }
  for (guint c = 0; c < table->n_columns; c++)
    total += width[c] + (c ? 3 : 1);

  for (guint r = 0; r < table->rows->len; r++)
    {
      gchar **row = g_ptr_array_index (table->rows, r);

      g_string_append_c (out, ' ');
      for (guint c = 0; c < table->n_columns; c++)
        {
          glong pad = width[c] - g_utf8_strlen (row[c], -1);
          gboolean right = table->numeric[c] && r > 0;
          gboolean last = c == table->n_columns - 1;

          if (c > 0)
            g_string_append (out, "   ");
          if (right)
            for (glong i = 0; i < pad; i++)
              g_string_append_c (out, ' ');
          g_string_append (out, row[c]);
          if (!right && !last)
            for (glong i = 0; i < pad; i++)
              g_string_append_c (out, ' ');
        }
      g_string_append_c (out, '\n');
      if (r == 0)
        {
          for (glong i = 0; i < total; i++)
            g_string_append_c (out, '-');
          g_string_append_c (out, '\n');
        }
    }
  return g_string_free (out, FALSE);
}

void
vnm_table_free (VnmTable *table)
{
  if (!table)
    return;
  g_ptr_array_unref (table->rows);
  g_free (table->numeric);
  g_free (table);
}
