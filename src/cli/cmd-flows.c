/* cmd-flows.c: `virtnetmon flows DOMAIN`: who a VM talks to and whether its
 * TCP is healthy, aggregated like the reference product's network list. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

static gchar *
format_us (gdouble us, guint64 samples)
{
  if (!samples)
    return g_strdup ("-");
  if (us >= 1000)
    return g_strdup_printf ("%.1fms", us / 1000);
  return g_strdup_printf ("%.0fus", us);
}

int
vnm_cmd_flows (const VnmCliOptions *opts, int argc, char **argv)
{
  static const gchar *const initiators[] = { "vm", "remote", NULL };
  static const gchar *const protos[] = { "tcp", "udp", "icmp", NULL };
  static const gchar *const bys[] = { "flow", "remote", "remote-port", "local-port", NULL };
  static const gchar *const sorts[] = { "bytes", "rtt", "retrans", "conns", NULL };
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) flows = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  g_autofree gchar *direction = NULL, *proto = NULL, *by = NULL, *sort = NULL, *top_text = NULL;
  gboolean json = opts->json, non_unicast = FALSE;
  guint64 top = 0;
  const GOptionEntry entries[] = {
    { "initiator", 0, 0, G_OPTION_ARG_STRING, &direction,
      N_("Only flows opened by the VM or by the remote end"), N_("vm|remote") },
    { "proto", 'p', 0, G_OPTION_ARG_STRING, &proto, N_("Only this protocol"), N_("tcp|udp|icmp") },
    { "by", 'b', 0, G_OPTION_ARG_STRING, &by,
      N_("Group by flow, remote address, remote address and port (default) or local port"),
      N_("flow|remote|remote-port|local-port") },
    { "sort", 's', 0, G_OPTION_ARG_STRING, &sort,
      N_("Sort by bytes (default), average RTT, retransmissions or connections"),
      N_("bytes|rtt|retrans|conns") },
    { "top", 'n', 0, G_OPTION_ARG_STRING, &top_text, N_("Show at most N rows (default: all)"), N_("N") },
    { "non-unicast", 0, 0, G_OPTION_ARG_NONE, &non_unicast,
      N_("Also flows to or from multicast, broadcast or unspecified addresses"), NULL },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[] = { "REMOTE", "PEER", "PORT", "LOCAL", "LPORT", "PROTO", "OPENED", "TX", "RX",
                             "RTT", "JITTER", "CONNS", "CLOSED", "RESETS", "RETRANS" };
  GVariantBuilder options;
  GVariantIter iter;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show who a domain talks to, from the flow probe on its host devices.\n"
      "The VM's view: LOCAL is the VM, TX is what it sent, RX what it received\n"
      "(L4 payload bytes). OPENED is who opened the flow: vm, or remote (the\n"
      "other end), unknown (running before the probe attached) or mixed (a row\n"
      "that groups flows opened by both). PEER is what the remote is: vm:NAME\n"
      "(another VM of this host, by its addresses, link-local included),\n"
      "host:IFACE (this host's own address), dns:NAME (a remote address the VM\n"
      "looked NAME up for: a DNS answer to it passed the probe) or empty.\n"
      "Flows to or from multicast, broadcast or unspecified addresses are no\n"
      "conversation and shown only with --non-unicast. RTT is the TCP round trip\n"
      "the VM sees beyond the host (handshake and timestamps), JITTER the mean\n"
      "change between consecutive samples. CLOSED counts connections closed\n"
      "(FIN both ways); a flow is active until it closes, resets or ends.\n"
      "Flows that ended (idle, or the VM stopped) are kept for 15 minutes."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc < 2)
    {
      g_printerr (_("virtnetmon: flows: which domain? Give a name, id or uuid.\n"));
      return VNM_EXIT_USAGE;
    }
  if (argc > 2)
    {
      g_printerr (_("virtnetmon: flows: unexpected argument '%s'.\n"), argv[2]);
      return VNM_EXIT_USAGE;
    }
  if (!vnm_cli_check_length ("DOMAIN", argv[1], VNM_CLI_ARG_MAX_LEN) ||
      !vnm_cli_check_choice ("initiator", direction, initiators) ||
      !vnm_cli_check_choice ("proto", proto, protos) ||
      !vnm_cli_check_choice ("by", by, bys) ||
      !vnm_cli_check_choice ("sort", sort, sorts) ||
      (top_text && !vnm_cli_parse_number ("top", top_text, 0, G_MAXUINT32, &top)))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (direction)
    g_variant_builder_add (&options, "{sv}", "initiator", g_variant_new_string (direction));
  if (proto)
    g_variant_builder_add (&options, "{sv}", "proto", g_variant_new_string (proto));
  if (by)
    g_variant_builder_add (&options, "{sv}", "by", g_variant_new_string (by));
  if (sort)
    g_variant_builder_add (&options, "{sv}", "sort", g_variant_new_string (sort));
  g_variant_builder_add (&options, "{sv}", "top", g_variant_new_uint32 ((guint32) top));
  if (non_unicast)
    g_variant_builder_add (&options, "{sv}", "non_unicast", g_variant_new_boolean (TRUE));
  if (!vnm_monitor1_call_get_flows_sync (proxy, argv[1], g_variant_builder_end (&options),
                                         &flows, NULL, &error))
    return vnm_cli_report_error ("flows", error);
  if (json)
    {
      vnm_cli_print_json (flows);
      return 0;
    }

  table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  for (guint c = 7; c < G_N_ELEMENTS (headers); c++)
    vnm_table_set_numeric (table, c);
  g_variant_iter_init (&iter, flows);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      gint64 port = vnm_rec_int (rec, "remote_port"), lport = vnm_rec_int (rec, "local_port");
      const gchar *remote = vnm_rec_str (rec, "remote_ip"), *local = vnm_rec_str (rec, "local_ip");
      g_autofree gchar *port_s = port < 0 ? g_strdup ("*") : g_strdup_printf ("%" G_GINT64_FORMAT, port);
      g_autofree gchar *lport_s = lport < 0 ? g_strdup ("*") : g_strdup_printf ("%" G_GINT64_FORMAT, lport);
      g_autofree gchar *tx = vnm_format_bytes (vnm_rec_u64 (rec, "tx_bytes"));
      g_autofree gchar *rx = vnm_format_bytes (vnm_rec_u64 (rec, "rx_bytes"));
      g_autofree gchar *rtt = format_us (vnm_rec_double (rec, "rtt_avg_us"), vnm_rec_u64 (rec, "rtt_samples"));
      g_autofree gchar *jitter = format_us (vnm_rec_double (rec, "jitter_us"),
                                            vnm_rec_u64 (rec, "rtt_samples") > 1);
      g_autofree gchar *conns = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "tcp_conns_opened"));
      g_autofree gchar *closed = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "tcp_conns_closed"));
      g_autofree gchar *resets = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "tcp_resets"));
      g_autofree gchar *retrans = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "tcp_retrans"));
      const gchar *kind = vnm_rec_str (rec, "remote_kind"), *name = vnm_rec_str (rec, "remote_name");
      /* vm:NAME, host:IFACE, dns:NAME (a remote the VM looked up). */
      g_autofree gchar *peer = g_str_equal (kind, "vm") || g_str_equal (kind, "host")
        ? g_strdup_printf ("%s:%s", kind, name)
        : g_str_equal (kind, "remote") && *name ? g_strdup_printf ("dns:%s", name)
        : g_strdup (g_str_equal (kind, "remote") ? "" : kind);
      const gchar *cells[] = { *remote ? remote : "*", peer, port_s, *local ? local : "*", lport_s,
                               vnm_rec_str (rec, "proto"), vnm_rec_str (rec, "initiator"),
                               tx, rx, rtt, jitter, conns, closed, resets, retrans };
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  {
    g_autofree gchar *text = vnm_table_render (table);
    fputs (text, stdout);
  }
  return 0;
}
