/* prom-text.c: the Prometheus text exposition format. */
#include "config.h"

#include <math.h>

#include "prom-text.h"

void
vnm_prom_label (GString *labels, const gchar *key, const gchar *value)
{
  g_autofree gchar *valid = g_utf8_make_valid (value ? value : "", -1);

  if (labels->len)
    g_string_append_c (labels, ',');
  g_string_append (labels, key);
  g_string_append (labels, "=\"");
  for (const gchar *p = valid; *p; p++)
    switch (*p)
      {
      case '\\': g_string_append (labels, "\\\\"); break;
      case '"': g_string_append (labels, "\\\""); break;
      case '\n': g_string_append (labels, "\\n"); break;
      default: g_string_append_c (labels, *p);
      }
  g_string_append_c (labels, '"');
}

void
vnm_prom_family (GString *out, const gchar *name, const gchar *type, const gchar *help)
{
  g_warn_if_fail (vnm_prom_valid_name (name));
  g_string_append_printf (out, "# HELP %s ", name);
  for (const gchar *p = help; *p; p++)
    switch (*p)
      {
      case '\\': g_string_append (out, "\\\\"); break;
      case '\n': g_string_append (out, "\\n"); break;
      default: g_string_append_c (out, *p);
      }
  g_string_append_printf (out, "\n# TYPE %s %s\n", name, type);
}

static void
append_name_labels (GString *out, const gchar *name, const gchar *labels, const gchar *extra)
{
  gboolean has_labels = labels && *labels;

  g_string_append (out, name);
  if (!has_labels && !extra)
    {
      g_string_append_c (out, ' ');
      return;
    }
  g_string_append_c (out, '{');
  if (has_labels)
    g_string_append (out, labels);
  if (extra)
    {
      if (has_labels)
        g_string_append_c (out, ',');
      g_string_append (out, extra);
    }
  g_string_append (out, "} ");
}

void
vnm_prom_sample_u64 (GString *out, const gchar *name, const gchar *labels, const gchar *extra,
                     guint64 value)
{
  append_name_labels (out, name, labels, extra);
  g_string_append_printf (out, "%" G_GUINT64_FORMAT "\n", value);
}

void
vnm_prom_sample_double (GString *out, const gchar *name, const gchar *labels, const gchar *extra,
                        gdouble value)
{
  gchar buf[G_ASCII_DTOSTR_BUF_SIZE];

  append_name_labels (out, name, labels, extra);
  if (isnan (value))
    g_string_append (out, "NaN\n");
  else if (isinf (value))
    g_string_append (out, value > 0 ? "+Inf\n" : "-Inf\n");
  else
    {
      /* Locale-independent, shortest exact form. */
      g_string_append (out, g_ascii_dtostr (buf, sizeof buf, value));
      g_string_append_c (out, '\n');
    }
}

gboolean
vnm_prom_valid_name (const gchar *name)
{
  if (!name || !*name || g_ascii_isdigit (*name))
    return FALSE;
  for (const gchar *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != ':')
      return FALSE;
  return TRUE;
}
