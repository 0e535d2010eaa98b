/* cmd-status.c: `virtnetmon status`: the daemon's version, libvirt
 * connection, interval and what the kernel offers for probes. */
#include "config.h"

#include <stdio.h>

#include "client.h"
#include "vnm-format.h"
#include "vnm-i18n.h"

static void
print_json (VnmMonitor1 *proxy, const gchar *version, GVariant *caps, GVariant *flow_table,
            GVariant *probes, GVariant *latency, GVariant *ipfix, GVariant *usage_store,
            GVariant *address_book)
{
  GVariantBuilder b;
  g_autoptr(GVariant) doc = NULL;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "version", g_variant_new_string (version));
  g_variant_builder_add (&b, "{sv}", "libvirt_uri",
                         g_variant_new_string (vnm_monitor1_get_libvirt_uri (proxy)));
  g_variant_builder_add (&b, "{sv}", "libvirt_connected",
                         g_variant_new_boolean (vnm_monitor1_get_libvirt_connected (proxy)));
  g_variant_builder_add (&b, "{sv}", "interval_seconds",
                         g_variant_new_double (vnm_monitor1_get_interval (proxy)));
  g_variant_builder_add (&b, "{sv}", "interface_count",
                         g_variant_new_uint32 (vnm_monitor1_get_interface_count (proxy)));
  if (caps)
    g_variant_builder_add (&b, "{sv}", "kernel_capabilities", caps);
  if (flow_table)
    g_variant_builder_add (&b, "{sv}", "flow_table", flow_table);
  if (probes)
    g_variant_builder_add (&b, "{sv}", "probes", probes);
  if (latency)
    g_variant_builder_add (&b, "{sv}", "latency", latency);
  if (ipfix)
    g_variant_builder_add (&b, "{sv}", "ipfix", ipfix);
  if (usage_store)
    g_variant_builder_add (&b, "{sv}", "usage_store", usage_store);
  if (address_book)
    g_variant_builder_add (&b, "{sv}", "address_book", address_book);
  doc = g_variant_ref_sink (g_variant_builder_end (&b));
  vnm_cli_print_json (doc);
}

static void
print_capabilities (GVariant *caps)
{
  GVariantIter iter;
  const gchar *key;
  GVariant *value;
  g_autoptr(GString) yes = g_string_new (NULL);
  g_autoptr(GString) no = g_string_new (NULL);
  g_autofree const gchar **notes = NULL;

  g_variant_iter_init (&iter, caps);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
        g_string_append_printf (g_variant_get_boolean (value) ? yes : no, " %s", key);
      g_variant_unref (value);
    }
  printf (_("Kernel offers:      %s\n"), yes->len ? yes->str : _(" nothing"));
  printf (_("Kernel refuses:     %s\n"), no->len ? no->str : _(" nothing"));
  if (g_variant_lookup (caps, "notes", "^a&s", &notes))
    for (guint i = 0; notes[i]; i++)
      printf ("  %s\n", notes[i]);
}

static void
print_flow_table (GVariant *flow_table)
{
  const gchar *reason = vnm_rec_str (flow_table, "reason");
  if (vnm_rec_bool (flow_table, "available"))
    {
      printf (_("Flow probe:          %s, table of %u flows\n"),
              vnm_rec_str (flow_table, "program"), (guint) vnm_rec_u64 (flow_table, "size"));
      if (vnm_rec_u64 (flow_table, "cache_slots"))
        printf (_("Flow cache:          %u slots a CPU (UDP, ICMP)\n"),
                (guint) vnm_rec_u64 (flow_table, "cache_slots"));
      else
        printf (_("Flow cache:          off (the kernel refused it; every packet takes the table)\n"));
      if (*vnm_rec_str (flow_table, "pin_status"))
        printf (_("Flow maps:           %s\n"), vnm_rec_str (flow_table, "pin_status"));
    }
  else
    printf (_("Flow probe:          not available: %s\n"), reason);
}

static void
print_latency (GVariant *latency)
{
  if (vnm_rec_bool (latency, "available"))
    {
      g_autofree const gchar **traced = NULL;
      g_autofree gchar *names = NULL;
      g_variant_lookup (latency, "traced", "^a&s", &traced);
      names = traced && traced[0] ? g_strjoinv (", ", (gchar **) traced) : g_strdup (_("none"));
      printf (_("Latency probe:       %s tracepoints; traced: %s%s\n"), vnm_rec_str (latency, "program"),
              vnm_rec_bool (latency, "all") ? _("every domain: ") : "", names);
      printf (_("Slow-packet events:  %llu sent, %llu lost (ring full), %llu over the rate limit, %u listening\n"),
              (unsigned long long) vnm_rec_u64 (latency, "events_sent"),
              (unsigned long long) vnm_rec_u64 (latency, "events_lost_kernel"),
              (unsigned long long) vnm_rec_u64 (latency, "events_lost_rate_limit"),
              (guint) vnm_rec_u64 (latency, "subscribers"));
      if (vnm_rec_bool (latency, "sampling"))
        printf (ngettext ("Latency sampling:    %u ms every %g s for %u domain not traced in full; "
                          "programs %s now; %llu windows, %llu refused\n",
                          "Latency sampling:    %u ms every %g s for %u domains not traced in full; "
                          "programs %s now; %llu windows, %llu refused\n",
                          vnm_rec_u64 (latency, "sampled_domains")),
                (guint) vnm_rec_u64 (latency, "sampling_window_ms"),
                vnm_rec_double (latency, "sampling_period_seconds"),
                (guint) vnm_rec_u64 (latency, "sampled_domains"),
                vnm_rec_str (latency, "programs_mode"),
                (unsigned long long) vnm_rec_u64 (latency, "sampling_windows"),
                (unsigned long long) vnm_rec_u64 (latency, "sampling_windows_failed"));
      else
        printf (_("Latency sampling:    off (programs %s)\n"), vnm_rec_str (latency, "programs_mode"));
    }
  else
    printf (_("Latency probe:       not available: %s\n"), vnm_rec_str (latency, "reason"));
  printf (_("kprobe/fentry stages: %s\n"), vnm_rec_str (latency, "extra_stages"));
}

static void
print_ipfix (GVariant *ipfix)
{
  const gchar *error;

  if (!vnm_rec_bool (ipfix, "enabled"))
    {
      printf (_("IPFIX export:        off\n"));
      return;
    }
  printf (_("IPFIX export:        %s over %s, %s; active timeout %u s, idle timeout %u s\n"),
          vnm_rec_str (ipfix, "collector"), vnm_rec_str (ipfix, "transport"),
          vnm_rec_bool (ipfix, "connected") ? _("connected") : _("not connected"),
          (guint) vnm_rec_u64 (ipfix, "active_timeout_seconds"),
          (guint) vnm_rec_u64 (ipfix, "idle_timeout_seconds"));
  printf (_("IPFIX sent:          %llu records in %llu messages (%llu bytes), templates %llu times\n"),
          (unsigned long long) vnm_rec_u64 (ipfix, "records_sent"),
          (unsigned long long) vnm_rec_u64 (ipfix, "messages_sent"),
          (unsigned long long) vnm_rec_u64 (ipfix, "bytes_sent"),
          (unsigned long long) vnm_rec_u64 (ipfix, "template_sends"));
  printf (_("IPFIX not sent:      %llu records in %llu messages\n"),
          (unsigned long long) vnm_rec_u64 (ipfix, "records_dropped"),
          (unsigned long long) vnm_rec_u64 (ipfix, "messages_dropped"));
  if (*(error = vnm_rec_str (ipfix, "last_error")))
    printf (_("IPFIX last error:    %s\n"), error);
}

static void
print_address_book (GVariant *a)
{
  printf (_("VM addresses:        %u kept (at most %u, %u an interface and source), dropped after "
            "%u s unseen; %llu refused for want of room\n"),
          (guint) vnm_rec_u64 (a, "count"), (guint) vnm_rec_u64 (a, "capacity"),
          (guint) vnm_rec_u64 (a, "per_iface"), (guint) vnm_rec_u64 (a, "max_age_seconds"),
          (unsigned long long) vnm_rec_u64 (a, "overflow"));
  printf (_("Looked-up names:     %u kept (at most %u a VM), from %llu DNS answers to VMs; "
            "%llu messages were no answer, %llu unasked, %llu lost (ring buffer full), %llu names "
            "refused for want of room\n"),
          (guint) vnm_rec_u64 (a, "dns_names"), (guint) vnm_rec_u64 (a, "dns_names_per_vm"),
          (unsigned long long) vnm_rec_u64 (a, "dns_answers"),
          (unsigned long long) vnm_rec_u64 (a, "dns_refused"),
          (unsigned long long) vnm_rec_u64 (a, "dns_unasked"),
          (unsigned long long) vnm_rec_u64 (a, "dns_lost"),
          (unsigned long long) vnm_rec_u64 (a, "dns_names_overflow"));
}

static void
print_usage_store (GVariant *u)
{
  const gchar *path = vnm_rec_str (u, "path");
  const gchar *err = vnm_rec_str (u, "last_error");
  const gchar *recovery = vnm_rec_str (u, "last_recovery");
  gdouble last = vnm_rec_double (u, "last_write");

  if (!*path)
    printf (_("Usage database:      none (totals in memory only)\n"));
  else
    {
      g_autofree gchar *when = NULL;
      if (last > 0)
        {
          g_autoptr(GDateTime) dt = g_date_time_new_from_unix_local ((gint64) last);
          when = g_date_time_format (dt, "%Y-%m-%d %H:%M:%S");
        }
      printf (_("Usage database:      %s, %s; last written %s, %u rows waiting (every %.0f s)\n"),
              path, vnm_rec_bool (u, "available") ? _("ok") : _("failing"),
              when ? when : _("never"), (guint) vnm_rec_u64 (u, "pending_rows"),
              vnm_rec_double (u, "flush_interval_seconds"));
    }
  if (*err)
    printf ("  %s\n", err);
  if (*recovery && g_strcmp0 (recovery, err) != 0)
    printf ("  %s\n", recovery);
  if (vnm_rec_u64 (u, "dropped_rows"))
    printf (_("  %llu rows dropped while the database could not be written\n"),
            (unsigned long long) vnm_rec_u64 (u, "dropped_rows"));
}

static void
print_probes (GVariant *probes)
{
  const gchar *headers[] = { "IFACE", "VM_NAME", "PROGRAM", "ATTACHED", "FLOWS", "EVICTED", "REASON" };
  g_autoptr(VnmTable) table = vnm_table_new (G_N_ELEMENTS (headers), headers);
  GVariantIter iter;
  GVariant *rec;

  printf (_("Probes:\n"));
  g_variant_iter_init (&iter, probes);
  while ((rec = g_variant_iter_next_value (&iter)))
    {
      gboolean attached = vnm_rec_bool (rec, "attached");
      g_autofree gchar *program = g_strdup_printf ("%s %s", vnm_rec_str (rec, "program"),
                                                   vnm_rec_str (rec, "hooks"));
      g_autofree gchar *flows = attached ? g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                            vnm_rec_u64 (rec, "flows_active"))
                                         : g_strdup ("-");
      g_autofree gchar *evicted = attached ? g_strdup_printf ("%" G_GUINT64_FORMAT,
                                                              vnm_rec_u64 (rec, "flows_evicted"))
                                           : g_strdup ("-");
      const gchar *iface = vnm_rec_str (rec, "iface");
      const gchar *cells[] = { *iface ? iface : "-", vnm_rec_str (rec, "vm_name"), program,
                               attached ? _("yes") : _("no"), flows, evicted,
                               vnm_rec_str (rec, "reason") };
      vnm_table_add_row (table, cells);
      g_variant_unref (rec);
    }
  g_autofree gchar *text = vnm_table_render (table);
  fputs (text, stdout);
}

int
vnm_cmd_status (const VnmCliOptions *opts, int argc, char **argv)
{
  g_autoptr(GOptionContext) octx = g_option_context_new (NULL);
  g_autoptr(VnmMonitor1) proxy = NULL;
  gboolean json = opts->json;
  const GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, N_("Print one JSON document"), NULL },
    { NULL }
  };
  GVariant *caps, *probes, *flow_table, *latency, *ipfix, *usage_store, *address_book;
  const gchar *version;
  int status = 0;

  g_option_context_set_summary (octx, _("Show the daemon's state."));
  g_option_context_add_main_entries (octx, entries, GETTEXT_PACKAGE);
  if (!vnm_cli_parse (octx, entries, &argc, &argv, &status))
    return status;
  if (argc > 1)
    {
      g_printerr (_("virtnetmon: status: unexpected argument '%s'.\n"), argv[1]);
      return VNM_EXIT_USAGE;
    }
  if (!(proxy = vnm_cli_connect (opts)))
    return VNM_EXIT_FAILURE;
  version = vnm_monitor1_get_version (proxy);
  caps = vnm_monitor1_get_kernel_capabilities (proxy);
  probes = vnm_monitor1_get_probes (proxy);
  flow_table = vnm_monitor1_get_flow_table (proxy);
  latency = vnm_monitor1_get_latency (proxy);
  ipfix = vnm_monitor1_get_ipfix (proxy);
  usage_store = vnm_monitor1_get_usage_store (proxy);
  address_book = vnm_monitor1_get_address_book (proxy);
  if (!version)
    {
      g_printerr (_("virtnetmon: status: the daemon did not send its properties.\n"));
      return VNM_EXIT_FAILURE;
    }
  if (json)
    {
      print_json (proxy, version, caps, flow_table, probes, latency, ipfix, usage_store,
                  address_book);
      return 0;
    }

  printf (_("Version:             %s\n"), version);
  printf (_("libvirt URI:         %s\n"), vnm_monitor1_get_libvirt_uri (proxy));
  printf (_("libvirt:             %s\n"), vnm_monitor1_get_libvirt_connected (proxy)
                                            ? _("connected") : _("disconnected"));
  printf (_("Interval:            %.1f s\n"), vnm_monitor1_get_interval (proxy));
  printf (_("Host interfaces:     %u\n"), vnm_monitor1_get_interface_count (proxy));
  if (caps)
    print_capabilities (caps);
  if (flow_table)
    print_flow_table (flow_table);
  if (latency)
    print_latency (latency);
  if (ipfix)
    print_ipfix (ipfix);
  if (usage_store)
    print_usage_store (usage_store);
  if (address_book)
    print_address_book (address_book);
  if (probes && g_variant_n_children (probes) > 0)
    print_probes (probes);
  return 0;
}
