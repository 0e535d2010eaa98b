/* cmd-domifaddr.c: `virtnetmon domifaddr DOMAIN`: the addresses a VM's
 * interfaces use, like virsh domifaddr, with where each comes from and
 * when it was last seen. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

static gchar *
format_ago (gdouble when)
{
  gdouble ago = g_get_real_time () / 1e6 - when;

  if (when <= 0)
    return g_strdup ("-");
  if (ago < 1)
    ago = 0;
  if (ago < 120)
    return g_strdup_printf (_("%.0f s ago"), ago);
  if (ago < 7200)
    return g_strdup_printf (_("%.0f min ago"), ago / 60);
  return g_strdup_printf (_("%.0f h ago"), ago / 3600);
}

int
vnm_cmd_domifaddr (const VnmCliOptions *opts, int argc, char **argv)
{
  static const gchar *const sources[] = { "learned", "lease", "arp", "agent", NULL };
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) addrs = NULL, srcs = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  g_autofree gchar *iface = NULL, *source = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "interface", 'i', 0, G_OPTION_ARG_STRING, &iface,
      N_("Only this interface (host netdev or MAC)"), N_("IF") },
    { "source", 's', 0, G_OPTION_ARG_STRING, &source,
      N_("Only addresses from this source"), N_("learned|lease|arp|agent") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[] = { "NAME", "MAC ADDRESS", "PROTOCOL", "ADDRESS", "SOURCE", "LAST SEEN" };
  GVariantBuilder options;
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show the IPv4 and IPv6 addresses a domain's interfaces use, like virsh\n"
      "domifaddr, one row per address and source, with when it was last seen.\n"
      "Sources: learned = seen by the flow probe, passively (the source address\n"
      "of unicast packets the VM sent, ARP it sent from its MAC, a DHCP ACK to\n"
      "its MAC); lease = a DHCP lease of a libvirt network; arp = the host's ARP\n"
      "table; agent = the QEMU guest agent. NAME is the host netdev. Multicast,\n"
      "broadcast and unspecified addresses are never a VM's. An address not seen\n"
      "for 30 minutes is dropped."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (!vnm_cli_one_domain ("domifaddr", argc, argv) ||
      (iface && !vnm_cli_check_length ("interface", iface, VNM_CLI_ARG_MAX_LEN)) ||
      !vnm_cli_check_choice ("source", source, sources))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (iface)
    g_variant_builder_add (&options, "{sv}", "interface", g_variant_new_string (iface));
  if (source)
    g_variant_builder_add (&options, "{sv}", "source", g_variant_new_string (source));
  if (!vnm_monitor1_call_get_addresses_sync (proxy, argv[1], g_variant_builder_end (&options),
                                             &addrs, &srcs, NULL, &error))
    return vnm_cli_report_error ("domifaddr", error);
  if (json)
    {
      vnm_cli_print_json (addrs);
      return 0;
    }

  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  g_variant_iter_init (&iter, addrs);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      gint64 prefix = vnm_rec_int (rec, "prefix");
      g_autofree gchar *addr = prefix >= 0
        ? g_strdup_printf ("%s/%" G_GINT64_FORMAT, vnm_rec_str (rec, "address"), prefix)
        : g_strdup (vnm_rec_str (rec, "address"));
      g_autofree gchar *ago = format_ago (vnm_rec_double (rec, "last_seen"));
      g_autofree gchar *src = *vnm_rec_str (rec, "via")
        ? g_strdup_printf ("%s (%s)", vnm_rec_str (rec, "source"), vnm_rec_str (rec, "via"))
        : g_strdup (vnm_rec_str (rec, "source"));
      const gchar *cells[] = { vnm_rec_str (rec, "iface"), vnm_rec_str (rec, "mac"),
                               vnm_rec_str (rec, "family"), addr, src, ago };
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  if (g_variant_n_children (addrs) == 0)
    g_print (_("No addresses of %s known.\n"), argv[1]);
  else
    {
      g_autofree gchar *text = vnm_table_render (table);
      fputs (text, stdout);
    }
  /* Why a source gave nothing: said when it was asked for, or when it
   * is the reason nothing is known. */
  g_variant_iter_init (&iter, srcs);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      if (!vnm_rec_bool (rec, "available") && (source || g_variant_n_children (addrs) == 0))
        g_print (_("Source %s: %s\n"), vnm_rec_str (rec, "source"), vnm_rec_str (rec, "reason"));
      g_variant_unref (rec);
    }
  return 0;
}
