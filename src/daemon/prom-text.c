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
vnm_prom_append_u64 (GString *out, guint64 value)
{
  gchar buf[24];
  gchar *p = buf + sizeof buf;

  do
    {
      *--p = (gchar) ('0' + value % 10);
      value /= 10;
    }
  while (value);
  g_string_append_len (out, p, buf + sizeof buf - p);
}

void
vnm_prom_sample_u64 (GString *out, const gchar *name, const gchar *labels, const gchar *extra,
                     guint64 value)
{
  append_name_labels (out, name, labels, extra);
  vnm_prom_append_u64 (out, value);
  g_string_append_c (out, '\n');
}

void
vnm_prom_histogram (GString *out, const gchar *name, const gchar *labels,
                    const gchar *const *le, const guint64 *cumulative, guint n_bounds,
                    gdouble sum, guint64 count)
{
  g_autoptr(GString) prefix = g_string_new (name);
  g_autofree gchar *sum_name = g_strconcat (name, "_sum", NULL);
  g_autofree gchar *count_name = g_strconcat (name, "_count", NULL);

  /* "name_bucket{labels,le=\"" once; each bucket adds its bound and count. */
  g_string_append (prefix, "_bucket{");
  if (labels && *labels)
    {
      g_string_append (prefix, labels);
      g_string_append_c (prefix, ',');
    }
  g_string_append (prefix, "le=\"");
  for (guint i = 0; i <= n_bounds; i++)
    {
      g_string_append_len (out, prefix->str, prefix->len);
      g_string_append (out, i < n_bounds ? le[i] : "+Inf");
      g_string_append_len (out, "\"} ", 3);
      vnm_prom_append_u64 (out, i < n_bounds ? cumulative[i] : count);
      g_string_append_c (out, '\n');
    }
  vnm_prom_sample_double (out, sum_name, labels, NULL, sum);
  vnm_prom_sample_u64 (out, count_name, labels, NULL, count);
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
