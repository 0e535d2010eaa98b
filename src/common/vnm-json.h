/* vnm-json.h: JSON text from GVariant, for `--json` output. D-Bus records
 * (a{sv}, aa{sv}) map one to one onto JSON objects and arrays. */
#pragma once

#include <glib.h>

/* Appends @value as JSON to @out. Dictionaries with string keys become
 * objects, other arrays and tuples become arrays, variants are unwrapped,
 * non-finite doubles become null. */
void vnm_json_append_variant (GString *out, GVariant *value, guint indent);

/* Returns @value as a pretty-printed JSON document ending in a newline. */
gchar *vnm_json_from_variant (GVariant *value);

/* Appends @str as a JSON string literal (quoted and escaped). */
void vnm_json_append_string (GString *out, const gchar *str);

/* A column of a table: its key and one value per row. */
typedef struct {
  const gchar *name;
  gchar type;             /* the values' D-Bus type: s, i, u, x, t or d */
  gconstpointer values;   /* s: const gchar *const *; i: const gint32 *; u: const
                           * guint32 *; x: const gint64 *; t: const guint64 *;
                           * d: const gdouble * */
} VnmJsonColumn;

/* The JSON document vnm_json_from_variant returns for the aa{sv} whose
 * record i is { columns[j].name: columns[j].values[i] }, keys in the
 * order of @columns: the same text, without building the records. */
gchar *vnm_json_from_columns (const VnmJsonColumn *columns, guint n_columns, gsize n_rows);
