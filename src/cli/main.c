/* main.c: virtnetmon, the command line client of virtnetmond (D-Bus only). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "client.h"
#include "vnm-i18n.h"

typedef struct {
  const gchar *name;
  int (*run) (const VnmCliOptions *opts, int argc, char **argv);
  const gchar *summary;
} Command;

static const Command commands[] = {
  { "list", vnm_cmd_list, N_("List running domains") },
  { "domiflist", vnm_cmd_domiflist, N_("List a domain's interfaces, like virsh domiflist") },
  { "domifaddr", vnm_cmd_domifaddr, N_("Show a domain's IP addresses and where they come from, like virsh domifaddr") },
  { "domifstat", vnm_cmd_domifstat, N_("Show a domain's interface counters and rates (guest's view)") },
  { "flows", vnm_cmd_flows, N_("Show who a domain talks to: flows, TCP RTT, retransmissions") },
  { "conns", vnm_cmd_conns, N_("Show a domain's TCP connections by state and its failed handshakes") },
  { "services", vnm_cmd_services, N_("Show the services (ports) a domain exposes, learned from its traffic") },
  { "latency", vnm_cmd_latency, N_("Datapath latency of a domain: switch tracing on, percentiles, slow packets") },
  { "drops", vnm_cmd_drops, N_("Show a domain's dropped packets by kernel drop reason") },
  { "history", vnm_cmd_history, N_("Show the rate history of a domain or interface (15 min per second, 48 h per minute)") },
  { "ifstat", vnm_cmd_ifstat, N_("Show every host interface with rates and its VM") },
  { "top", vnm_cmd_top, N_("A live full-screen view of every interface (sort, filter, flows)") },
  { "usage", vnm_cmd_usage, N_("Show traffic totals by month or day that survive reboots (UTC)") },
  { "set", vnm_cmd_set, N_("Show or change a domain's settings (monitoring, latency, flow table size, usage quota)") },
  { "status", vnm_cmd_status, N_("Show the daemon's state and kernel capabilities") },
};

static void
usage (FILE *out)
{
  fprintf (out, "%s", _("Usage: virtnetmon [--system|--session|--bus-address ADDR] COMMAND [OPTIONS] [--json]\n\n"));
  fprintf (out, "%s", _("Per-VM network observability for libvirt/KVM hosts; a client of virtnetmond.\n"
                        "For VM interfaces rx/tx are the guest's view (rx = into the VM), as virsh\n"
                        "domifstat prints them; for host-only interfaces the host's view.\n"
                        "DOMAIN is a name, id or uuid. Rates are per second.\n\n"));
  fprintf (out, "%s", _("Commands:\n"));
  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (out, "  %-10s  %s\n", commands[i].name, _(commands[i].summary));
  fprintf (out, "%s", _("\nGlobal options:\n"
                        "  --system             Use the system bus (default; honours DBUS_SYSTEM_BUS_ADDRESS)\n"
                        "  --session            Use the session bus\n"
                        "  --bus-address ADDR   Use the bus at this D-Bus address\n"
                        "  --json               Print one JSON document (any command)\n"
                        "  --version            Print the version\n"
                        "  -h, --help           Show this help; 'virtnetmon COMMAND --help' for a command\n"));
  fprintf (out, "%s", _("\nExit status: 0 success; 1 failure (the daemon is not running, unknown domain\n"
                        "or interface, permission denied); 2 usage error (unknown option, bad value,\n"
                        "missing or extra argument, options that do not go together).\n"));
}

/* The closest command name, for "did you mean". */
static const gchar *
closest_command (const gchar *typo)
{
  const gchar *best = NULL;
  guint best_d = G_MAXUINT;

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    {
      const gchar *a = typo, *b = commands[i].name;
      gsize la = strlen (a), lb = strlen (b);
      g_autofree guint *prev = g_new (guint, lb + 1);
      g_autofree guint *cur = g_new (guint, lb + 1);

      if (la > 64)
        return NULL;
      for (gsize j = 0; j <= lb; j++)
        prev[j] = j;
      for (gsize k = 1; k <= la; k++)
        {
          cur[0] = k;
          for (gsize j = 1; j <= lb; j++)
            cur[j] = MIN (MIN (prev[j] + 1, cur[j - 1] + 1),
                          prev[j - 1] + (a[k - 1] == b[j - 1] ? 0 : 1));
          memcpy (prev, cur, (lb + 1) * sizeof (guint));
        }
      if (prev[lb] < best_d)
        {
          best_d = prev[lb];
          best = b;
        }
    }
  return best_d <= 3 ? best : NULL;
}

/* A --bus-address value, or a usage error. */
static gboolean
check_bus_address (const gchar *option, const gchar *value)
{
  if (!value || !*value)
    {
      g_printerr (_("virtnetmon: %s needs a D-Bus address, such as unix:path=/run/dbus/system_bus_socket.\n"),
                  option);
      return FALSE;
    }
  if (!g_dbus_is_supported_address (value, NULL))
    {
      g_printerr (_("virtnetmon: %s takes a D-Bus address, such as unix:path=/run/dbus/system_bus_socket, not '%s'.\n"),
                  option, value);
      return FALSE;
    }
  return TRUE;
}

int
main (int argc, char **argv)
{
  VnmCliOptions opts = { 0 };
  const gchar *bus_option = NULL;  /* --system, --session or --bus-address, as typed */
  int i;

  vnm_i18n_init ();
  for (i = 1; i < argc && argv[i][0] == '-'; i++)
    {
      const gchar *bus = NULL;

      if (g_str_equal (argv[i], "--system"))
        bus = "--system";
      else if (g_str_equal (argv[i], "--session"))
        bus = "--session", opts.session = TRUE;
      else if (g_str_equal (argv[i], "--bus-address"))
        {
          bus = "--bus-address";
          opts.bus_address = i + 1 < argc ? argv[++i] : NULL;
          if (!check_bus_address (bus, opts.bus_address))
            return VNM_EXIT_USAGE;
        }
      else if (g_str_has_prefix (argv[i], "--bus-address="))
        {
          bus = "--bus-address";
          opts.bus_address = argv[i] + strlen ("--bus-address=");
          if (!check_bus_address (bus, opts.bus_address))
            return VNM_EXIT_USAGE;
        }
      else if (g_str_equal (argv[i], "--json"))
        opts.json = TRUE;
      else if (g_str_equal (argv[i], "--version"))
        {
          printf ("virtnetmon %s\n", PACKAGE_VERSION);
          return 0;
        }
      else if (g_str_equal (argv[i], "-h") || g_str_equal (argv[i], "--help"))
        {
          usage (stdout);
          return 0;
        }
      else
        {
          g_printerr (_("virtnetmon: unknown option '%s' (see 'virtnetmon --help'; a command's own options come after it).\n"),
                      argv[i]);
          return VNM_EXIT_USAGE;
        }
      if (bus && bus_option && !g_str_equal (bus, bus_option))
        {
          g_printerr (_("virtnetmon: %s does not go with %s: choose one bus.\n"), bus, bus_option);
          return VNM_EXIT_USAGE;
        }
      if (bus)
        bus_option = bus;
    }
  if (i >= argc)
    {
      usage (stderr);
      return VNM_EXIT_USAGE;
    }
  if (g_str_equal (argv[i], "help"))
    {
      /* "virtnetmon help COMMAND" is "virtnetmon COMMAND --help". */
      if (i + 1 < argc)
        for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
          if (g_str_equal (argv[i + 1], commands[c].name))
            {
              g_autofree gchar *prgname = g_strdup_printf ("virtnetmon %s", commands[c].name);
              char *help_argv[] = { argv[i + 1], (char *) "--help", NULL };
              g_set_prgname (prgname);
              return commands[c].run (&opts, 2, help_argv);
            }
      if (i + 1 < argc)
        {
          g_printerr (_("virtnetmon: help: unknown command '%s'; run 'virtnetmon --help' for the list.\n"),
                      argv[i + 1]);
          return VNM_EXIT_USAGE;
        }
      usage (stdout);
      return 0;
    }
  for (guint c = 0; c < G_N_ELEMENTS (commands); c++)
    if (g_str_equal (argv[i], commands[c].name))
      {
        g_autofree gchar *prgname = g_strdup_printf ("virtnetmon %s", commands[c].name);
        g_set_prgname (prgname);
        return commands[c].run (&opts, argc - i, argv + i);
      }
  {
    const gchar *hint = closest_command (argv[i]);
    if (hint)
      g_printerr (_("virtnetmon: unknown command '%s'; did you mean '%s'?\n"), argv[i], hint);
    else
      g_printerr (_("virtnetmon: unknown command '%s'; run 'virtnetmon --help' for the list.\n"),
                  argv[i]);
  }
  return VNM_EXIT_USAGE;
}
