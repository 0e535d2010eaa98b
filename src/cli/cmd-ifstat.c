/* cmd-ifstat.c: `virtnetmon ifstat`: every host interface with rates and
 * its VM, the reference TUI's network view without its 50-row cap. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

/* Validates ifstat's and top's shared options; FALSE after a usage error. */
gboolean
vnm_cli_check_link_options (const gchar *sort, const gchar *filter, gsize filter_max)
{
  static const gchar *const sorts[] = { "rx", "tx", NULL };

  return vnm_cli_check_choice ("sort", sort, sorts) &&
         (!filter || vnm_cli_check_length (vnm_cli_option ("filter"), filter, filter_max));
}

GVariant *
vnm_cli_get_link_stats (const VnmCliOptions *opts, const gchar *command, const gchar *sort,
                        gboolean asc, guint top, gboolean all, const gchar *filter, int *status)
{
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  GVariant *links = NULL;

  *status = VNM_EXIT_FAILURE;
  if (!(proxy = vnm_cli_connect (opts)))
    return NULL;
  if (!vnm_monitor1_call_get_link_stats_sync (proxy, sort ? sort : "tx", asc, top, all,
                                              filter ? filter : "", &links, NULL, &error))
    {
      *status = vnm_cli_report_error (command, error);
      return NULL;
    }
  *status = 0;
  return links;
}

int
vnm_cmd_ifstat (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(GVariant) links = NULL;
  g_autoptr(VnmTable) table = NULL;
  g_autofree gchar *sort = NULL;
  g_autofree gchar *filter = NULL;
  g_autofree gchar *top_text = NULL;
  gboolean json = opts->json, asc = FALSE, all = FALSE;
  guint64 top = 0;
  const GOptionEntry entries[] = {
    { "sort", 's', 0, G_OPTION_ARG_STRING, &sort, N_("Sort by 'rx' or 'tx' bit rate (default: tx)"), N_("rx|tx") },
    { "asc", 0, 0, G_OPTION_ARG_NONE, &asc, N_("Sort ascending (default: descending)"), NULL },
    { "top", 'n', 0, G_OPTION_ARG_STRING, &top_text, N_("Show at most N rows (default: all)"), N_("N") },
    { "all", 'a', 0, G_OPTION_ARG_NONE, &all, N_("Also show lo and Proxmox firewall devices (fw*)"), NULL },
    { "filter", 'f', 0, G_OPTION_ARG_STRING, &filter, N_("Keep rows whose interface, VM name or VM id contains TEXT"), N_("TEXT") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[] = { "IFACE", "STATE", "RX_Mbps", "TX_Mbps", "RX_Pkts", "TX_Pkts",
                             "RX_Err", "TX_Err", "VMID", "VM_NAME" };
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show every host network interface with its rates per second and its VM.\n"
      "RX_Pkts/TX_Pkts are packets per second, RX_Err/TX_Err errors per second.\n"
      "For VM interfaces rx/tx are the guest's view (rx = into the VM); for\n"
      "host-only interfaces the host's view. VMID is '-' for non-VM interfaces."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    {
      g_printerr (_("virtnetmon: ifstat: unexpected argument '%s'.\n"), argv[1]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_link_options (sort, filter, VNM_CLI_ARG_MAX_LEN) ||
      (top_text && !vnm_cli_parse_number ("top", top_text, 0, G_MAXUINT32, &top)))
    return VNM_EXIT_USAGE;
  if (!(links = vnm_cli_get_link_stats (opts, "ifstat", sort, asc, (guint) top, all, filter, &status)))
    return status;
  if (json)
    {
      vnm_cli_print_json (links);
      return 0;
    }
  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  for (guint c = 2; c <= 7; c++)
    vnm_table_set_numeric (table, c);
  g_variant_iter_init (&iter, links);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      g_autofree gchar *rx_mbps = vnm_format_rate (vnm_rec_double (rec, "rx_mbps"));
      g_autofree gchar *tx_mbps = vnm_format_rate (vnm_rec_double (rec, "tx_mbps"));
      g_autofree gchar *rx_pps = g_strdup_printf ("%.0f", vnm_rec_double (rec, "rx_pps"));
      g_autofree gchar *tx_pps = g_strdup_printf ("%.0f", vnm_rec_double (rec, "tx_pps"));
      g_autofree gchar *rx_err = g_strdup_printf ("%.0f", vnm_rec_double (rec, "rx_errors_ps"));
      g_autofree gchar *tx_err = g_strdup_printf ("%.0f", vnm_rec_double (rec, "tx_errors_ps"));
      gint64 id = vnm_rec_int (rec, "vm_id");
      g_autofree gchar *vm_id = id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, id) : g_strdup ("");
      const gchar *cells[] = { vnm_rec_str (rec, "iface"), vnm_rec_str (rec, "state"),
                               rx_mbps, tx_mbps, rx_pps, tx_pps, rx_err, tx_err,
                               vm_id, vnm_rec_str (rec, "vm_name") };
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  return 0;
}
