/* cmd-drops.c: `virtnetmon drops DOMAIN`: a VM's packets the kernel
 * dropped, by interface, direction and drop reason. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

int
vnm_cmd_drops (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) drops = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[] = { "IFACE", "DIR", "REASON", "PACKETS" };
  GVariantIter it;
  GVariant *rec;
  guint64 total = 0;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show a domain's packets that the kernel dropped (skb:kfree_skb), by host\n"
      "netdev, direction (tx = sent by the VM, rx = sent to it) and the kernel's\n"
      "drop reason (NETFILTER_DROP: a firewall rule; FULL_RING: the guest did not\n"
      "read its queue in time; ...), counted since the netdev appeared."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (!vnm_cli_one_domain ("drops", argc, argv))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_get_drops_sync (proxy, argv[1], &drops, NULL, &error))
    return vnm_cli_report_error ("drops", error);
  if (json)
    {
      vnm_cli_print_json (drops);
      return 0;
    }
  if (g_variant_n_children (drops) == 0)
    {
      g_print (_("No drops of %s.\n"), argv[1]);
      return 0;
    }
  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  vnm_table_set_numeric (table, 3);
  g_variant_iter_init (&it, drops);
  while ((rec = g_variant_iter_next_value (&it)))
    {
      g_autofree gchar *n = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "packets"));
      const gchar *cells[] = { vnm_rec_str (rec, "iface"), vnm_rec_str (rec, "direction"),
                               vnm_rec_str (rec, "reason"), n };
      total += vnm_rec_u64 (rec, "packets");
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  g_print (_("%llu packets dropped.\n"), (unsigned long long) total);
  return 0;
}
