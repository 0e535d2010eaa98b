/* cmd-usage.c: `virtnetmon usage [DOMAIN]`: traffic totals by month or
 * day that survive reboots (GetUsage), like vnstat on a single host. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

/* YYYY-MM with a month from 01 to 12. */
static gboolean
valid_month (const gchar *text)
{
  if (strlen (text) != 7 || text[4] != '-')
    return FALSE;
  for (guint i = 0; i < 7; i++)
    if (i != 4 && !g_ascii_isdigit (text[i]))
      return FALSE;
  return g_ascii_strtoull (text + 5, NULL, 10) >= 1 && g_ascii_strtoull (text + 5, NULL, 10) <= 12 &&
         g_ascii_strtoull (text, NULL, 10) >= 1970;
}

int
vnm_cmd_usage (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("[DOMAIN]"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) usage = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  g_autofree gchar *month = NULL;
  gboolean json = opts->json, daily = FALSE, interfaces = FALSE;
  const GOptionEntry entries[] = {
    { "month", 'm', 0, G_OPTION_ARG_STRING, &month,
      N_("The month to show, UTC (default: this month)"), N_("YYYY-MM") },
    { "daily", 'd', 0, G_OPTION_ARG_NONE, &daily, N_("One row per day of the month"), NULL },
    { "interfaces", 'i', 0, G_OPTION_ARG_NONE, &interfaces,
      N_("Also one row per interface of each VM"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *domain = "";
  GVariantBuilder ob;
  GVariantIter it;
  GVariant *rec;
  guint64 rx_sum = 0, tx_sum = 0;
  guint n_vm_rows = 0;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show how much each VM received and sent in a month (or each day of it),\n"
      "from totals virtnetmond keeps in its usage database: they survive daemon\n"
      "restarts and host reboots. Counted from the kernel's counters of each VM\n"
      "interface, in the guest's view (rx = into the VM); months and days are UTC.\n"
      "Without DOMAIN, every VM with traffic in the month; DOMAIN is a running\n"
      "domain's name, id or uuid, or the name or uuid of a VM that has totals."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: usage: unexpected argument '%s'.\n"), argv[2]);
      return VNM_EXIT_USAGE;
    }
  if (argc == 2)
    {
      domain = argv[1];
      if (!vnm_cli_check_length ("DOMAIN", domain, VNM_CLI_ARG_MAX_LEN))
        return VNM_EXIT_USAGE;
    }
  if (month && !valid_month (month))
    {
      vnm_cli_bad_value ("month", month, "YYYY-MM");
      return VNM_EXIT_USAGE;
    }
  g_variant_builder_init (&ob, G_VARIANT_TYPE_VARDICT);
  if (month)
    g_variant_builder_add (&ob, "{sv}", "month", g_variant_new_string (month));
  if (daily)
    g_variant_builder_add (&ob, "{sv}", "daily", g_variant_new_boolean (TRUE));
  if (interfaces)
    g_variant_builder_add (&ob, "{sv}", "interfaces", g_variant_new_boolean (TRUE));
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_get_usage_sync (proxy, domain, g_variant_builder_end (&ob), &usage,
                                         NULL, &error))
    return vnm_cli_report_error ("usage", error);
  if (json)
    {
      vnm_cli_print_json (usage);
      return 0;
    }
  if (!month)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      month = g_date_time_format (now, "%Y-%m");
    }
  if (g_variant_n_children (usage) == 0)
    {
      if (*domain)
        g_print (_("No traffic of %s in %s (UTC).\n"), domain, month);
      else
        g_print (_("No traffic of any VM in %s (UTC).\n"), month);
      return 0;
    }
  {
    const gchar *headers[] = { daily ? "DAY" : "MONTH", "VM_NAME", "VM_UUID", "IFACE",
                               "RX", "TX", "TOTAL" };
    table = vnm_table_new (G_N_ELEMENTS (headers), headers);
    for (guint c = 4; c < 7; c++)
      vnm_table_set_numeric (table, c);
  }
  g_variant_iter_init (&it, usage);
  while ((rec = g_variant_iter_next_value (&it)))
    {
      guint64 rx = vnm_rec_u64 (rec, "rx_bytes"), tx = vnm_rec_u64 (rec, "tx_bytes");
      g_autofree gchar *rx_s = vnm_format_bytes (rx);
      g_autofree gchar *tx_s = vnm_format_bytes (tx);
      g_autofree gchar *total_s = vnm_format_bytes (rx + tx);
      const gchar *iface = vnm_rec_str (rec, "iface");
      const gchar *cells[] = { vnm_rec_str (rec, "period_start"), vnm_rec_str (rec, "vm_name"),
                               vnm_rec_str (rec, "vm_uuid"), *iface ? iface : "-",
                               rx_s, tx_s, total_s };

      if (!*iface)
        {
          rx_sum += rx;
          tx_sum += tx;
          n_vm_rows++;
        }
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  g_print (_("Traffic in %s (UTC), guest's view (rx = into the VM):\n"), month);
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  if (n_vm_rows > 1)
    {
      g_autofree gchar *rx_s = vnm_format_bytes (rx_sum);
      g_autofree gchar *tx_s = vnm_format_bytes (tx_sum);
      g_autofree gchar *total_s = vnm_format_bytes (rx_sum + tx_sum);
      g_print (_("All rows: rx %s, tx %s, total %s.\n"), rx_s, tx_s, total_s);
    }
  return 0;
}
