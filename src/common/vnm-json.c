/* vnm-json.c: JSON text from GVariant. */
#include "config.h"

#include <math.h>

#include "vnm-json.h"

void
vnm_json_append_string (GString *out, const gchar *str)
{
  g_string_append_c (out, '"');
  for (const guchar *p = (const guchar *) str; *p; p++)
    {
      switch (*p)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (gchar) *p);
        }
    }
  g_string_append_c (out, '"');
}

static void
append_newline (GString *out, guint indent)
{
  g_string_append_c (out, '\n');
  for (guint i = 0; i < indent; i++)
    g_string_append (out, "  ");
}

static void
append_double (GString *out, gdouble d)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (d))
    {
      g_string_append (out, "null");
      return;
    }
  /* Three decimals are more than any rate needs and keep output readable. */
  g_ascii_formatd (buf, sizeof buf, "%.3f", d);
  g_string_append (out, buf);
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
      g_string_append_printf (out, "%u", g_variant_get_byte (value));
      return;
    case G_VARIANT_CLASS_INT16:
      g_string_append_printf (out, "%d", g_variant_get_int16 (value));
      return;
    case G_VARIANT_CLASS_UINT16:
      g_string_append_printf (out, "%u", g_variant_get_uint16 (value));
      return;
    case G_VARIANT_CLASS_INT32:
      g_string_append_printf (out, "%d", g_variant_get_int32 (value));
      return;
    case G_VARIANT_CLASS_UINT32:
      g_string_append_printf (out, "%u", g_variant_get_uint32 (value));
      return;
    case G_VARIANT_CLASS_INT64:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, g_variant_get_int64 (value));
      return;
    case G_VARIANT_CLASS_UINT64:
      g_string_append_printf (out, "%" G_GUINT64_FORMAT, g_variant_get_uint64 (value));
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
