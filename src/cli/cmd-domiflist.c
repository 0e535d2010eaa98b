/* cmd-domiflist.c: `virtnetmon domiflist DOMAIN`, like `virsh domiflist`
 * plus the host ifindex, what mapped it, and why there are no statistics. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

int
vnm_cmd_domiflist (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) ifaces = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  g_autoptr(GString) notes = g_string_new (NULL);
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[8] = { _("Interface"), _("Type"), _("Source") };
  guint n_headers = 3;
  gboolean with_mode = FALSE;
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx, _("List a domain's network interfaces. DOMAIN is a name, id or uuid."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc < 2)
    {
      g_printerr (_("virtnetmon: domiflist: a DOMAIN (name, id or uuid) is required.\n"));
      return VNM_EXIT_USAGE;
    }
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: domiflist: unexpected argument '%s'.\n"), argv[2]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_length ("DOMAIN", argv[1], VNM_CLI_ARG_MAX_LEN))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_list_interfaces_sync (proxy, argv[1], &ifaces, NULL, &error))
    return vnm_cli_report_error ("domiflist", error);
  if (json)
    {
      vnm_cli_print_json (ifaces);
      return 0;
    }
  /* The macvtap mode (<source mode>) after the lower device, when a
   * direct interface has one. */
  g_variant_iter_init (&iter, ifaces);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      with_mode = with_mode || *vnm_rec_str (rec, "source_mode");
      g_variant_unref (rec);
    }
  if (with_mode)
    headers[n_headers++] = _("Mode");
  headers[n_headers++] = _("Model");
  headers[n_headers++] = _("MAC");
  headers[n_headers++] = _("Ifindex");
  headers[n_headers++] = _("Mapped by");
  table = vnm_table_new (n_headers, headers);
  vnm_table_set_numeric (table, n_headers - 2);
  g_variant_iter_init (&iter, ifaces);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      gint64 ifindex = vnm_rec_int (rec, "ifindex");
      g_autofree gchar *ifindex_s = ifindex > 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, ifindex) : NULL;
      const gchar *cells[8] = { vnm_rec_str (rec, "iface"), vnm_rec_str (rec, "type"),
                                vnm_rec_str (rec, "source") };
      guint n = 3;

      if (with_mode)
        cells[n++] = vnm_rec_str (rec, "source_mode");
      cells[n++] = vnm_rec_str (rec, "model");
      cells[n++] = vnm_rec_str (rec, "mac");
      cells[n++] = ifindex_s;
      cells[n++] = vnm_rec_str (rec, "mapped_by");
      vnm_table_add_row (table, cells);
      if (!vnm_rec_bool (rec, "has_stats"))
        g_string_append_printf (notes, _("Note: %s (%s): %s\n"),
                                *vnm_rec_str (rec, "iface") ? vnm_rec_str (rec, "iface") : vnm_rec_str (rec, "type"),
                                vnm_rec_str (rec, "mac"), vnm_rec_str (rec, "no_stats_reason"));
      g_variant_unref (rec);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
    if (notes->len)
      printf ("\n%s", notes->str);
  }
  return 0;
}
