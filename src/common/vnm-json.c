/* vnm-json.c: JSON text from GVariant. */
#include "config.h"

#include <math.h>
#include <string.h>

#include "vnm-json.h"

/* g_string_append_len without a call into GLib while the string has room,
 * as g_string_append_c does: a table of 1000 rows appends some 100000
 * pieces. */
static inline void
put (GString *out, const gchar *s, gsize n)
{
  if (G_UNLIKELY (out->len + n >= out->allocated_len))
    {
      g_string_append_len (out, s, (gssize) n);
      return;
    }
  memcpy (out->str + out->len, s, n);
  out->len += n;
  out->str[out->len] = '\0';
}

void
vnm_json_append_string (GString *out, const gchar *str)
{
  const guchar *plain = (const guchar *) str;

  g_string_append_c (out, '"');
  for (const guchar *p = plain; ; p++)
    {
      /* Runs of characters that need no escape go in one piece. */
      if (*p >= 0x20 && *p != '"' && *p != '\\')
        continue;
      put (out, (const gchar *) plain, (gsize) (p - plain));
      plain = p + 1;
      switch (*p)
        {
        case '\0': g_string_append_c (out, '"'); return;
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default: g_string_append_printf (out, "\\u%04x", *p); break;
        }
    }
}

static void
append_newline (GString *out, guint indent)
{
  g_string_append_c (out, '\n');
  for (guint i = 0; i < indent; i++)
    g_string_append (out, "  ");
}

static void append_uint64 (GString *out, guint64 v);

/* What g_ascii_formatd (buf, size, "%.3f", d) writes, for every finite @d,
 * mostly without printf. */
static void
append_fixed3 (GString *out, gdouble d)
{
  gdouble a = fabs (d), p = a * 1000, whole = floor (p), frac = p - whole;
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];
  guint64 n;

  /* p = a * 1000 is rounded once, by at most half an ulp, at most 2^-23
   * while p < 2^31: unless the exact product is that close to a half,
   * rounding p to a whole number of thousandths rounds the same way as
   * printf does (exactly, ties to even). Elsewhere, printf itself. */
  if (p >= 2147483648.0 || fabs (frac - 0.5) < 1e-5)
    {
      g_ascii_formatd (buf, sizeof buf, "%.3f", d);
      g_string_append (out, buf);
      return;
    }
  n = (guint64) whole + (frac > 0.5);
  if (signbit (d))
    g_string_append_c (out, '-');   /* as printf: -0.000 for -0.0 and -0.0001 */
  append_uint64 (out, n / 1000);
  buf[0] = '.';
  buf[1] = (gchar) ('0' + n / 100 % 10);
  buf[2] = (gchar) ('0' + n / 10 % 10);
  buf[3] = (gchar) ('0' + n % 10);
  put (out, buf, 4);
}

static void
append_double (GString *out, gdouble d)
{
  if (!isfinite (d))
    {
      g_string_append (out, "null");
      return;
    }
  /* Three decimals are more than any rate needs and keep output readable. */
  append_fixed3 (out, d);
}

/* Whole numbers as printf's %d, %u, %lld and %llu would write them, without
 * printf: a --json document of 1000 interfaces holds some 20000. */
static void
append_uint64 (GString *out, guint64 v)
{
  gchar buf[24];
  gchar *p = buf + sizeof buf;

  do
    *--p = (gchar) ('0' + v % 10);
  while ((v /= 10));
  put (out, p, (gsize) (buf + sizeof buf - p));
}

static void
append_int64 (GString *out, gint64 v)
{
  if (v < 0)
    {
      g_string_append_c (out, '-');
      append_uint64 (out, (guint64) -(v + 1) + 1);
    }
  else
    append_uint64 (out, (guint64) v);
}

static gboolean
is_string_keyed_dict (GVariant *value)
{
  const GVariantType *t = g_variant_get_type (value);

  return g_variant_type_is_array (t) &&
         g_variant_type_is_dict_entry (g_variant_type_element (t)) &&
         g_variant_type_equal (g_variant_type_key (g_variant_type_element (t)),
                               G_VARIANT_TYPE_STRING);
}

void
vnm_json_append_variant (GString *out, GVariant *value, guint indent)
{
  GVariantClass cls = g_variant_classify (value);

  switch (cls)
    {
    case G_VARIANT_CLASS_BOOLEAN:
      g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
      return;
    case G_VARIANT_CLASS_BYTE:
      append_uint64 (out, g_variant_get_byte (value));
      return;
    case G_VARIANT_CLASS_INT16:
      append_int64 (out, g_variant_get_int16 (value));
      return;
    case G_VARIANT_CLASS_UINT16:
      append_uint64 (out, g_variant_get_uint16 (value));
      return;
    case G_VARIANT_CLASS_INT32:
      append_int64 (out, g_variant_get_int32 (value));
      return;
    case G_VARIANT_CLASS_UINT32:
      append_uint64 (out, g_variant_get_uint32 (value));
      return;
    case G_VARIANT_CLASS_INT64:
      append_int64 (out, g_variant_get_int64 (value));
      return;
    case G_VARIANT_CLASS_UINT64:
      append_uint64 (out, g_variant_get_uint64 (value));
      return;
    case G_VARIANT_CLASS_DOUBLE:
      append_double (out, g_variant_get_double (value));
      return;
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
      vnm_json_append_string (out, g_variant_get_string (value, NULL));
      return;
    case G_VARIANT_CLASS_VARIANT:
      {
        g_autoptr(GVariant) inner = g_variant_get_variant (value);
        vnm_json_append_variant (out, inner, indent);
        return;
      }
    case G_VARIANT_CLASS_MAYBE:
      {
        g_autoptr(GVariant) inner = g_variant_get_maybe (value);
        if (inner)
          vnm_json_append_variant (out, inner, indent);
        else
          g_string_append (out, "null");
        return;
      }
    case G_VARIANT_CLASS_ARRAY:
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
      break;
    case G_VARIANT_CLASS_HANDLE:
    default:
      g_string_append (out, "null");
      return;
    }

  gsize n = g_variant_n_children (value);
  gboolean as_object = is_string_keyed_dict (value);

  g_string_append_c (out, as_object ? '{' : '[');
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

      if (i > 0)
        g_string_append_c (out, ',');
      append_newline (out, indent + 1);
      if (as_object)
        {
          g_autoptr(GVariant) key = g_variant_get_child_value (child, 0);
          g_autoptr(GVariant) val = g_variant_get_child_value (child, 1);

          vnm_json_append_string (out, g_variant_get_string (key, NULL));
          g_string_append (out, ": ");
          vnm_json_append_variant (out, val, indent + 1);
        }
      else
        vnm_json_append_variant (out, child, indent + 1);
    }
  if (n > 0)
    append_newline (out, indent);
  g_string_append_c (out, as_object ? '}' : ']');
}

gchar *
vnm_json_from_variant (GVariant *value)
{
  GString *out = g_string_new (NULL);

  vnm_json_append_variant (out, value, 0);
  g_string_append_c (out, '\n');
  return g_string_free (out, FALSE);
}

static void
append_cell (GString *out, const VnmJsonColumn *col, gsize i)
{
  switch (col->type)
    {
    case 's': vnm_json_append_string (out, ((const gchar *const *) col->values)[i]); return;
    case 'i': append_int64 (out, ((const gint32 *) col->values)[i]); return;
    case 'u': append_uint64 (out, ((const guint32 *) col->values)[i]); return;
    case 'x': append_int64 (out, ((const gint64 *) col->values)[i]); return;
    case 't': append_uint64 (out, ((const guint64 *) col->values)[i]); return;
    case 'd': append_double (out, ((const gdouble *) col->values)[i]); return;
    default: g_assert_not_reached ();
    }
}

gchar *
vnm_json_from_columns (const VnmJsonColumn *columns, guint n_columns, gsize n_rows)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autofree gsize *key_len = g_new (gsize, MAX (n_columns, 1));
  GString *out;

  for (guint j = 0; j < n_columns; j++)
    {
      /* Each key as it is written after the indent: ",\n    " (but for
       * the first), the key quoted, then ": ". */
      GString *k = g_string_new (j ? ",\n    " : "\n    ");

      g_return_val_if_fail (strchr ("siuxtd", columns[j].type) && columns[j].type, NULL);
      vnm_json_append_string (k, columns[j].name);
      g_string_append (k, ": ");
      key_len[j] = k->len;
      g_ptr_array_add (keys, g_string_free (k, FALSE));
    }
  /* About what a row of numbers takes, to grow the string rarely. */
  out = g_string_sized_new (16 + n_rows * (8 + n_columns * 32));
  g_string_append_c (out, '[');
  for (gsize i = 0; i < n_rows; i++)
    {
      if (i)
        put (out, ",\n  {", 5);
      else
        put (out, "\n  {", 4);
      for (guint j = 0; j < n_columns; j++)
        {
          put (out, g_ptr_array_index (keys, j), key_len[j]);
          append_cell (out, &columns[j], i);
        }
      if (n_columns)
        put (out, "\n  }", 4);
      else
        g_string_append_c (out, '}');
    }
  g_string_append (out, n_rows ? "\n]\n" : "]\n");
  return g_string_free (out, FALSE);
}
