/* cmd-list.c: `virtnetmon list`: the running domains. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

int
vnm_cmd_list (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) domains = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  gboolean json = opts->json, title = FALSE, nova = FALSE;
  const GOptionEntry entries[] = {
    { "title", 0, 0, G_OPTION_ARG_NONE, &title, N_("Show each domain's title (libvirt's <title>)"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[9] = { _("Id"), _("Name"), _("UUID"), _("State"), _("Interfaces"), _("Mapped by") };
  guint n_headers = 6;
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx, _("List the running domains virtnetmond knows, from libvirt or from QEMU command lines."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    {
      g_printerr (_("virtnetmon: list: unexpected argument '%s'.\n"), argv[1]);
      return VNM_EXIT_USAGE;
    }
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_list_domains_sync (proxy, &domains, NULL, &error))
    return vnm_cli_report_error ("list", error);
  if (json)
    {
      vnm_cli_print_json (domains);
      return 0;
    }
  /* On an OpenStack compute node, the Nova instance and project too. */
  g_variant_iter_init (&iter, domains);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      nova |= *vnm_rec_str (rec, "nova_instance_name") != '\0';
      g_variant_unref (rec);
    }
  if (nova)
    {
      headers[n_headers++] = _("Instance");
      headers[n_headers++] = _("Project");
    }
  if (title)
    headers[n_headers++] = _("Title");
  table = vnm_table_new (n_headers, headers);
  vnm_table_set_numeric (table, 0);
  vnm_table_set_numeric (table, 4);
  g_variant_iter_init (&iter, domains);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      gint64 id = vnm_rec_int (rec, "vm_id");
      g_autofree gchar *id_s = id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, id) : g_strdup ("-");
      g_autofree gchar *n_s = g_strdup_printf ("%" G_GINT64_FORMAT, vnm_rec_int (rec, "n_interfaces"));
      const gchar *cells[9] = { id_s, vnm_rec_str (rec, "vm_name"), vnm_rec_str (rec, "vm_uuid"),
                                vnm_rec_str (rec, "state"), n_s, vnm_rec_str (rec, "mapped_by") };
      guint n = 6;
      if (nova)
        {
          cells[n++] = vnm_rec_str (rec, "nova_instance_name");
          cells[n++] = vnm_rec_str (rec, "nova_project_name");
        }
      if (title)
        cells[n++] = vnm_rec_str (rec, "vm_title");
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  return 0;
}
