/* device-ledger.c: which host devices a run's kernel objects are of. */
#include "config.h"

#include <stdio.h>

#include "device-ledger.h"

struct _VnmDeviceLedger {
  gchar *path;
  gchar *title;
  GString *next;            /* contents being built */
  gchar *written;           /* contents last written, or NULL */
};

VnmDeviceLedger *
vnm_device_ledger_new (const gchar *path, const gchar *title)
{
  VnmDeviceLedger *l = g_new0 (VnmDeviceLedger, 1);

  l->path = g_strdup (path);
  l->title = g_strdup (title);
  l->next = g_string_new (NULL);
  vnm_device_ledger_clear (l);
  return l;
}

void
vnm_device_ledger_free (VnmDeviceLedger *l)
{
  if (!l)
    return;
  g_free (l->path);
  g_free (l->title);
  g_string_free (l->next, TRUE);
  g_free (l->written);
  g_free (l);
}

const gchar *
vnm_device_ledger_path (VnmDeviceLedger *l)
{
  return l->path;
}

void
vnm_device_ledger_clear (VnmDeviceLedger *l)
{
  g_string_printf (l->next, "# %s\n", l->title);
}

void
vnm_device_ledger_add (VnmDeviceLedger *l, gint ifindex, const gchar *name, gint flag)
{
  g_string_append_printf (l->next, "%d %s %d\n", ifindex, name, flag);
}

gboolean
vnm_device_ledger_write (VnmDeviceLedger *l, GError **error)
{
  if (g_strcmp0 (l->next->str, l->written) == 0)
    return TRUE;
  if (!g_file_set_contents (l->path, l->next->str, l->next->len, error))
    return FALSE;
  g_free (l->written);
  l->written = g_strdup (l->next->str);
  return TRUE;
}

GArray *
vnm_device_ledger_read_same_devices (const gchar *path)
{
  GArray *out = g_array_new (FALSE, TRUE, sizeof (VnmLedgerEntry));
  g_autofree gchar *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (path, &text, NULL, NULL))
    return out;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i]; i++)
    {
      VnmLedgerEntry e = { 0 };
      gchar name[IF_NAMESIZE + 1] = "", now_name[IF_NAMESIZE] = "";

      /* Files of earlier versions have no FLAG on some lines. */
      if (lines[i][0] == '#' || sscanf (lines[i], "%d %16s %d", &e.ifindex, name, &e.flag) < 2)
        continue;
      if (!if_indextoname (e.ifindex, now_name) || !g_str_equal (now_name, name))
        continue;
      g_strlcpy (e.name, name, sizeof e.name);
      g_array_append_val (out, e);
    }
  return out;
}
