/* cmd-domifstat.c: `virtnetmon domifstat DOMAIN [IFACE]`, the fields of
 * `virsh domifstat` (guest's view) plus current rates. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-i18n.h"

/* The text output prints the counters under virsh's names, so that
 * scripts written for `virsh domifstat` read it; --json has the record's
 * keys (rx_errors, rx_drops, ...). */
static const struct {
  const gchar *virsh_name, *key;
} counters[] = {
  { "rx_bytes", "rx_bytes" }, { "rx_packets", "rx_packets" },
  { "rx_errs", "rx_errors" }, { "rx_drop", "rx_drops" },
  { "tx_bytes", "tx_bytes" }, { "tx_packets", "tx_packets" },
  { "tx_errs", "tx_errors" }, { "tx_drop", "tx_drops" },
};
static const gchar *rate_keys[] = {
  "rx_mbps", "tx_mbps", "rx_pps", "tx_pps",
  "rx_errors_ps", "tx_errors_ps", "rx_drops_ps", "tx_drops_ps",
};

int
vnm_cmd_domifstat (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN [IFACE]"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) stats = NULL;
  g_autoptr(GError) error = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show a domain's interface counters and rates in the guest's view (rx = into\n"
      "the VM), as `virsh domifstat` does. IFACE is a target device name, MAC address\n"
      "or alias; without it, every interface with host-side statistics."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc < 2)
    {
      g_printerr (_("virtnetmon: domifstat: a DOMAIN (name, id or uuid) is required.\n"));
      return VNM_EXIT_USAGE;
    }
  if (argc > 3)
    {
      g_printerr (_("virtnetmon: domifstat: unexpected argument '%s'.\n"), argv[3]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_length ("DOMAIN", argv[1], VNM_CLI_ARG_MAX_LEN) ||
      (argc == 3 && !vnm_cli_check_length ("IFACE", argv[2], VNM_CLI_ARG_MAX_LEN)))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_get_interface_stats_sync (proxy, argv[1], argc == 3 ? argv[2] : "",
                                                   &stats, NULL, &error))
    return vnm_cli_report_error ("domifstat", error);
  if (json)
    {
      vnm_cli_print_json (stats);
      return 0;
    }
  g_variant_iter_init (&iter, stats);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      const gchar *name = vnm_rec_str (rec, "iface");

      for (guint i = 0; i < G_N_ELEMENTS (counters); i++)
        printf ("%s %s %" G_GUINT64_FORMAT "\n", name, counters[i].virsh_name,
                vnm_rec_u64 (rec, counters[i].key));
      for (guint i = 0; i < G_N_ELEMENTS (rate_keys); i++)
        printf ("%s %s %.3f\n", name, rate_keys[i], vnm_rec_double (rec, rate_keys[i]));
      printf ("\n");
      g_variant_unref (rec);
    }
  return 0;
}
