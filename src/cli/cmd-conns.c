/* cmd-conns.c: `virtnetmon conns DOMAIN`: a VM's TCP connections by state
 * and initiator, as the host sees them, and its failed handshakes. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

static const gchar *const state_keys[] = { "syn_sent", "syn_received", "established", "closing",
                                           "closed", "reset", NULL };

static gchar *
endpoint (const gchar *ip, gint64 port)
{
  if (port < 0)
    return g_strdup (*ip ? ip : "*");
  return g_strdup_printf (g_strrstr (ip, ":") ? "[%s]:%" G_GINT64_FORMAT : "%s:%" G_GINT64_FORMAT,
                          ip, port);
}

int
vnm_cmd_conns (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) summary = NULL, states = NULL, conns = NULL, failures = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree gchar *state = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "state", 's', 0, G_OPTION_ARG_STRING, &state, N_("Only list connections in this state"),
      N_("syn_sent|syn_received|established|closing|closed|reset") },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  GVariantBuilder options;
  GVariantIter it;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show a domain's TCP connections by state as their packets passed the host\n"
      "(the flow probe; nothing is asked of the guest), opened by the VM (vm), by\n"
      "the other end (remote) or before the probe attached (unknown):\n"
      "syn_sent: SYN seen, no answer (half-open); syn_received: SYN-ACK seen, no\n"
      "final ACK yet (half-open); established; closing: FIN seen one way;\n"
      "closed: FIN both ways; reset: RST. Closed and reset connections stay until\n"
      "their flow is idle. Handshake failures: refused (a RST answered the SYN)\n"
      "and timed out (the SYN was sent again with no answer), counted since the\n"
      "probe attached, and per remote for the flows kept (15 minutes)."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (!vnm_cli_one_domain ("conns", argc, argv) ||
      !vnm_cli_check_choice ("state", state, state_keys))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (state)
    g_variant_builder_add (&options, "{sv}", "state", g_variant_new_string (state));
  if (!vnm_monitor1_call_get_connections_sync (proxy, argv[1], g_variant_builder_end (&options),
                                               &summary, &states, &conns, &failures, NULL, &error))
    return vnm_cli_report_error ("conns", error);
  if (json)
    {
      GVariantBuilder doc;

      g_variant_builder_init (&doc, G_VARIANT_TYPE_VARDICT);
      vnm_cli_add_entries (&doc, summary);
      g_variant_builder_add (&doc, "{sv}", "states", states);
      g_variant_builder_add (&doc, "{sv}", "connections", conns);
      g_variant_builder_add (&doc, "{sv}", "handshake_failures", failures);
      vnm_cli_print_json (g_variant_builder_end (&doc));
      return 0;
    }

  {
    const gchar *headers[] = { "INITIATOR", "SYN_SENT", "SYN_RECV", "ESTAB", "CLOSING", "CLOSED",
                               "RESET", "REFUSED", "TIMED_OUT" };
    g_autoptr(VnmTable) table = vnm_table_new (G_N_ELEMENTS (headers), headers);
    g_autofree gchar *text = NULL;

    for (guint c = 1; c < G_N_ELEMENTS (headers); c++)
      vnm_table_set_numeric (table, c);
    g_variant_iter_init (&it, states);
    while ((rec = g_variant_iter_next_value (&it)))
      {
        gchar *cells[G_N_ELEMENTS (headers)];

        cells[0] = g_strdup (vnm_rec_str (rec, "initiator"));
        for (guint s = 0; state_keys[s]; s++)
          cells[1 + s] = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, state_keys[s]));
        cells[7] = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "handshake_refused"));
        cells[8] = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "handshake_timed_out"));
        vnm_table_add_row (table, (const gchar *const *) cells);
        for (guint c = 0; c < G_N_ELEMENTS (headers); c++)
          g_free (cells[c]);
        g_variant_unref (rec);
      }
    text = vnm_table_render (table);
    fputs (text, stdout);
  }
  if (vnm_rec_u64 (summary, "flows_evicted"))
    g_print (_("%llu flow entries were evicted from the full flow table: their connections are not listed.\n"),
             (unsigned long long) vnm_rec_u64 (summary, "flows_evicted"));

  if (g_variant_n_children (conns))
    {
      const gchar *headers[] = { "LOCAL", "REMOTE", "INITIATOR", "STATE", "TX", "RX" };
      g_autoptr(VnmTable) table = vnm_table_new (G_N_ELEMENTS (headers), headers);
      g_autofree gchar *text = NULL;

      vnm_table_set_numeric (table, 4);
      vnm_table_set_numeric (table, 5);
      g_variant_iter_init (&it, conns);
      while ((rec = g_variant_iter_next_value (&it)))
        {
          g_autofree gchar *local = endpoint (vnm_rec_str (rec, "local_ip"), vnm_rec_int (rec, "local_port"));
          g_autofree gchar *remote = endpoint (vnm_rec_str (rec, "remote_ip"), vnm_rec_int (rec, "remote_port"));
          g_autofree gchar *tx = vnm_format_bytes (vnm_rec_u64 (rec, "tx_bytes"));
          g_autofree gchar *rx = vnm_format_bytes (vnm_rec_u64 (rec, "rx_bytes"));
          const gchar *cells[] = { local, remote, vnm_rec_str (rec, "initiator"),
                                   vnm_rec_str (rec, "state"), tx, rx };
          vnm_table_add_row (table, cells);
          g_variant_unref (rec);
        }
      text = vnm_table_render (table);
      g_print ("\n");
      fputs (text, stdout);
    }

  if (g_variant_n_children (failures))
    {
      const gchar *headers[] = { "REMOTE", "LPORT", "RPORT", "INITIATOR", "REFUSED", "TIMED_OUT" };
      g_autoptr(VnmTable) table = vnm_table_new (G_N_ELEMENTS (headers), headers);
      g_autofree gchar *text = NULL;

      for (guint c = 4; c < G_N_ELEMENTS (headers); c++)
        vnm_table_set_numeric (table, c);
      g_variant_iter_init (&it, failures);
      while ((rec = g_variant_iter_next_value (&it)))
        {
          gint64 lport = vnm_rec_int (rec, "local_port"), rport = vnm_rec_int (rec, "remote_port");
          g_autofree gchar *lp = lport < 0 ? g_strdup ("*") : g_strdup_printf ("%" G_GINT64_FORMAT, lport);
          g_autofree gchar *rp = rport < 0 ? g_strdup ("*") : g_strdup_printf ("%" G_GINT64_FORMAT, rport);
          g_autofree gchar *refused = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "refused"));
          g_autofree gchar *timed = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "timed_out"));
          const gchar *cells[] = { vnm_rec_str (rec, "remote_ip"), lp, rp,
                                   vnm_rec_str (rec, "initiator"), refused, timed };
          vnm_table_add_row (table, cells);
          g_variant_unref (rec);
        }
      text = vnm_table_render (table);
      g_print (_("\nHandshake failures per remote:\n"));
      fputs (text, stdout);
    }
  return 0;
}
