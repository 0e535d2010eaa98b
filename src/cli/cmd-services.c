/* cmd-services.c: `virtnetmon services DOMAIN`: the ports a VM exposes,
 * learned from its traffic. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

static gchar *
format_time (gdouble t)
{
  g_autoptr(GDateTime) dt = t > 0 ? g_date_time_new_from_unix_local ((gint64) t) : NULL;
  return dt ? g_date_time_format (dt, "%Y-%m-%d %H:%M:%S") : g_strdup ("-");
}

int
vnm_cmd_services (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (_("DOMAIN"));
  g_autoptr(VnmMonitor1) proxy = NULL;
  g_autoptr(GVariant) summary = NULL, services = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(VnmTable) table = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  const gchar *headers[] = { "PROTO", "PORT", "CLIENTS", "CONNS", "RX", "TX", "FIRST SEEN",
                             "LAST SEEN" };
  GVariantIter it;
  GVariant *rec;
  int status = 0;

  g_option_context_set_summary (octx,
    _("Show the services a domain exposes, learned from its traffic (nothing is\n"
      "sent to the guest): TCP ports on which it accepted a connection and UDP\n"
      "ports on which it answered a remote end. CLIENTS: distinct client\n"
      "addresses; CONNS: TCP connections accepted, UDP flows answered; RX: bytes\n"
      "to the VM, TX: bytes from it (L4 payload). Kept while the domain is known."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (!vnm_cli_one_domain ("services", argc, argv))
    return VNM_EXIT_USAGE;
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  if (!vnm_monitor1_call_get_services_sync (proxy, argv[1], &summary, &services, NULL, &error))
    return vnm_cli_report_error ("services", error);
  if (json)
    {
      GVariantBuilder doc;

      g_variant_builder_init (&doc, G_VARIANT_TYPE_VARDICT);
      vnm_cli_add_entries (&doc, summary);
      g_variant_builder_add (&doc, "{sv}", "services", services);
      vnm_cli_print_json (g_variant_builder_end (&doc));
      return 0;
    }
  if (g_variant_n_children (services) == 0)
    g_print (_("No service of %s seen yet.\n"), argv[1]);
  else
    {
      table = vnm_table_new (G_N_ELEMENTS (headers), headers);
      for (guint c = 1; c < 6; c++)
        vnm_table_set_numeric (table, c);
      g_variant_iter_init (&it, services);
      while ((rec = g_variant_iter_next_value (&it)))
        {
          g_autofree gchar *port = g_strdup_printf ("%" G_GINT64_FORMAT, vnm_rec_int (rec, "port"));
          g_autofree gchar *clients = vnm_rec_u64 (rec, "clients_untracked")
            ? g_strdup_printf (">%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "clients"))
            : g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "clients"));
          g_autofree gchar *conns = g_strdup_printf ("%" G_GUINT64_FORMAT, vnm_rec_u64 (rec, "connections"));
          g_autofree gchar *rx = vnm_format_bytes (vnm_rec_u64 (rec, "rx_bytes"));
          g_autofree gchar *tx = vnm_format_bytes (vnm_rec_u64 (rec, "tx_bytes"));
          g_autofree gchar *first = format_time (vnm_rec_double (rec, "first_seen"));
          g_autofree gchar *last = format_time (vnm_rec_double (rec, "last_seen"));
          const gchar *cells[] = { vnm_rec_str (rec, "proto"), port, clients, conns, rx, tx,
                                   first, last };
          vnm_table_add_row (table, cells);
          g_variant_unref (rec);
        }
      {
        g_autofree gchar *text = vnm_table_render (table);
        fputs (text, stdout);
      }
    }
  if (vnm_rec_u64 (summary, "flows_untracked"))
    g_print (_("%llu flows went to ports beyond the %llu services kept for a domain: not listed.\n"),
             (unsigned long long) vnm_rec_u64 (summary, "flows_untracked"),
             (unsigned long long) vnm_rec_u64 (summary, "services_max"));
  return 0;
}
