/* link-rows.c: the rows of ifstat and top, by column from
 * GetLinkStatsColumns, or by record from GetLinkStats for a daemon that
 * is older than that method. */
#include "config.h"

#include <string.h>

#include "link-rows.h"
#include "vnm-i18n.h"
#include "vnm-json.h"

struct _VnmLinkRows {
  guint n_rows;
  /* By column: each column's array, and its values read in place (text
   * columns: pointers to the strings in their array). */
  gchar **names;          /* NULL-terminated */
  GVariant **values;      /* one array per name */
  VnmJsonColumn *columns;
  guint n_columns;
  /* By record (an older daemon): the aa{sv}, and the keys asked for so
   * far, whose index stands for the column. */
  GVariant *records;
  GPtrArray *keys;
};

void
vnm_link_rows_free (VnmLinkRows *rows)
{
  if (!rows)
    return;
  for (guint j = 0; j < rows->n_columns; j++)
    {
      if (rows->columns[j].type == 's')
        g_free ((gpointer) rows->columns[j].values);
      g_variant_unref (rows->values[j]);
    }
  g_free (rows->columns);
  g_free (rows->values);
  g_strfreev (rows->names);
  g_clear_pointer (&rows->records, g_variant_unref);
  g_clear_pointer (&rows->keys, g_ptr_array_unref);
  g_free (rows);
}

/* The strings of a text column: @len bytes of UTF-8 strings, each ended by
 * a NUL. NULL when that is not what they are; else *n says how many. */
static const gchar **
split_text (const gchar *data, gsize len, gsize *n)
{
  g_autoptr(GPtrArray) strv = g_ptr_array_new ();
  const gchar *end = data + len;

  if (len && data[len - 1] != '\0')
    return NULL;
  for (const gchar *p = data; p < end; p += strlen (p) + 1)
    {
      if (!g_utf8_validate (p, -1, NULL))
        return NULL;
      g_ptr_array_add (strv, (gpointer) p);
    }
  *n = strv->len;
  g_ptr_array_add (strv, NULL);
  return (const gchar **) g_ptr_array_free (g_steal_pointer (&strv), FALSE);
}

static gsize
fixed_size (gchar type)
{
  switch (type)
    {
    case 'i': case 'u': return 4;
    case 'x': case 't': case 'd': return 8;
    default: return 0;
    }
}

/* Takes the reply of GetLinkStatsColumns; FALSE with @error when its
 * columns are not arrays of one length of the types it documents. */
static gboolean
take_columns (VnmLinkRows *rows, gchar **names, GVariant *values, GError **error)
{
  guint n = g_strv_length (names);

  rows->names = names;
  if (g_variant_n_children (values) != n)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   _("The daemon sent %u column names and %zu columns."), n,
                   g_variant_n_children (values));
      return FALSE;
    }
  rows->values = g_new0 (GVariant *, MAX (n, 1));
  rows->columns = g_new0 (VnmJsonColumn, MAX (n, 1));
  for (guint j = 0; j < n; j++)
    {
      g_autoptr(GVariant) boxed = g_variant_get_child_value (values, j);
      GVariant *array = rows->values[j] = g_variant_get_variant (boxed);
      VnmJsonColumn *col = &rows->columns[j];
      const gchar *type = g_variant_get_type_string (array);
      gsize len = 0;

      rows->n_columns = j + 1;
      col->name = names[j];
      if (g_str_equal (type, "ay"))
        {
          gconstpointer text = g_variant_get_fixed_array (array, &len, 1);

          col->type = 's';
          if (!(col->values = split_text (text, len, &len)))
            {
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The daemon sent column '%s' as bytes that are not UTF-8 strings each ended by a NUL."),
                           names[j]);
              return FALSE;
            }
        }
      else if (type[0] == 'a' && strlen (type) == 2 && fixed_size (type[1]))
        {
          col->type = type[1];
          col->values = g_variant_get_fixed_array (array, &len, fixed_size (type[1]));
        }
      else
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The daemon sent column '%s' as '%s', not as text or numbers."),
                       names[j], type);
          return FALSE;
        }
      if (j == 0)
        rows->n_rows = (guint) len;
      else if (len != rows->n_rows)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The daemon sent %zu values of column '%s' for %u rows."), len,
                       names[j], rows->n_rows);
          return FALSE;
        }
    }
  return TRUE;
}

VnmLinkRows *
vnm_link_rows_fetch (VnmMonitor1 *proxy, const gchar *sort, gboolean ascending, guint top,
                     gboolean include_hidden, const gchar *filter, const gchar *const *wanted,
                     GError **error)
{
  g_autoptr(VnmLinkRows) rows = g_new0 (VnmLinkRows, 1);
  static const gchar *const all[] = { NULL };
  g_autoptr(GError) local = NULL;

  sort = sort ? sort : "tx";
  filter = filter ? filter : "";
  if (g_strcmp0 (g_getenv ("VIRTNETMON_COMPACT"), "0") != 0)
    {
      gchar **names = NULL;
      g_autoptr(GVariant) values = NULL;

      if (vnm_monitor1_call_get_link_stats_columns_sync (proxy, sort, ascending, top,
                                                         include_hidden, filter,
                                                         wanted ? wanted : all, &names,
                                                         &values, NULL, &local))
        return take_columns (rows, names, values, error) ? g_steal_pointer (&rows) : NULL;
      if (!g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) &&
          !g_error_matches (local, G_DBUS_ERROR, G_DBUS_ERROR_ACCESS_DENIED))
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      /* A daemon older than GetLinkStatsColumns, or a bus policy installed
       * with it that does not name the method yet. */
    }
  if (!vnm_monitor1_call_get_link_stats_sync (proxy, sort, ascending, top, include_hidden,
                                              filter, &rows->records, NULL, error))
    return NULL;
  rows->n_rows = (guint) g_variant_n_children (rows->records);
  rows->keys = g_ptr_array_new_with_free_func (g_free);
  return g_steal_pointer (&rows);
}

gboolean
vnm_link_rows_compact (const VnmLinkRows *rows)
{
  return rows->records == NULL;
}

guint
vnm_link_rows_count (const VnmLinkRows *rows)
{
  return rows->n_rows;
}

gint
vnm_link_rows_column (const VnmLinkRows *rows, const gchar *key)
{
  guint i;

  if (rows->records)
    {
      if (!g_ptr_array_find_with_equal_func (rows->keys, key, g_str_equal, &i))
        {
          g_ptr_array_add (rows->keys, g_strdup (key));
          i = rows->keys->len - 1;
        }
      return (gint) i;
    }
  for (i = 0; i < rows->n_columns; i++)
    if (g_str_equal (rows->names[i], key))
      return (gint) i;
  return -1;
}

/* Reading a record as client.c's vnm_rec_* do (this module stays below
 * client.h): "" or 0 for a key that is absent or of another type. */
static const gchar *
rec_str (GVariant *rec, const gchar *key)
{
  const gchar *s = NULL;

  return g_variant_lookup (rec, key, "&s", &s) ? s : "";
}

static gdouble
rec_double (GVariant *rec, const gchar *key)
{
  gdouble d = 0;

  return g_variant_lookup (rec, key, "d", &d) ? d : 0;
}

static gint64
rec_int (GVariant *rec, const gchar *key)
{
  g_autoptr(GVariant) v = g_variant_lookup_value (rec, key, NULL);

  if (!v)
    return 0;
  switch (g_variant_classify (v))
    {
    case G_VARIANT_CLASS_UINT16: return g_variant_get_uint16 (v);
    case G_VARIANT_CLASS_INT32: return g_variant_get_int32 (v);
    case G_VARIANT_CLASS_UINT32: return g_variant_get_uint32 (v);
    case G_VARIANT_CLASS_INT64: return g_variant_get_int64 (v);
    case G_VARIANT_CLASS_UINT64: return (gint64) g_variant_get_uint64 (v);
    default: return 0;
    }
}

/* By record: row @row's record and the key of @column. */
static GVariant *
record_at (const VnmLinkRows *rows, guint row, gint column, const gchar **key)
{
  g_return_val_if_fail (row < rows->n_rows, NULL);
  if (column < 0 || (guint) column >= rows->keys->len)
    return NULL;
  *key = g_ptr_array_index (rows->keys, column);
  return g_variant_get_child_value (rows->records, row);
}

static const VnmJsonColumn *
column_at (const VnmLinkRows *rows, guint row, gint column)
{
  g_return_val_if_fail (row < rows->n_rows, NULL);
  return column >= 0 && (guint) column < rows->n_columns ? &rows->columns[column] : NULL;
}

const gchar *
vnm_link_rows_str (const VnmLinkRows *rows, guint row, gint column)
{
  const VnmJsonColumn *col;

  if (rows->records)
    {
      const gchar *key = NULL;
      g_autoptr(GVariant) rec = record_at (rows, row, column, &key);

      /* The string lives in the records, which outlive @rec. */
      return rec ? rec_str (rec, key) : "";
    }
  col = column_at (rows, row, column);
  return col && col->type == 's' ? ((const gchar *const *) col->values)[row] : "";
}

gdouble
vnm_link_rows_double (const VnmLinkRows *rows, guint row, gint column)
{
  const VnmJsonColumn *col;

  if (rows->records)
    {
      const gchar *key = NULL;
      g_autoptr(GVariant) rec = record_at (rows, row, column, &key);

      return rec ? rec_double (rec, key) : 0;
    }
  col = column_at (rows, row, column);
  return col && col->type == 'd' ? ((const gdouble *) col->values)[row] : 0;
}

gint64
vnm_link_rows_int (const VnmLinkRows *rows, guint row, gint column)
{
  const VnmJsonColumn *col;

  if (rows->records)
    {
      const gchar *key = NULL;
      g_autoptr(GVariant) rec = record_at (rows, row, column, &key);

      return rec ? rec_int (rec, key) : 0;
    }
  col = column_at (rows, row, column);
  if (!col)
    return 0;
  switch (col->type)
    {
    case 'i': return ((const gint32 *) col->values)[row];
    case 'u': return ((const guint32 *) col->values)[row];
    case 'x': return ((const gint64 *) col->values)[row];
    case 't': return (gint64) ((const guint64 *) col->values)[row];
    default: return 0;
    }
}

gchar *
vnm_link_rows_to_json (const VnmLinkRows *rows)
{
  if (rows->records)
    return vnm_json_from_variant (rows->records);
  return vnm_json_from_columns (rows->columns, rows->n_columns, rows->n_rows);
}
