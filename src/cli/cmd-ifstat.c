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

VnmLinkRows *
vnm_cli_get_link_stats (const VnmCliOptions *opts, const gchar *command, const gchar *sort,
                        gboolean asc, guint top, gboolean all, const gchar *filter,
                        const gchar *const *wanted, int *status)
{
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GError) error = NULL;
  VnmLinkRows *rows;

  *status = VNM_EXIT_FAILURE;
  if (!(proxy = vnm_cli_connect_for_calls (opts)))
    return NULL;
  if (!(rows = vnm_link_rows_fetch (proxy, sort, asc, top, all, filter, wanted, &error)))
    {
      *status = vnm_cli_report_error (command, error);
      return NULL;
    }
  *status = 0;
  return rows;
}

int
vnm_cmd_ifstat (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(VnmLinkRows) rows = NULL;
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
  /* The columns the table shows, in its order. */
  static const gchar *const shown[] = { "iface", "state", "rx_mbps", "tx_mbps", "rx_pps",
                                        "tx_pps", "rx_errors_ps", "tx_errors_ps", "vm_id",
                                        "vm_name", NULL };
  gint col[G_N_ELEMENTS (shown) - 1];
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
  if (!(rows = vnm_cli_get_link_stats (opts, "ifstat", sort, asc, (guint) top, all, filter,
                                       json ? NULL : shown, &status)))
    return status;
  if (json)
    {
      g_autofree gchar *text = vnm_link_rows_to_json (rows);

      fputs (text, stdout);
      return 0;
    }
  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  for (guint c = 2; c <= 7; c++)
    vnm_table_set_numeric (table, c);
  for (guint c = 0; c < G_N_ELEMENTS (col); c++)
    col[c] = vnm_link_rows_column (rows, shown[c]);
  for (guint i = 0; i < vnm_link_rows_count (rows); i++)
    {
      g_autofree gchar *rx_mbps = vnm_format_rate (vnm_link_rows_double (rows, i, col[2]));
      g_autofree gchar *tx_mbps = vnm_format_rate (vnm_link_rows_double (rows, i, col[3]));
      g_autofree gchar *rx_pps = g_strdup_printf ("%.0f", vnm_link_rows_double (rows, i, col[4]));
      g_autofree gchar *tx_pps = g_strdup_printf ("%.0f", vnm_link_rows_double (rows, i, col[5]));
      g_autofree gchar *rx_err = g_strdup_printf ("%.0f", vnm_link_rows_double (rows, i, col[6]));
      g_autofree gchar *tx_err = g_strdup_printf ("%.0f", vnm_link_rows_double (rows, i, col[7]));
      gint64 id = vnm_link_rows_int (rows, i, col[8]);
      g_autofree gchar *vm_id = id >= 0 ? g_strdup_printf ("%" G_GINT64_FORMAT, id) : g_strdup ("");
      const gchar *cells[] = { vnm_link_rows_str (rows, i, col[0]), vnm_link_rows_str (rows, i, col[1]),
                               rx_mbps, tx_mbps, rx_pps, tx_pps, rx_err, tx_err,
                               vm_id, vnm_link_rows_str (rows, i, col[9]) };
      vnm_table_add_row (table, cells);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  return 0;
}
